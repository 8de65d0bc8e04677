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
// Values the wire carries: null (undefined is sent as nil too: no extension types ever),
// booleans, numbers (every integral one as a msgpack integer, see msgpack-ints.ts; others
// float64), bigint (int64, or uint64 above 2^63), strings, Uint8Array (decoded as a view of the
// frame), arrays and plain objects. Decoding, an integer within +-2^53 is a number and any larger
// one a bigint, so nothing is ever rounded (ids and versions are asserted below 2^53 where they
// are made; nanosecond times are usually above it and come back as bigint). A Date, Map, Set or
// class instance is not wire data: the decoder refuses every msgpack extension.
import { Packr, RESERVE_START_SPACE } from "msgpackr";
import { LIMITS } from "../types/limits.ts";
import { FRAME_HEADER_BYTES, FrameError, writeFrameHeader } from "./frame.ts";
import { checkPayload } from "./msgpack-guard.ts";
import { floatsToIntegers } from "./msgpack-ints.ts";

const WIRE_OPTIONS = {
  useRecords: false,
  mapsAsObjects: true,
  // Smallest map headers (standard msgpack), and no 65,535-key limit; measured no slower.
  variableMapSize: true,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  // A reply with no value carries nil, never msgpackr's fixext undefined.
  encodeUndefinedAsNil: true,
} as const;

// The typings lack "auto" (int64AsType is read by the shared unpack code, which knows it).
const packr = new Packr({ ...WIRE_OPTIONS, int64AsType: "auto" as "bigint" });

// The same decoder with every 64-bit integer as a bigint: for payloads whose 64-bit integers are
// all beyond +-2^53 (nanosecond times, mostly), where "auto" would give a bigint anyway but first
// builds three more per value for its range test (bench/wire.bench.ts, "decode" beside "decode,
// int64 'auto' always": 1.3x on the 256-create reply, 1.7x on a 1,000-entry readdir-plus page).
const unpackrBigint = new Packr({ ...WIRE_OPTIONS, int64AsType: "bigint" });

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function pack(value: unknown, reserveBytes: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = reserveBytes === 0 ? packr.pack(value) : packr.pack(value, RESERVE_START_SPACE | reserveBytes);
  } catch (err) {
    throw new FrameError("EINVAL", `value cannot be encoded as msgpack: ${reason(err)}`);
  }
  floatsToIntegers(bytes, reserveBytes);
  return bytes;
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
  const small64 = checkPayload(bytes);
  try {
    return (small64 ? packr : unpackrBigint).unpack(bytes);
  } catch (err) {
    throw new FrameError("EPROTO", `bad msgpack payload: ${reason(err)}`);
  }
}
