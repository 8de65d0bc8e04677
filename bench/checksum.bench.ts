// Which block checksum: the candidates over 64 KiB segments (the size a ranged read verifies) and
// whole 4 MiB blocks, in GB/s a core. CRC-32 (ISO-HDLC) won: built into Bun (Bun.hash.crc32) and
// node >= 20.15 (zlib.crc32), in Python's standard library (zlib.crc32) for the Python client,
// and fast enough that verifying a 16 KiB sample costs about a microsecond.
// Run: ./node_modules/.bin/bun bench/checksum.bench.ts (node 20.20 on this machine, same loop: zlib.crc32
// 5.0 GB/s and sha256 1.7 GB/s over 64 KiB segments).
import { createHash } from "node:crypto";
import * as zlib from "node:zlib";
import { tableCrc32 } from "../src/types/checksum.ts";

const SEGMENT_BYTES = 64 * 1024;
const BLOCK_BYTES = 4 * 1024 * 1024;
const TARGET_MS = 300;

const data = new Uint8Array(BLOCK_BYTES);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;

type Hash = (bytes: Uint8Array) => unknown;
const candidates: Array<[string, Hash | undefined]> = [
  ["crc32 (Bun.hash.crc32)", typeof Bun === "undefined" ? undefined : (b) => Bun.hash.crc32(b)],
  ["crc32 (node zlib.crc32)", (zlib as { crc32?: Hash }).crc32],
  ["crc32 (plain JS table)", tableCrc32],
  ["xxHash64 (Bun.hash)", typeof Bun === "undefined" ? undefined : (b) => Bun.hash.xxHash64(b)],
  ["wyhash (Bun.hash)", typeof Bun === "undefined" ? undefined : (b) => Bun.hash.wyhash(b)],
  ["sha256 (node:crypto)", (b) => createHash("sha256").update(b).digest()],
  ["md5 (node:crypto)", (b) => createHash("md5").update(b).digest()],
];

function gbPerSec(hash: Hash, pieceBytes: number): number {
  let bytes = 0;
  const started = performance.now();
  while (performance.now() - started < TARGET_MS) {
    for (let at = 0; at < data.length; at += pieceBytes) hash(data.subarray(at, at + pieceBytes));
    bytes += data.length;
  }
  return bytes / 1e9 / ((performance.now() - started) / 1000);
}

console.log(`${typeof Bun === "undefined" ? `node ${process.version}` : `bun ${Bun.version}`}: checksum throughput, GB/s on one core`);
console.log(`${"candidate".padEnd(26)}${"64 KiB".padStart(10)}${"4 MiB".padStart(10)}`);
for (const [name, hash] of candidates) {
  if (!hash) {
    console.log(`${name.padEnd(26)}${"n/a".padStart(10)}${"n/a".padStart(10)}`);
    continue;
  }
  console.log(`${name.padEnd(26)}${gbPerSec(hash, SEGMENT_BYTES).toFixed(2).padStart(10)}${gbPerSec(hash, BLOCK_BYTES).toFixed(2).padStart(10)}`);
}
