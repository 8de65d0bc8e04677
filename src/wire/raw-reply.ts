import { LIMITS } from "../types/limits.ts";
import { decodePayload, encodePayload } from "./codec.ts";
import { FRAME_HEADER_BYTES, FrameError, writeFrameHeader } from "./frame.ts";
import { writeResultToWire } from "./results.ts";

// A reply whose value was encoded once already (metad stores each write's result for exactly-once
// retries): the envelope {ok: true, value} is written around those bytes instead of encoding again.

/** Value bytes that go on the wire as they are. Only a top-level reply may carry one. */
export class RawValue {
  constructor(readonly bytes: Uint8Array) {}
}

/** msgpack of a 2-entry map with "ok": true, then the "value" key; the value's bytes follow. */
const OK_VALUE_PREFIX = new Uint8Array([0x82, 0xa2, 0x6f, 0x6b, 0xc3, 0xa5, 0x76, 0x61, 0x6c, 0x75, 0x65]);

export function encodeRawOkFrame(requestId: number, flags: number, value: RawValue): Uint8Array {
  const payloadBytes = OK_VALUE_PREFIX.length + value.bytes.length;
  if (payloadBytes > LIMITS.frameMaxBytes) throw new FrameError("EFBIG", `payload is ${payloadBytes} bytes, limit ${LIMITS.frameMaxBytes}`);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payloadBytes);
  writeFrameHeader(frame, 0, { requestId, flags, payloadBytes });
  frame.set(OK_VALUE_PREFIX, FRAME_HEADER_BYTES);
  frame.set(value.bytes, FRAME_HEADER_BYTES + OK_VALUE_PREFIX.length);
  return frame;
}

/** How metad encodes a write's result once, for its dedupe record and for the wire alike. */
export const wireResultCodec = {
  encode: (value: unknown): Uint8Array => encodePayload(writeResultToWire(value)),
  decode: (bytes: Uint8Array): unknown => decodePayload(bytes),
};
