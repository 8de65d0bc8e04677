// A log entry's etcd value: msgpack [format, epoch, first, last, commands]. Each command is opaque
// bytes (the core's msgpack MetadataCommand) and takes one position, so an entry covering
// first..last carries last - first + 1 commands. The epoch says which leader wrote it.
import { pack, unpack } from "msgpackr";
import { FsError } from "../types/index.ts";
import { LIMITS } from "../types/limits.ts";

const ENTRY_FORMAT = 1;

export interface LogEntry {
  first: number;
  last: number;
  epoch: number;
  commands: Uint8Array[];
}

export function encodeEntry(entry: LogEntry): Uint8Array {
  if (entry.commands.length !== entry.last - entry.first + 1 || entry.commands.length === 0) {
    throw new Error(`entry codec: ${entry.commands.length} commands for positions ${entry.first}..${entry.last}`);
  }
  return pack([ENTRY_FORMAT, entry.epoch, entry.first, entry.last, entry.commands]);
}

/** Checks what it reads: a malformed value in the log is a broken invariant, never skipped. */
export function decodeEntry(bytes: Uint8Array, where: string): LogEntry {
  const value = unpack(bytes) as unknown;
  if (!Array.isArray(value) || value.length !== 5 || value[0] !== ENTRY_FORMAT) {
    throw new FsError("EIO", `${where}: not a log entry of format ${ENTRY_FORMAT}`);
  }
  const [, epoch, first, last, commands] = value as [number, number, number, number, unknown];
  const ok =
    Number.isSafeInteger(epoch) && Number.isSafeInteger(first) && Number.isSafeInteger(last) && first >= 1 && last >= first &&
    Array.isArray(commands) && commands.length === last - first + 1 && commands.every((c) => c instanceof Uint8Array);
  if (!ok) throw new FsError("EIO", `${where}: log entry fields do not agree (positions ${String(first)}..${String(last)})`);
  return { epoch, first, last, commands: commands as Uint8Array[] };
}

/** msgpack framing per command (bin32 header) and per entry (array headers, numbers). */
const COMMAND_OVERHEAD_BYTES = 5;
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * Splits a group of commands into runs that each fit one entry (bytes and count), in order. A
 * single command that cannot fit any entry is EFBIG naming its size and the limit.
 */
export function splitIntoEntries(commands: readonly Uint8Array[], maxBytes = LIMITS.shardEntryMaxBytes, maxCommands = LIMITS.shardEntryMaxCommands): Uint8Array[][] {
  const runs: Uint8Array[][] = [];
  let run: Uint8Array[] = [];
  let runBytes = ENTRY_OVERHEAD_BYTES;
  for (const [index, command] of commands.entries()) {
    const size = command.byteLength + COMMAND_OVERHEAD_BYTES;
    if (ENTRY_OVERHEAD_BYTES + size > maxBytes) {
      throw new FsError("EFBIG", `command ${index} of the group is ${command.byteLength} bytes; a log entry holds at most ${maxBytes - ENTRY_OVERHEAD_BYTES - COMMAND_OVERHEAD_BYTES}`);
    }
    if (run.length > 0 && (runBytes + size > maxBytes || run.length >= maxCommands)) {
      runs.push(run);
      run = [];
      runBytes = ENTRY_OVERHEAD_BYTES;
    }
    run.push(command);
    runBytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
