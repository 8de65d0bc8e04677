import { FsError } from "../types/index.ts";

// Turns what a caller publishes into blocks of exactly `blockSizeBytes` (the last one shorter),
// pulling the source only as fast as blocks are taken, so a stream of any size is never held
// whole in memory.

/** What publish, writeFile and inode.publish accept. Strings are UTF-8. */
export type BodySource =
  | Uint8Array
  | string
  | Blob
  | AsyncIterable<Uint8Array | string>
  | ReadableStream<Uint8Array>;

/** The source's size when it is known before reading it. */
export function sourceSizeBytes(source: BodySource): number | undefined {
  if (typeof source === "string") return Buffer.byteLength(source);
  if (source instanceof Uint8Array) return source.byteLength;
  if (source instanceof Blob) return source.size;
  return undefined;
}

export async function* splitBlocks(source: BodySource, blockSizeBytes: number): AsyncGenerator<Uint8Array> {
  if (typeof source === "string") source = Buffer.from(source, "utf8");
  if (source instanceof Uint8Array) {
    // The caller's buffer is sliced, not copied: publish reads it only until it resolves.
    for (let at = 0; at < source.byteLength; at += blockSizeBytes) yield source.subarray(at, at + blockSizeBytes);
    return;
  }
  yield* gather(pieces(source), blockSizeBytes);
}

/**
 * Copies pieces into fresh blocks. Even a piece as large as a block is copied: an iterable may
 * reuse its buffer once it is asked for the next piece, while the block is still uploading.
 */
async function* gather(source: AsyncIterable<Uint8Array | string>, blockSizeBytes: number): AsyncGenerator<Uint8Array> {
  let block = new Uint8Array(blockSizeBytes);
  let filled = 0;
  for await (const piece of source) {
    const bytes = typeof piece === "string" ? Buffer.from(piece, "utf8") : piece;
    if (!(bytes instanceof Uint8Array)) throw new FsError("EINVAL", `publish source yielded ${typeof bytes}, not bytes or a string`);
    for (let at = 0; at < bytes.byteLength; ) {
      const n = Math.min(blockSizeBytes - filled, bytes.byteLength - at);
      block.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === blockSizeBytes) {
        yield block;
        block = new Uint8Array(blockSizeBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}

function pieces(source: Blob | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>): AsyncIterable<Uint8Array | string> {
  if (source instanceof Blob) return readerPieces(source.stream());
  if (isReadableStream(source)) return readerPieces(source);
  if (source && typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") return source;
  throw new FsError("EINVAL", "publish source must be bytes, a string, a Blob, an async iterable or a ReadableStream");
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof (value as ReadableStream | null)?.getReader === "function";
}

/** Web streams through their reader: not every runtime makes ReadableStream async-iterable. */
async function* readerPieces(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Stopped early (an upload failed): cancel, so the producer stops and frees what it holds.
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
