import { afterEach, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockChecksum, rangeChecksum } from "../../types/index.ts";
import { NodeCache } from "./entry-store.ts";
import { scanEntries } from "./eviction.ts";
import { entryHash } from "./layout.ts";
import { sumStats } from "./stats.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function cacheDir(): string {
  const d = mkdtempSync(join(tmpdir(), "nokv-nodecache-"));
  dirs.push(d);
  return d;
}

const SEGMENT = 64 * 1024;

function object(sizeBytes: number) {
  const bytes = new Uint8Array(randomBytes(sizeBytes));
  const checksum = blockChecksum(bytes, SEGMENT);
  let gets = 0;
  const read = (key: string, objectOffset: number, lengthBytes: number) => ({
    key, objectOffset, lengthBytes, checksum: rangeChecksum(checksum, objectOffset, lengthBytes),
    fetchWhole: async () => {
      gets++;
      await Bun.sleep(5);
      return bytes;
    },
  });
  return { bytes, read, gets: () => gets };
}

test("layout: the entry path is sha256(storeId \\n key) split 2/62", () => {
  const h = entryHash("store-1", "blocks/a");
  expect(h).toBe(new Bun.CryptoHasher("sha256").update("store-1\nblocks/a").digest("hex"));
  const cache = new NodeCache({ cacheDir: cacheDir(), maxBytes: 1 << 30, storeId: "store-1" });
  expect(cache.layout.entryPath(h)).toBe(join(cache.config.cacheDir, "v1", "blocks", h.slice(0, 2), h.slice(2)));
  cache.close();
});

test("a miss fills the whole object once; later ranged reads hit", async () => {
  const cache = new NodeCache({ cacheDir: cacheDir(), maxBytes: 1 << 30, storeId: "s" });
  const o = object(300_000);
  const reads = await Promise.all([0, 1, 2, 3].map((i) => cache.read(o.read("k", i * 70_000, 1000))));
  reads.forEach((r, i) => expect(r).toEqual(o.bytes.subarray(i * 70_000, i * 70_000 + 1000)));
  expect(o.gets()).toBe(1);
  expect(readFileSync(cache.layout.entryPath(entryHash("s", "k")))).toEqual(Buffer.from(o.bytes));
  expect(await cache.read(o.read("k", 250_000, 50_000))).toEqual(o.bytes.subarray(250_000, 300_000));
  expect(o.gets()).toBe(1);
  expect(cache.stats.counters.misses).toBe(1);
  expect(cache.stats.counters.hits).toBe(4);
  cache.close();
  expect(sumStats(cache.layout).hits).toBe(4);
  expect(existsSync(cache.layout.lockPath(entryHash("s", "k")))).toBe(false);
});

test("a corrupt entry is counted, removed and fetched again", async () => {
  const dir = cacheDir();
  const o = object(200_000);
  const first = new NodeCache({ cacheDir: dir, maxBytes: 1 << 30, storeId: "s" });
  await first.read(o.read("k", 0, 10));
  first.close();
  const path = first.layout.entryPath(entryHash("s", "k"));
  const bad = Buffer.from(readFileSync(path));
  bad[100_000] = bad[100_000]! ^ 0xff;
  writeFileSync(path, bad);
  const second = new NodeCache({ cacheDir: dir, maxBytes: 1 << 30, storeId: "s" });
  expect(await second.read(o.read("k", 99_000, 2000))).toEqual(o.bytes.subarray(99_000, 101_000));
  expect(second.stats.counters.corrupt).toBe(1);
  expect(o.gets()).toBe(2);
  expect(readFileSync(path)).toEqual(Buffer.from(o.bytes));
  second.close();
});

test("a truncated entry without checksums is caught by its size", async () => {
  const dir = cacheDir();
  const cache = new NodeCache({ cacheDir: dir, maxBytes: 1 << 30, storeId: "s" });
  const bytes = new Uint8Array(randomBytes(5000));
  const read = { key: "old", objectOffset: 4000, lengthBytes: 1000, fetchWhole: async () => bytes };
  const path = cache.layout.entryPath(entryHash("s", "old"));
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes.subarray(0, 100));
  expect(await cache.read(read)).toEqual(bytes.subarray(4000, 5000));
  expect(cache.stats.counters.corrupt).toBe(1);
  cache.close();
});

test("eviction keeps the total under the limit, oldest mtime first", async () => {
  const dir = cacheDir();
  const cache = new NodeCache({ cacheDir: dir, maxBytes: 1_000_000, storeId: "s" });
  const objects = Array.from({ length: 12 }, () => object(100_000));
  for (const [i, o] of objects.entries()) {
    await cache.read(o.read(`k${i}`, 0, 10));
    // Distinct ages without waiting: entry i is i seconds newer than entry 0.
    const t = Date.now() / 1000 - 100 + i;
    utimesSync(cache.layout.entryPath(entryHash("s", `k${i}`)), t, t);
  }
  const left = scanEntries(cache.layout);
  expect(left.reduce((sum, e) => sum + e.sizeBytes, 0)).toBeLessThanOrEqual(1_000_000);
  expect(cache.stats.counters.evictions).toBeGreaterThan(0);
  expect(cache.has("k11")).toBe(true);
  expect(cache.has("k0")).toBe(false);
  cache.close();
});
