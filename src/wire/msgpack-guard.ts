// A structural pass over msgpack bytes before msgpackr sees them. msgpackr's reader recurses per
// nesting level (deep input from a peer would overflow the stack) and honours extensions a peer
// must not reach: records (each definition compiles a reader with new Function, ~3 us apiece),
// RegExp, Error, Set, Date, typed arrays, bundled strings. The walk builds nothing and recurses
// nowhere; it costs about a tenth of msgpackr's own decode (bench/wire.bench.ts).
import { LIMITS } from "../types/limits.ts";
import { FrameError } from "./frame.ts";

export interface PayloadLimits {
  maxDepth: number;
  maxItems: number;
}

const DEFAULT_LIMITS: PayloadLimits = { maxDepth: LIMITS.payloadMaxDepth, maxItems: LIMITS.payloadMaxItems };

function bad(detail: string): never {
  throw new FrameError("EPROTO", detail);
}

// A read past the end yields undefined, which the shifts turn into 0; the size check after every
// token then reports the truncation, so these need no bounds checks of their own.
function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** A 64-bit integer's high word at or within this (signed) may be within +-2^53 (`auto` decodes it as a number). */
const HIGH_WORD_OF_2_POW_53 = 0x20_0000;

/**
 * Throws FrameError EPROTO unless `bytes` is exactly one msgpack value of plain wire types (nil,
 * bool, integers, floats, strings, binary, arrays, maps; no extensions) within the depth and item limits.
 * Returns whether a 64-bit integer token (uint64, int64) may hold a value within +-2^53: when none
 * does, every such token decodes as a bigint, and the decoder can skip the per-value range test
 * (src/wire/codec.ts). A few values just past 2^53 count as "may": the test errs toward it.
 */
export function checkPayload(bytes: Uint8Array, limits: PayloadLimits = DEFAULT_LIMITS): boolean {
  let small64 = false;
  const end = bytes.length;
  // owed[d]: values still to read inside the container open at depth d; depth 0 is the top level.
  const owed: number[] = [1];
  let depth = 0;
  let at = 0;
  let items = 0;
  for (;;) {
    if (owed[depth] === 0) {
      if (depth === 0) break;
      depth--;
      continue;
    }
    owed[depth]!--;
    if (at >= end) bad("msgpack value truncated");
    if (++items > limits.maxItems) bad(`more than ${limits.maxItems} msgpack items`);
    const token = bytes[at]!;
    let size = 1;
    let children = 0;
    if (token <= 0x7f || token >= 0xe0) {
      // positive and negative fixint
    } else if (token <= 0x8f) {
      children = 2 * (token & 0x0f);
    } else if (token <= 0x9f) {
      children = token & 0x0f;
    } else if (token <= 0xbf) {
      size = 1 + (token & 0x1f);
    } else {
      switch (token) {
        case 0xc0: case 0xc2: case 0xc3: break;
        case 0xc4: case 0xd9: size = 2 + (bytes[at + 1] ?? 0); break;
        case 0xc5: case 0xda: size = 3 + u16(bytes, at + 1); break;
        case 0xc6: case 0xdb: size = 5 + u32(bytes, at + 1); break;
        case 0xcc: case 0xd0: size = 2; break;
        case 0xcd: case 0xd1: size = 3; break;
        case 0xca: case 0xce: case 0xd2: size = 5; break;
        case 0xcb: size = 9; break;
        case 0xcf: size = 9; small64 ||= u32(bytes, at + 1) <= HIGH_WORD_OF_2_POW_53; break;
        case 0xd3: {
          size = 9;
          const high = u32(bytes, at + 1) | 0;
          small64 ||= high >= -HIGH_WORD_OF_2_POW_53 && high <= HIGH_WORD_OF_2_POW_53;
          break;
        }
        case 0xdc: size = 3; children = u16(bytes, at + 1); break;
        case 0xdd: size = 5; children = u32(bytes, at + 1); break;
        case 0xde: size = 3; children = 2 * u16(bytes, at + 1); break;
        case 0xdf: size = 5; children = 2 * u32(bytes, at + 1); break;
        case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
          // No extension is wire data, not even fixext 0 (msgpackr's undefined): we send nil.
          bad(`msgpack extension type ${at + 1 < end ? bytes[at + 1] : "?"} is not wire data`);
        default:
          bad(`unsupported msgpack type 0x${token.toString(16)}`);
      }
    }
    at += size;
    if (at > end) bad("msgpack value truncated");
    if (children === 0) continue;
    // Each value takes at least a byte, so a count beyond what is left can never be honoured.
    if (children > end - at) bad("msgpack value truncated");
    if (depth === limits.maxDepth) bad(`msgpack nested deeper than ${limits.maxDepth}`);
    owed[++depth] = children;
  }
  if (at !== end) bad(`${end - at} bytes after the msgpack value`);
  return small64;
}
