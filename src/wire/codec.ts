// The one msgpack configuration of the wire, shared by every connection in this process.
//
// Plain msgpack, no records, and no shared structures: nothing outlives one message, so there
// is no per-connection state to agree on or lose on reconnect, and any msgpack library can speak
// the protocol. Inline records (self-describing, per message) were measured (Bun 1.4.5): a
// getattr request encode+decode goes from 0.3 to 1.0 us, they break even near 16 uniform array
// entries and halve decode time and bytes from 64 entries up, but above 64 distinct shapes msgpackr
// redefines a record per object and each definition compiles a reader with new Function (~3 us):
// a peer-controlled cost. Should large uniform replies (readdir pages) need that win, a columnar
// DTO gets it with no decoder state.
//
// Values the wire carries: null, undefined, booleans, numbers (integers above 2^32 travel as
// float64, exact below 2^53), bigint (always int64 on the wire, decoded back to bigint, so
// nanosecond times round-trip; msgpackr 2.x needs no useBigInt64 flag for this), strings,
// Uint8Array (decoded as a view of the frame), arrays and plain objects. A Date, Map, Set or class
// instance is not wire data: the decoder refuses the extensions msgpackr would encode them with.
import { Packr, RESERVE_START_SPACE } from "msgpackr";
import { LIMITS } from "../types/limits.ts";
import { FRAME_HEADER_BYTES, FrameError, writeFrameHeader } from "./frame.ts";
import { checkPayload } from "./msgpack-guard.ts";

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  // Smallest map headers (standard msgpack), and no 65,535-key limit; measured no slower.
  variableMapSize: true,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
});

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function pack(value: unknown, reserveBytes: number): Uint8Array {
  try {
    return reserveBytes === 0 ? packr.pack(value) : packr.pack(value, RESERVE_START_SPACE | reserveBytes);
  } catch (err) {
    throw new FrameError("EINVAL", `value cannot be encoded as msgpack: ${reason(err)}`);
  }
}

function assertPayloadSize(payloadBytes: number): void {
  if (payloadBytes > LIMITS.frameMaxBytes) {
    throw new FrameError("EFBIG", `payload is ${payloadBytes} bytes, limit ${LIMITS.frameMaxBytes}`);
  }
}

/**
 * Encodes one value. The result may share an ArrayBuffer with earlier results (msgpackr packs
 * into a reused arena) but its own bytes are never rewritten.
 */
export function encodePayload(value: unknown): Uint8Array {
  const bytes = pack(value, 0);
  assertPayloadSize(bytes.length);
  return bytes;
}

/** encodeFrame(requestId, flags, encodePayload(value)) without copying the payload. */
export function encodeValueFrame(requestId: number, flags: number, value: unknown): Uint8Array {
  const frame = pack(value, FRAME_HEADER_BYTES);
  const payloadBytes = frame.length - FRAME_HEADER_BYTES;
  assertPayloadSize(payloadBytes);
  writeFrameHeader(frame, 0, { requestId, flags, payloadBytes });
  return frame;
}

/**
 * Decodes exactly one value. Anything else (bad or truncated msgpack, trailing bytes, nesting
 * beyond payloadMaxDepth, more than payloadMaxItems, extensions) is FrameError EPROTO.
 */
export function decodePayload(bytes: Uint8Array): unknown {
  checkPayload(bytes);
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new FrameError("EPROTO", `bad msgpack payload: ${reason(err)}`);
  }
}
