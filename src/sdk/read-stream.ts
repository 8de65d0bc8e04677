import { Readable } from "node:stream";
import { FsError, LIMITS, type InodeAttrs } from "../types/index.ts";
import { isStale, type BodyRead, type BodyReader } from "./body-reader.ts";
import { ReadPlans } from "./read-plans.ts";

// createReadStream: a node:stream Readable (Bun and Node alike) that reads a file window by window,
// one window ahead of its consumer. Every window is read against the generation the stream
// started on. Until the first byte is handed out, a moved body just restarts the stream on the
// new generation; after that the stream fails with ESTALE rather than splice two generations.

export interface ReadStreamOptions {
  /** First byte, default 0. */
  start?: number;
  /** Last byte, inclusive (as node's fs), default the end of the file. */
  end?: number;
  /** Bytes per chunk handed to the consumer, default 64 KiB (node's default). */
  highWaterMark?: number;
}

const DEFAULT_HIGH_WATER_MARK_BYTES = 64 * 1024;

/** `stat` names the file (a path resolved now, at the start); `describe` shapes errors like node's fs. */
export function bodyReadStream(stat: () => Promise<InodeAttrs>, reader: BodyReader, options: ReadStreamOptions, describe: (err: unknown) => Error): Readable {
  const start = options.start ?? 0;
  const end = options.end ?? Number.MAX_SAFE_INTEGER - 1;
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK_BYTES;
  for (const [name, value] of [["start", start], ["end", end], ["highWaterMark", highWaterMark]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new FsError("EINVAL", `createReadStream: ${name} must be a non-negative integer, got ${value}`);
  }
  if (highWaterMark === 0) throw new FsError("EINVAL", "createReadStream: highWaterMark must be positive");
  return Readable.from(described(windows(stat, reader, start, end + 1, highWaterMark), describe), { objectMode: false, highWaterMark });
}

async function* described<T>(source: AsyncGenerator<T>, describe: (err: unknown) => Error): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    throw describe(err);
  }
}

async function* windows(stat: () => Promise<InodeAttrs>, reader: BodyReader, start: number, stopBytes: number, sliceBytes: number): AsyncGenerator<Buffer> {
  let handedOut = false;
  for (let attempt = 1; ; attempt++) {
    const attrs = await stat();
    if (attrs.type !== "file") throw new FsError(attrs.type === "dir" ? "EISDIR" : "EINVAL", "not a regular file");
    const stop = Math.min(stopBytes, attrs.sizeBytes);
    // One plan from metad per stretch of the file, not one per window.
    const plans = new ReadPlans(LIMITS.readStreamPlanAheadBytes);
    const windowAt = (at: number): Promise<BodyRead> => {
      const read = reader.read(attrs.inode, at, Math.min(LIMITS.readStreamWindowBytes, stop - at), { generation: attrs.generation, pinned: true, plans });
      // A consumer that stops early leaves the read-ahead unawaited; its failure is nobody's.
      read.catch(() => undefined);
      return read;
    };
    try {
      let next = start < stop ? windowAt(start) : null;
      for (let at = start; next; ) {
        const { bytes } = await next;
        if (bytes.byteLength === 0) return;
        at += bytes.byteLength;
        next = at < stop ? windowAt(at) : null;
        for (let i = 0; i < bytes.byteLength; i += sliceBytes) {
          handedOut = true;
          yield Buffer.from(bytes.buffer, bytes.byteOffset + i, Math.min(sliceBytes, bytes.byteLength - i));
        }
      }
      return;
    } catch (err) {
      if (!isStale(err) || handedOut || attempt >= LIMITS.readReplanMaxAttempts) throw err;
    }
  }
}
