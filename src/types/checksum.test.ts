import { describe, expect, test } from "bun:test";
import * as zlib from "node:zlib";
import { blockChecksum, checksumProblem, crc32, narrowChecksum, rangeChecksum, segmentSizeFor, segmentWindow, tableCrc32, verifySegments } from "./checksum.ts";
import { LIMITS } from "./limits.ts";

// The checksum is the standard CRC-32 (what Python's zlib.crc32 computes), cut per segment, and
// a ranged read verifies exactly the whole segments around its range.

const KiB = 1024;

describe("block checksums", () => {
  test("CRC-32 is the standard one, whichever implementation runs", () => {
    const check = new TextEncoder().encode("123456789");
    expect(crc32(check)).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value; zlib.crc32(b"123456789") in Python
    expect(tableCrc32(check)).toBe(0xcbf43926);
    const data = new Uint8Array(100_000).map((_, i) => (i * 131) % 256);
    expect(tableCrc32(data)).toBe(crc32(data));
    const zlibCrc = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
    if (zlibCrc) expect(zlibCrc(data)).toBe(crc32(data));
  });

  test("segments: 64 KiB up to 4 MiB blocks, then at most 64 per block", () => {
    expect(segmentSizeFor(4 * KiB)).toBe(64 * KiB);
    expect(segmentSizeFor(4 * KiB * KiB)).toBe(64 * KiB);
    expect(segmentSizeFor(64 * KiB * KiB)).toBe(KiB * KiB);
    const c = blockChecksum(new Uint8Array(150 * KiB), 64 * KiB);
    expect(c).toMatchObject({ segmentSizeBytes: 64 * KiB, objectSizeBytes: 150 * KiB });
    expect(c.crc32).toHaveLength(3 * 8);
    expect(c.crc32.slice(16)).toBe(crc32(new Uint8Array(22 * KiB)).toString(16).padStart(8, "0"));
  });

  test("a range verifies the whole segments around it, and only those", () => {
    const data = new Uint8Array(200 * KiB).map((_, i) => (i * 7) % 256);
    const c = blockChecksum(data, 64 * KiB);
    const r = rangeChecksum(c, 70 * KiB, 16 * KiB);
    expect(r.firstSegment).toBe(1);
    expect(segmentWindow(r)).toEqual({ offsetBytes: 64 * KiB, lengthBytes: 64 * KiB });
    const across = rangeChecksum(c, 120 * KiB, 80 * KiB);
    expect(segmentWindow(across)).toEqual({ offsetBytes: 64 * KiB, lengthBytes: 136 * KiB });
    expect(verifySegments(across, data.subarray(64 * KiB))).toBeNull();
    const flipped = data.slice(64 * KiB);
    flipped[100 * KiB]! ^= 1;
    expect(verifySegments(across, flipped)).toMatchObject({ segment: 2, offsetBytes: 128 * KiB, lengthBytes: 64 * KiB });
    expect(verifySegments(across, data.subarray(64 * KiB, 150 * KiB))).toMatchObject({ segment: 2, actual: "short:22528/65536" });
  });

  test("a part of a range keeps the checksums of its own segments, the same the block's would give", () => {
    const data = new Uint8Array(200 * KiB).map((_, i) => (i * 7) % 256);
    const c = blockChecksum(data, 64 * KiB);
    const across = rangeChecksum(c, 10 * KiB, 180 * KiB);
    for (const [offset, length] of [[70 * KiB, 16 * KiB], [10 * KiB, 60 * KiB], [128 * KiB, 62 * KiB]] as const) {
      expect(narrowChecksum(across, offset, length)).toEqual(rangeChecksum(c, offset, length));
    }
    expect(() => narrowChecksum(rangeChecksum(c, 70 * KiB, 16 * KiB), 10 * KiB, 8 * KiB)).toThrow("reach past the checksummed segments");
  });

  test("malformed checksums from outside are named", () => {
    const good = blockChecksum(new Uint8Array(10), 64 * KiB);
    expect(checksumProblem(good, 10)).toBeNull();
    expect(checksumProblem(undefined, 10)).toBe("no checksum");
    expect(checksumProblem({ ...good, crc32: "zz" }, 10)).toContain("CRC-32 values");
    expect(checksumProblem({ ...good, segmentSizeBytes: 1 }, 10)).toContain("segment size 1");
    expect(checksumProblem({ ...good, objectSizeBytes: 11 }, 10)).toContain("covers 11 bytes");
    const many = { segmentSizeBytes: 64 * KiB, objectSizeBytes: 65 * 64 * KiB, crc32: "0".repeat(65 * 8) };
    expect(checksumProblem(many, many.objectSizeBytes)).toContain(`at most ${LIMITS.checksumSegmentsPerBlockMax}`);
  });
});
