// Framing of the metad RPC stream: an 8-byte magic once per connection, then frames of a 16-byte
// header `request_id u64 BE | flags u32 BE | payload_len u32 BE` and the payload (msgpack).
import { FsError, type ErrnoCode } from "../types/errno.ts";
import { LIMITS } from "../types/limits.ts";

/** The first 8 bytes a client sends; anything else on the port is served as HTTP. */
export const CONNECTION_MAGIC: Uint8Array = new TextEncoder().encode("NKVRPC1\n");
export const FRAME_HEADER_BYTES = 16;

/** Sniffs a connection's first bytes: "short" until 8 have arrived or a mismatch shows early. */
export function matchConnectionMagic(firstBytes: Uint8Array): "rpc" | "other" | "short" {
  const count = Math.min(firstBytes.length, CONNECTION_MAGIC.length);
  for (let i = 0; i < count; i++) {
    if (firstBytes[i] !== CONNECTION_MAGIC[i]) return "other";
  }
  return count === CONNECTION_MAGIC.length ? "rpc" : "short";
}

/**
 * Frame flags. A request has none. A reply to request id N carries RESPONSE (plus ERROR when its
 * payload is `{ok: false}`, so a proxy or counter can see failures without decoding). A frame
 * with request id 0 and RESPONSE | ERROR is a connection-level error (a frame that could not be
 * read); the sender closes the connection after it, so clients number requests from 1.
 * PUSH frames are server-initiated (watch events): their request id is the subscription id the
 * subscribe reply returned, never a request id; a client routes them by flag before by id.
 * Other bits are reserved: a new meaning needs a new magic, so a frame carrying one is refused.
 */
export const FLAG_RESPONSE = 0x1;
export const FLAG_ERROR = 0x2;
export const FLAG_PUSH = 0x4;
export const FLAGS_KNOWN = FLAG_RESPONSE | FLAG_ERROR | FLAG_PUSH;

/**
 * A frame the wire cannot carry. From FrameDecoder the code is always EPROTO and the stream is
 * lost (no resync is possible): reply on request id 0 if you can, then close. From
 * decodePayload it is EPROTO for that one frame only: the stream is still in step, so reply on
 * its request id and keep serving. From encoding it is EFBIG (payload above frameMaxBytes, the
 * frame was not sent: split the batch) or EINVAL (a value msgpack cannot carry).
 * It is an FsError, so toFsError and errorToWire keep its code.
 */
export class FrameError extends FsError {
  constructor(code: ErrnoCode, detail: string) {
    super(code, detail);
    this.name = "FrameError";
  }
}

export interface Frame {
  requestId: number;
  flags: number;
  payload: Uint8Array;
}

const TWO_POW_32 = 2 ** 32;

function assertHeaderFields(requestId: number, flags: number): void {
  // The caller allocated these; a bad one is a bug in this process, not bad input. Ids travel as
  // u64 but stay exact JavaScript numbers.
  if (!Number.isSafeInteger(requestId) || requestId < 0) {
    throw new RangeError(`frame: request id ${requestId} is not an integer in [0, 2^53)`);
  }
  if ((flags & ~FLAGS_KNOWN) !== 0 || !Number.isInteger(flags) || flags < 0) {
    throw new RangeError(`frame: flags ${flags} carry unknown bits`);
  }
}

/** Writes a header at `offset` of `target`; lets the codec frame a payload it packed in place. */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  header: { requestId: number; flags: number; payloadBytes: number },
): void {
  const { requestId, flags, payloadBytes } = header;
  assertHeaderFields(requestId, flags);
  if (payloadBytes > LIMITS.frameMaxBytes) {
    throw new FrameError("EFBIG", `frame payload is ${payloadBytes} bytes, limit ${LIMITS.frameMaxBytes}`);
  }
  // Byte stores, not a DataView: `target.buffer` makes JSC give a small typed array its own
  // ArrayBuffer object, which measured ~8% of a lookup's CPU in metad.
  putU32(target, offset, Math.floor(requestId / TWO_POW_32));
  putU32(target, offset + 4, requestId >>> 0);
  putU32(target, offset + 8, flags);
  putU32(target, offset + 12, payloadBytes);
}

function putU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}

export function encodeFrame(requestId: number, flags: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, 0, { requestId, flags, payloadBytes: payload.length });
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

function u32At(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0
  );
}

export interface FrameDecoderOptions {
  /** Tests lower these to cross them cheaply; production uses LIMITS. */
  frameMaxBytes?: number;
  bufferMaxBytes?: number;
}

interface PendingHeader {
  requestId: number;
  flags: number;
  payloadBytes: number;
}

/**
 * Cuts a byte stream into frames. push() keeps the chunk by reference (no copy): a transport
 * that reuses its read buffer must push a copy. A payload inside one chunk is a view of it; one
 * split across chunks is copied once, so every byte is copied at most once whatever the chunking.
 * The next header is checked as soon as its 16 bytes are buffered, before any of its payload is.
 * After a FrameError the decoder stays failed: the stream has no way to find the next frame.
 */
export class FrameDecoder implements Iterable<Frame> {
  private readonly frameMaxBytes: number;
  private readonly bufferMaxBytes: number;
  private chunks: Uint8Array[] = [];
  private headIndex = 0;
  private headOffset = 0;
  private buffered = 0;
  private header: PendingHeader | null = null;
  private failure: FrameError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.frameMaxBytes = options.frameMaxBytes ?? LIMITS.frameMaxBytes;
    this.bufferMaxBytes = options.bufferMaxBytes ?? LIMITS.frameBufferMaxBytes;
  }

  /** Unconsumed bytes held (a parsed header no longer counts; its payload's arrived bytes do). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    if (this.buffered + chunk.length > this.bufferMaxBytes) {
      this.fail(`${this.buffered + chunk.length} bytes buffered, limit ${this.bufferMaxBytes}`);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.header === null) this.readHeader();
  }

  /** The next complete frame, or undefined until more bytes arrive. */
  next(): Frame | undefined {
    if (this.failure) throw this.failure;
    const header = this.header ?? this.readHeader();
    if (header === null || this.buffered < header.payloadBytes) return undefined;
    this.header = null;
    const payload = this.take(header.payloadBytes);
    return { requestId: header.requestId, flags: header.flags, payload };
  }

  *[Symbol.iterator](): Iterator<Frame> {
    for (let frame = this.next(); frame !== undefined; frame = this.next()) yield frame;
  }

  private readHeader(): PendingHeader | null {
    if (this.buffered < FRAME_HEADER_BYTES) return null;
    const bytes = this.take(FRAME_HEADER_BYTES);
    const idHigh = u32At(bytes, 0);
    const flags = u32At(bytes, 8);
    const payloadBytes = u32At(bytes, 12);
    if (idHigh >= 2 ** 21) this.fail(`request id above 2^53 (high word ${idHigh})`);
    if ((flags & ~FLAGS_KNOWN) !== 0) this.fail(`unknown frame flags 0x${flags.toString(16)}`);
    if (payloadBytes > this.frameMaxBytes) {
      this.fail(`frame payload of ${payloadBytes} bytes announced, limit ${this.frameMaxBytes}`);
    }
    this.header = { requestId: idHigh * TWO_POW_32 + u32At(bytes, 4), flags, payloadBytes };
    return this.header;
  }

  /** Removes `count` buffered bytes from the front; the caller has checked they are there. */
  private take(count: number): Uint8Array {
    this.buffered -= count;
    const head = this.chunks[this.headIndex];
    if (head !== undefined && head.length - this.headOffset >= count) {
      const out = head.subarray(this.headOffset, this.headOffset + count);
      this.advance(count);
      return out;
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[this.headIndex]!;
      const piece = Math.min(chunk.length - this.headOffset, count - filled);
      out.set(chunk.subarray(this.headOffset, this.headOffset + piece), filled);
      filled += piece;
      this.advance(piece);
    }
    return out;
  }

  private advance(count: number): void {
    this.headOffset += count;
    if (this.headOffset < this.chunks[this.headIndex]!.length) return;
    this.headOffset = 0;
    this.headIndex++;
    if (this.headIndex === this.chunks.length) {
      this.chunks = [];
      this.headIndex = 0;
    } else if (this.headIndex >= 64) {
      // Drop consumed chunk references in bulk rather than shift() per chunk.
      this.chunks = this.chunks.slice(this.headIndex);
      this.headIndex = 0;
    }
  }

  private fail(detail: string): never {
    this.failure = new FrameError("EPROTO", detail);
    this.chunks = [];
    this.headIndex = 0;
    this.headOffset = 0;
    this.buffered = 0;
    this.header = null;
    throw this.failure;
  }
}
