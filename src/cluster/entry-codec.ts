// A log entry's etcd value: msgpack [format, epoch, first, last, commands] or, for one command
// too big for an etcd request, [format, epoch, first, first, [], fragmentCount, sizeBytes] with the
// command's bytes in fragment keys written (fenced) just before the entry. Each command is opaque
// bytes (the core's msgpack MetadataCommand) and takes one position, so an entry covering
// first..last carries last - first + 1 commands. The epoch says which leader wrote it.
// Format 2 is format 1 with the commands array packed and deflated into one blob: a group's
// commands repeat field names and similar values, and every byte in etcd is base64-encoded,
// raft-replicated, written three times and streamed to each watcher, so a few milliseconds of
// deflate on the leader save more than they cost. Small entries stay format 1.
import { pack, unpack } from "msgpackr";
import { FsError } from "../types/index.ts";
import { LIMITS } from "../types/limits.ts";

const ENTRY_FORMAT = 1;
const ENTRY_FORMAT_DEFLATED = 2;
/** Entries whose commands are smaller than this are not worth deflating. */
const DEFLATE_MIN_BYTES = 2048;

export interface LogEntry {
  first: number;
  last: number;
  epoch: number;
  commands: Uint8Array[];
}

/** Where a fragmented entry's one command lives: `count` fragments joining to `sizeBytes`. */
export interface Fragments {
  count: number;
  sizeBytes: number;
}

/** An entry as read from etcd: a fragmented one has no commands until its fragments are read. */
export interface StoredEntry extends LogEntry {
  fragments: Fragments | null;
}

export function encodeEntry(entry: LogEntry, fragments: Fragments | null = null): Uint8Array {
  if (fragments) {
    if (entry.first !== entry.last) throw new Error(`entry codec: fragmented entry covers ${entry.first}..${entry.last}`);
    return pack([ENTRY_FORMAT, entry.epoch, entry.first, entry.last, [], fragments.count, fragments.sizeBytes]);
  }
  if (entry.commands.length !== entry.last - entry.first + 1 || entry.commands.length === 0) {
    throw new Error(`entry codec: ${entry.commands.length} commands for positions ${entry.first}..${entry.last}`);
  }
  const plainBytes = entry.commands.reduce((n, c) => n + c.byteLength, 0);
  if (plainBytes >= DEFLATE_MIN_BYTES) {
    const deflated = Bun.deflateSync(new Uint8Array(pack(entry.commands)), { level: 1 });
    if (deflated.byteLength < plainBytes * 0.8) return pack([ENTRY_FORMAT_DEFLATED, entry.epoch, entry.first, entry.last, deflated]);
  }
  return pack([ENTRY_FORMAT, entry.epoch, entry.first, entry.last, entry.commands]);
}

/** Checks what it reads: a malformed value in the log is a broken invariant, never skipped. */
export function decodeEntry(bytes: Uint8Array, where: string): StoredEntry {
  const value = unpack(bytes) as unknown;
  if (Array.isArray(value) && value.length === 5 && value[0] === ENTRY_FORMAT_DEFLATED && value[4] instanceof Uint8Array) {
    try {
      value[4] = unpack(Bun.inflateSync(new Uint8Array(value[4]))) as unknown;
    } catch (err) {
      throw new FsError("EIO", `${where}: deflated log entry does not inflate: ${(err as Error).message}`);
    }
    value[0] = ENTRY_FORMAT;
  }
  if (!Array.isArray(value) || (value.length !== 5 && value.length !== 7) || value[0] !== ENTRY_FORMAT) {
    throw new FsError("EIO", `${where}: not a log entry of format ${ENTRY_FORMAT} or ${ENTRY_FORMAT_DEFLATED}`);
  }
  const [, epoch, first, last, commands, count, sizeBytes] = value as [number, number, number, number, unknown, unknown, unknown];
  const fragmented = value.length === 7;
  const ok =
    Number.isSafeInteger(epoch) && Number.isSafeInteger(first) && Number.isSafeInteger(last) && first >= 1 && last >= first &&
    Array.isArray(commands) && commands.every((c) => c instanceof Uint8Array) &&
    (fragmented
      ? first === last && commands.length === 0 && Number.isSafeInteger(count) && (count as number) >= 1 && Number.isSafeInteger(sizeBytes)
      : commands.length === last - first + 1);
  if (!ok) throw new FsError("EIO", `${where}: log entry fields do not agree (positions ${String(first)}..${String(last)})`);
  const fragments = fragmented ? { count: count as number, sizeBytes: sizeBytes as number } : null;
  return { epoch, first, last, commands: commands as Uint8Array[], fragments };
}

/** True when a command cannot ride inside an entry and goes to fragment keys instead. */
export function needsFragments(command: Uint8Array, maxBytes: number = LIMITS.shardEntryMaxBytes): boolean {
  return ENTRY_OVERHEAD_BYTES + command.byteLength + COMMAND_OVERHEAD_BYTES > maxBytes;
}

/** msgpack framing per command (bin32 header) and per entry (array headers, numbers). */
const COMMAND_OVERHEAD_BYTES = 5;
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * Splits a group of commands into runs that each fit one entry (bytes and count), in order. A
 * command too big for any entry gets a run of its own (stored in fragments); one above
 * shardCommandMaxBytes is EFBIG naming its size and the limit.
 */
export function splitIntoEntries(commands: readonly Uint8Array[], maxBytes = LIMITS.shardEntryMaxBytes, maxCommands = LIMITS.shardEntryMaxCommands): Uint8Array[][] {
  const runs: Uint8Array[][] = [];
  let run: Uint8Array[] = [];
  let runBytes = ENTRY_OVERHEAD_BYTES;
  const flush = () => {
    if (run.length > 0) runs.push(run);
    run = [];
    runBytes = ENTRY_OVERHEAD_BYTES;
  };
  for (const [index, command] of commands.entries()) {
    if (command.byteLength > LIMITS.shardCommandMaxBytes) {
      throw new FsError("EFBIG", `command ${index} of the group is ${command.byteLength} bytes; a replicated command holds at most ${LIMITS.shardCommandMaxBytes}`);
    }
    if (needsFragments(command, maxBytes)) {
      flush();
      runs.push([command]);
      continue;
    }
    const size = command.byteLength + COMMAND_OVERHEAD_BYTES;
    if (run.length > 0 && (runBytes + size > maxBytes || run.length >= maxCommands)) flush();
    run.push(command);
    runBytes += size;
  }
  flush();
  return runs;
}
