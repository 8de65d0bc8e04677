// Integers leave this process as msgpack integers. msgpackr writes a JavaScript number outside
// the 32-bit ranges as float64 (0xcb), which a Python or Go peer decodes as a float: an inode,
// version or size above 4 GiB would arrive as 4294967296.0. msgpackr has no option for it, so
// after packing, every float64 token whose value is integral is rewritten in place as uint64
// (0xcf) or int64 (0xd3): the same 9 bytes, no copy, nothing else moves. A JavaScript number has
// no separate integer type, so an integral double is an integer; NaN, the infinities and values
// beyond 64 bits stay float64.

const FLOAT64 = 0xcb;
const UINT64 = 0xcf;
const INT64 = 0xd3;
const TWO_POW_63 = 2 ** 63;
const TWO_POW_64 = 2 ** 64;

export function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

export function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** Bytes taken by the token at `at`: header plus inline data (container children follow it). */
export function tokenBytes(bytes: Uint8Array, at: number, token: number): number {
  if (token <= 0x9f || token >= 0xe0) return 1; // fixint, fixmap, fixarray
  if (token <= 0xbf) return 1 + (token & 0x1f); // fixstr
  switch (token) {
    case 0xc4: case 0xd9: return 2 + bytes[at + 1]!;
    case 0xc5: case 0xda: return 3 + u16(bytes, at + 1);
    case 0xc6: case 0xdb: return 5 + u32(bytes, at + 1);
    case 0xc7: return 3 + bytes[at + 1]!;
    case 0xc8: return 4 + u16(bytes, at + 1);
    case 0xc9: return 6 + u32(bytes, at + 1);
    case 0xcc: case 0xd0: return 2;
    case 0xcd: case 0xd1: case 0xdc: case 0xde: return 3;
    case 0xca: case 0xce: case 0xd2: case 0xdd: case 0xdf: return 5;
    case 0xcb: case 0xcf: case 0xd3: return 9;
    case 0xd4: return 3;
    case 0xd5: return 4;
    case 0xd6: return 6;
    case 0xd7: return 10;
    case 0xd8: return 18;
    default: return 1; // nil, false, true, 0xc1
  }
}

/**
 * Rewrites, in place, each float64 with an integral value in [-2^63, 2^64) inside the msgpack
 * value(s) that start at `start` as uint64 (non-negative) or int64. `bytes` came from our own
 * encoder, so its structure is trusted.
 */
export function floatsToIntegers(bytes: Uint8Array, start = 0): void {
  // Most payloads hold no 0xcb byte at all: one native scan and done.
  if (bytes.indexOf(FLOAT64, start) === -1) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let at = start;
  while (at < end) {
    const token = bytes[at]!;
    if (token === FLOAT64) {
      const value = view.getFloat64(at + 1);
      if (Number.isInteger(value) && value >= -TWO_POW_63 && value < TWO_POW_64) {
        if (value >= 0) {
          bytes[at] = UINT64;
          view.setBigUint64(at + 1, BigInt(value));
        } else {
          bytes[at] = INT64;
          view.setBigInt64(at + 1, BigInt(value));
        }
      }
    }
    at += tokenBytes(bytes, at, token);
  }
}
