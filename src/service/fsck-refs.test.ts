import { Database } from "bun:sqlite";
import { afterEach, beforeEach, expect, test } from "bun:test";
import { join } from "node:path";
import { SqliteStore } from "../schema/index.ts";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor } from "../types/index.ts";
import { fsck } from "./fsck.ts";
import { openTestService, type ServiceHarness } from "./testing.ts";

/** The checksum of the 4 KiB of zeros every test block stands for. */
const ZERO_BLOCK_CHECKSUM = blockChecksum(new Uint8Array(4096), segmentSizeFor(4096));

// fsck counts block references itself and compares them with the stored counts; a v2 store
// migrated to v3 gets the same counts the commands would have kept.

let h: ServiceHarness;
beforeEach(() => {
  h = openTestService();
});
afterEach(() => h.cleanup());

function publish(name: string, blocks: number): string[] {
  const m = h.mount;
  const prep = h.service.publisher.prepare({ mount: m, parent: ROOT_INODE, name, blockSizeBytes: 4096 });
  const list = Array.from({ length: blocks }, (_, b) => ({ key: blockKey(prep.keyPrefix, 0, b), offsetInChunk: b * 4096, lengthBytes: 4096, objectOffset: 0, checksum: ZERO_BLOCK_CHECKSUM }));
  const summary = { sizeBytes: blocks * 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: 1, digest: "", producer: "", contentType: "" };
  h.service.publisher.publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name, manifest: { summary, chunks: [{ chunkIndex: 0, blocks: list }] }, replace: true });
  return list.map((b) => b.key);
}

function workload(): string[] {
  const m = h.mount;
  const keys = publish("a", 3);
  publish("b", 2);
  h.service.paths.mkdir({ mount: m, path: "/d" });
  h.service.clones.clone({ mount: m, source: { path: "/a" }, target: "/d/a1" });
  h.service.clones.clone({ mount: m, source: { path: "/d" }, target: "/d2" });
  h.service.paths.setattr({ mount: m, path: "/a", changes: { sizeBytes: 5000 } });
  publish("b", 1);
  return keys;
}

async function check() {
  const store = h.service.store as SqliteStore;
  return fsck(store, store.fullScan());
}

test("a store of clones, truncates and replaces is clean; a wrong count or a queued live block is reported", async () => {
  const keys = workload();
  expect(h.service.store.blockRefCount(h.mount, keys[0]!)).toBe(3);
  expect(h.service.store.blockRefCount(h.mount, keys[2]!)).toBe(2);
  expect((await check()).violations).toEqual([]);
  h.service.close();
  const db = new Database(join(h.dir, "meta.db"));
  db.run("UPDATE block_ref SET count = 7 WHERE object_key = ?", [keys[0]!]);
  db.run("INSERT INTO gc_queue (mount, enqueue_version, object_key) VALUES (?, 1, ?)", [h.mount, keys[1]!]);
  db.close();
  h.reopen();
  const report = await check();
  expect(report.violations.map((v) => [v.kind, v.keys.objectKey])).toEqual([
    ["block-ref-mismatch", keys[0]!],
    ["gc-queued-referenced", keys[1]!],
  ]);
});

test("migrating a version 3 store builds the reference counts from its manifests", async () => {
  workload();
  const before = [...(h.service.store as SqliteStore).fullScan().blockRefs()];
  expect(before.length).toBeGreaterThan(3);
  h.service.close();
  const db = new Database(join(h.dir, "meta.db"));
  db.run("DROP TABLE block_ref");
  db.run("DROP INDEX gc_queue_by_key");
  db.run("UPDATE system SET int_value = 3 WHERE name = 'schema_version'");
  db.close();
  h.reopen();
  expect([...(h.service.store as SqliteStore).fullScan().blockRefs()]).toEqual(before);
  expect((await check()).violations).toEqual([]);
});
