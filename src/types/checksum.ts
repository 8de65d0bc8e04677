import * as zlib from "node:zlib";
import { FsError } from "./errno.ts";
import { LIMITS } from "./limits.ts";

// Block checksums: CRC-32 (ISO-HDLC, the one zlib, Python's zlib.crc32, gzip and PNG use) of each
// fixed segment of an object. Chosen by measurement (bench/checksum.bench.ts): Bun's built-in
// CRC-32 runs at 20-30 GB/s a core and node's zlib.crc32 at 5-30 GB/s, against 1.7 GB/s for
// sha256 and 14 GB/s for xxHash64 (which Python's standard library lacks). Segments let a ranged
// read verify what it returns by reading whole segments around it, never the whole block.

/** The checksums of one object as its uploader computed them. */
export interface BlockChecksum {
  /** Bytes per segment; the last segment of the object may be shorter. */
  segmentSizeBytes: number;
  /** The whole object's size: it fixes where the last segment ends. */
  objectSizeBytes: number;
  /** CRC-32 of each segment in order, 8 lowercase hex digits each. */
  crc32: string;
}

/** The checksums of the segments a read range touches, starting at segment `firstSegment`. */
export interface RangeChecksum extends BlockChecksum {
  firstSegment: number;
}

const CRC_HEX_CHARS = 8;
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `bytes`: Bun's built-in, node's zlib.crc32 (node >= 20.15), or a table in plain JS. */
export const crc32: (bytes: Uint8Array) => number =
  typeof Bun !== "undefined" ? (bytes) => Bun.hash.crc32(bytes) : zlibCrc32 ? (bytes) => zlibCrc32(bytes) : tableCrc32;

let table: Uint32Array | null = null;

export function tableCrc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hex(value: number): string {
  return value.toString(16).padStart(CRC_HEX_CHARS, "0");
}

/** The segment size for blocks of `blockSizeBytes`: 64 KiB, larger for blocks past 64 segments. */
export function segmentSizeFor(blockSizeBytes: number): number {
  const perSegment = Math.ceil(blockSizeBytes / LIMITS.checksumSegmentsPerBlockMax);
  return Math.max(LIMITS.checksumSegmentBytes, perSegment);
}

export function segmentCount(c: BlockChecksum): number {
  return Math.ceil(c.objectSizeBytes / c.segmentSizeBytes);
}

/** Checksums of a whole object, as an uploader computes them before its put. */
export function blockChecksum(bytes: Uint8Array, segmentSizeBytes: number): BlockChecksum {
  let crcs = "";
  for (let at = 0; at < bytes.byteLength; at += segmentSizeBytes) crcs += hex(crc32(bytes.subarray(at, at + segmentSizeBytes)));
  return { segmentSizeBytes, objectSizeBytes: bytes.byteLength, crc32: crcs };
}

/** Why a checksum from outside (a manifest) is malformed, or null when it is well formed. */
export function checksumProblem(c: unknown, objectSizeBytes: number): string | null {
  if (typeof c !== "object" || c === null) return "no checksum";
  const { segmentSizeBytes, objectSizeBytes: size, crc32: crcs } = c as BlockChecksum;
  if (!Number.isSafeInteger(segmentSizeBytes) || segmentSizeBytes < LIMITS.checksumSegmentBytes || segmentSizeBytes > LIMITS.blockSizeMaxBytes) {
    return `checksum segment size ${segmentSizeBytes} outside ${LIMITS.checksumSegmentBytes}..${LIMITS.blockSizeMaxBytes}`;
  }
  if (size !== objectSizeBytes) return `checksum covers ${size} bytes, the object holds ${objectSizeBytes}`;
  const segments = Math.ceil(size / segmentSizeBytes);
  if (segments > LIMITS.checksumSegmentsPerBlockMax) return `${segments} checksum segments, at most ${LIMITS.checksumSegmentsPerBlockMax}`;
  if (typeof crcs !== "string" || crcs.length !== segments * CRC_HEX_CHARS || !/^[0-9a-f]*$/.test(crcs)) {
    return `checksum list is not ${segments} CRC-32 values of ${CRC_HEX_CHARS} lowercase hex digits`;
  }
  return null;
}

/** The checksums of the segments holding object bytes [objectOffset, objectOffset + lengthBytes). */
export function rangeChecksum(c: BlockChecksum, objectOffset: number, lengthBytes: number): RangeChecksum {
  const firstSegment = Math.floor(objectOffset / c.segmentSizeBytes);
  const endSegment = Math.ceil((objectOffset + lengthBytes) / c.segmentSizeBytes);
  return { ...c, firstSegment, crc32: c.crc32.slice(firstSegment * CRC_HEX_CHARS, endSegment * CRC_HEX_CHARS) };
}

/** The checksums of a part [objectOffset, objectOffset + lengthBytes) of the range `c` covers. */
export function narrowChecksum(c: RangeChecksum, objectOffset: number, lengthBytes: number): RangeChecksum {
  const firstSegment = Math.floor(objectOffset / c.segmentSizeBytes);
  const endSegment = Math.ceil((objectOffset + lengthBytes) / c.segmentSizeBytes);
  const segments = c.crc32.length / CRC_HEX_CHARS;
  if (firstSegment < c.firstSegment || endSegment > c.firstSegment + segments) {
    throw new FsError("EINVAL", `bytes ${objectOffset}..${objectOffset + lengthBytes} reach past the checksummed segments ${c.firstSegment}..${c.firstSegment + segments}`);
  }
  return { ...c, firstSegment, crc32: c.crc32.slice((firstSegment - c.firstSegment) * CRC_HEX_CHARS, (endSegment - c.firstSegment) * CRC_HEX_CHARS) };
}

/** The whole segments a verified read of the range fetches: [offsetBytes, offsetBytes + lengthBytes) of the object. */
export function segmentWindow(c: RangeChecksum): { offsetBytes: number; lengthBytes: number } {
  const offsetBytes = c.firstSegment * c.segmentSizeBytes;
  const segments = c.crc32.length / CRC_HEX_CHARS;
  const endBytes = Math.min(c.objectSizeBytes, (c.firstSegment + segments) * c.segmentSizeBytes);
  return { offsetBytes, lengthBytes: Math.max(0, endBytes - offsetBytes) };
}

/** A segment whose bytes do not match their checksum. */
export interface SegmentMismatch {
  segment: number;
  offsetBytes: number;
  lengthBytes: number;
  expected: string;
  actual: string;
}

/**
 * Checks `bytes`, the object bytes of `segmentWindow(c)`, segment by segment; returns the first
 * mismatch or null. Too few bytes (a truncated object) is a mismatch of the segment they end in.
 */
export function verifySegments(c: RangeChecksum, bytes: Uint8Array): SegmentMismatch | null {
  const window = segmentWindow(c);
  const segments = c.crc32.length / CRC_HEX_CHARS;
  for (let i = 0; i < segments; i++) {
    const from = i * c.segmentSizeBytes;
    const to = Math.min(window.lengthBytes, from + c.segmentSizeBytes);
    const expected = c.crc32.slice(i * CRC_HEX_CHARS, (i + 1) * CRC_HEX_CHARS);
    const got = bytes.subarray(from, Math.min(to, bytes.byteLength));
    const actual = got.byteLength === to - from ? hex(crc32(got)) : `short:${got.byteLength}/${to - from}`;
    if (actual !== expected) return { segment: c.firstSegment + i, offsetBytes: window.offsetBytes + from, lengthBytes: to - from, expected, actual };
  }
  if (bytes.byteLength > window.lengthBytes) {
    return { segment: c.firstSegment + segments, offsetBytes: window.offsetBytes + window.lengthBytes, lengthBytes: 0, expected: "end", actual: `${bytes.byteLength - window.lengthBytes} extra bytes` };
  }
  return null;
}

/** EIO naming the object, for a mismatch that a second read confirmed. */
export function checksumError(key: string, m: SegmentMismatch): FsError {
  const what = m.actual.startsWith("short:")
    ? `is truncated: segment ${m.segment} (bytes ${m.offsetBytes}..${m.offsetBytes + m.lengthBytes}) has only ${m.actual.slice(6).split("/")[0]} bytes`
    : `segment ${m.segment} (bytes ${m.offsetBytes}..${m.offsetBytes + m.lengthBytes}) fails its CRC-32 check: stored ${m.expected}, read ${m.actual}`;
  return new FsError("EIO", `object ${JSON.stringify(key)} ${what}`, { path: key });
}
