import { LIMITS } from "../types/limits.ts";
import { decodePayload, encodePayload } from "./codec.ts";
import { FRAME_HEADER_BYTES, FrameError, writeFrameHeader } from "./frame.ts";
import { writeResultToWire } from "./results.ts";
import { tokenBytes, u16, u32 } from "./msgpack-ints.ts";

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

/** Children that follow a container token (a map's keys and values both count). */
function childCount(bytes: Uint8Array, at: number, token: number): number {
  if (token >= 0x80 && token <= 0x8f) return 2 * (token & 0x0f);
  if (token >= 0x90 && token <= 0x9f) return token & 0x0f;
  switch (token) {
    case 0xdc: return u16(bytes, at + 1);
    case 0xdd: return u32(bytes, at + 1);
    case 0xde: return 2 * u16(bytes, at + 1);
    case 0xdf: return 2 * u32(bytes, at + 1);
    default: return 0;
  }
}

/** Where the value starting at `at` ends; -1 when it runs past the bytes. */
function valueEnd(bytes: Uint8Array, at: number): number {
  let pending = 1;
  while (pending > 0) {
    if (at >= bytes.length) return -1;
    const token = bytes[at]!;
    pending += childCount(bytes, at, token) - 1;
    at += tokenBytes(bytes, at, token);
  }
  return at;
}

/**
 * The items of an encoded msgpack array, each as a view of its bytes; null when `bytes` is not
 * one array. Lets one encoded list (a create's results) answer each item on its own.
 */
export function arrayItems(bytes: Uint8Array): Uint8Array[] | null {
  const token = bytes[0];
  if (token === undefined || !((token >= 0x90 && token <= 0x9f) || token === 0xdc || token === 0xdd)) return null;
  const count = childCount(bytes, 0, token);
  const items: Uint8Array[] = new Array(count);
  let at = tokenBytes(bytes, 0, token);
  for (let i = 0; i < count; i++) {
    const end = valueEnd(bytes, at);
    if (end < 0 || end > bytes.length) return null;
    items[i] = bytes.subarray(at, end);
    at = end;
  }
  return at === bytes.length ? items : null;
}

/** msgpack of an array whose every element is {ok: true, value} with that value's bytes given. */
export function encodeOkArray(values: readonly Uint8Array[]): Uint8Array {
  const count = values.length;
  const header = count < 16 ? 1 : count < 0x10000 ? 3 : 5;
  let size = header;
  for (const v of values) size += OK_VALUE_PREFIX.length + v.length;
  const out = new Uint8Array(size);
  if (header === 1) out[0] = 0x90 | count;
  else if (header === 3) out.set([0xdc, count >>> 8, count & 0xff]);
  else out.set([0xdd, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff]);
  let at = header;
  for (const v of values) {
    out.set(OK_VALUE_PREFIX, at);
    out.set(v, at + OK_VALUE_PREFIX.length);
    at += OK_VALUE_PREFIX.length + v.length;
  }
  return out;
}

/** Keys of encodeRawMap: fixstr, so ASCII and under 32 bytes. */
const FIXSTR_MAX_BYTES = 31;

/**
 * msgpack of a map (under 16 entries, short ASCII keys) whose values are given already encoded:
 * create_prepared's `{attrs, prepared}` answered with the attributes' bytes as they were encoded
 * for the dedupe record, not encoded again.
 */
export function encodeRawMap(fields: ReadonlyArray<readonly [string, Uint8Array]>): Uint8Array {
  if (fields.length > 15) throw new Error(`encodeRawMap: ${fields.length} fields, at most 15`);
  let size = 1;
  for (const [key, value] of fields) {
    if (key.length > FIXSTR_MAX_BYTES || !/^[\x20-\x7e]*$/.test(key)) throw new Error(`encodeRawMap: key '${key}' is not short ASCII`);
    size += 1 + key.length + value.length;
  }
  const out = new Uint8Array(size);
  out[0] = 0x80 | fields.length;
  let at = 1;
  for (const [key, value] of fields) {
    out[at++] = 0xa0 | key.length;
    for (let i = 0; i < key.length; i++) out[at++] = key.charCodeAt(i);
    out.set(value, at);
    at += value.length;
  }
  return out;
}

/** How metad encodes a write's result once, for its dedupe record and for the wire alike. */
export const wireResultCodec = {
  encode: (value: unknown): Uint8Array => encodePayload(writeResultToWire(value)),
  decode: (bytes: Uint8Array): unknown => decodePayload(bytes),
};
