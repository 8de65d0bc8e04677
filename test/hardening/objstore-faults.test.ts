import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openObjectStore, type ObjectStore } from "../../src/objstore/index.ts";
import { FaultyObjectStore } from "../../src/objstore/fault/fault-store.ts";
import { fsckDataDir } from "../../src/cli/fsck.ts";
import type { GcObjectTarget } from "../../src/service/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";

// The object store misbehaving under a working metad: uploads that fail, reads that fail or
// stall, deletes that fail during GC. Publishes fail cleanly (nothing visible, the blocks already
// put deleted again), reads report EIO, GC retries what it could not delete, and fsck stays clean.

const BLOCK = 16 * 1024;
let h: MetadHarness;
let inner: ObjectStore;
beforeAll(async () => {
  h = await startMetad();
  inner = await openObjectStore(`file://${join(h.dir, "objects")}`);
});
afterAll(async () => {
  await inner.close();
  await h.stop();
});

const body = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) % 256);

test("an upload that fails mid-publish: publish rejects with the store's errno, nothing is visible, GC removes the staged blocks", async () => {
  const faulty = new FaultyObjectStore(inner, [{ op: "put", after: 3, fail: "EIO" }]);
  const c = await h.client({ objectStore: faulty });
  await expect(c.publish("/fails.bin", body(10 * BLOCK, 1), { blockSizeBytes: BLOCK, concurrency: 1, expiryMs: 300 })).rejects.toMatchObject({ code: "EIO" });
  await expect(c.stat("/fails.bin")).rejects.toMatchObject({ code: "ENOENT" });
  // The client deleted the 3 blocks it had put (and the failed 4th, in case it landed).
  expect((await inner.list("blocks/")).keys.length).toBe(0);
  expect(c.integrityStats().uploadBlocksCleanedUp).toBe(4);
  await Bun.sleep(350);
  const report = (await c.gc()) as { stagedExpired: number; stagedObjectsDeleted: number };
  expect(report).toMatchObject({ stagedExpired: 1, stagedObjectsDeleted: 0 });
  expect((await inner.list("blocks/")).keys).toEqual([]);
  // The same client publishes fine once the store recovers.
  faulty.rules = [];
  await c.publish("/fails.bin", body(3 * BLOCK, 2), { blockSizeBytes: BLOCK });
  expect(await c.readFile("/fails.bin")).toEqual(Buffer.from(body(3 * BLOCK, 2)));
  await c.close();
});

test("reads: a get that keeps failing is EIO after retries, one that fails once is retried, a stalled get completes", async () => {
  const writer = await h.client();
  await writer.writeFile("/read.bin", body(4 * BLOCK, 3), { blockSizeBytes: BLOCK });
  const faulty = new FaultyObjectStore(inner, [{ op: "get", fail: "EIO" }]);
  const reader = await h.client({ objectStore: faulty, cacheBytes: 0 });
  await expect(reader.readFile("/read.bin")).rejects.toMatchObject({ code: "EIO" });
  expect((await reader.stat("/read.bin")).size).toBe(4 * BLOCK);
  faulty.rules = [{ op: "get", stallMs: 200, times: 2 }];
  const started = Date.now();
  expect(await reader.readFile("/read.bin")).toEqual(Buffer.from(body(4 * BLOCK, 3)));
  expect(Date.now() - started).toBeGreaterThanOrEqual(180);
  expect(faulty.injected.stalls).toBe(2);
  expect(faulty.injected.failures).toBeGreaterThanOrEqual(3); // every attempt of a block read failed
  // A failure that passes: the retry with backoff reads the file.
  const passing = new FaultyObjectStore(inner, [{ op: "get", fail: "EIO", times: 1 }]);
  const retrier = await h.client({ objectStore: passing, cacheBytes: 0 });
  expect(await retrier.readFile("/read.bin")).toEqual(Buffer.from(body(4 * BLOCK, 3)));
  expect(passing.injected.failures).toBe(1);
  await retrier.close();
  await reader.close();
  await writer.close();
});

test("GC with failing deletes keeps its records and finishes on the next pass", async () => {
  const c = await h.client();
  await c.writeFile("/doomed.bin", body(5 * BLOCK, 4), { blockSizeBytes: BLOCK });
  await c.unlink("/doomed.bin");
  await c.close();
  const faulty = new FaultyObjectStore(inner, [{ op: "delete", times: 2 }]);
  const target: GcObjectTarget = {
    deleteObject: (key) => faulty.delete(key),
    listObjects: async (prefix) => (await faulty.list(prefix)).keys,
  };
  const first = await h.metad.service.gc.collect(target);
  expect(first.objectDeleteErrors).toBe(2);
  expect(first.objectsDeleted).toBe(3);
  const second = await h.metad.service.gc.collect(target);
  expect(second.objectsDeleted).toBe(2);
  expect((await inner.list("blocks/")).keys.length).toBe(4 + 3); // /read.bin and /fails.bin remain
});

test("after all the faults, fsck finds the store consistent", async () => {
  await h.metad.stop();
  const report = await fsckDataDir({ dataDir: join(h.dir, "data"), objectsUrl: `file://${join(h.dir, "objects")}` });
  expect(report.violations).toEqual([]);
  await h.restart();
});
