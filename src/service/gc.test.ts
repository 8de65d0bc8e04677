import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor } from "../types/index.ts";
import type { GcObjectTarget } from "./gc.ts";
import { openTestService, type ServiceHarness } from "./testing.ts";

let h: ServiceHarness;
let m: number;
let clockMs = 5_000_000;
beforeEach(() => {
  h = openTestService({ nowMs: () => clockMs });
  m = h.mount;
});
afterEach(() => h.cleanup());

/** An in-memory object set standing in for a bucket: GC's contract is only delete and list. */
class ObjectSet implements GcObjectTarget {
  keys = new Set<string>();
  failing = new Set<string>();
  async deleteObject(key: string) {
    if (this.failing.has(key)) throw new Error(`cannot delete ${key}`);
    this.keys.delete(key);
  }
  async listObjects(prefix: string) {
    return [...this.keys].filter((k) => k.startsWith(prefix)).sort();
  }
}

function publish(objects: ObjectSet, name: string, blocks: number) {
  const prep = h.service.publisher.prepare({ mount: m, parent: ROOT_INODE, name, blockSizeBytes: 4096 });
  const checksum = blockChecksum(new Uint8Array(4096), segmentSizeFor(4096));
  const list = Array.from({ length: blocks }, (_, b) => ({ key: blockKey(prep.keyPrefix, 0, b), offsetInChunk: b * 4096, lengthBytes: 4096, objectOffset: 0, checksum }));
  for (const b of list) objects.keys.add(b.key);
  const summary = { sizeBytes: blocks * 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: 1, digest: "", producer: "", contentType: "" };
  return { name, ...h.service.publisher.publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name, manifest: { summary, chunks: [{ chunkIndex: 0, blocks: list }] } }) };
}

describe("garbage collection", () => {
  test("blocks of an unlinked file are deleted, and their queue records after them", async () => {
    const objects = new ObjectSet();
    publish(objects, "keep", 2);
    publish(objects, "drop", 3);
    h.service.paths.remove({ mount: m, path: "/drop" });
    const report = await h.service.gc.collect(objects);
    expect(report.objectsDeleted).toBe(3);
    expect(objects.keys.size).toBe(2);
    expect(h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  test("a snapshot keeps blocks alive until it is retired", async () => {
    const objects = new ObjectSet();
    publish(objects, "f", 2);
    const snap = h.service.snapshots.create({ mount: m });
    h.service.paths.remove({ mount: m, path: "/f" });
    const kept = await h.service.gc.collect(objects);
    expect(kept).toMatchObject({ objectsDeleted: 0, mountsWaitingForSnapshots: 1 });
    expect(objects.keys.size).toBe(2);
    h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId });
    expect((await h.service.gc.collect(objects)).objectsDeleted).toBe(2);
    expect(objects.keys.size).toBe(0);
  });

  test("a failed delete keeps its record for the next pass", async () => {
    const objects = new ObjectSet();
    publish(objects, "f", 2);
    h.service.paths.remove({ mount: m, path: "/f" });
    const stuck = [...objects.keys][0]!;
    objects.failing.add(stuck);
    const first = await h.service.gc.collect(objects);
    expect(first).toMatchObject({ objectsDeleted: 1, objectDeleteErrors: 1 });
    objects.failing.clear();
    expect((await h.service.gc.collect(objects)).objectsDeleted).toBe(1);
    expect(objects.keys.size).toBe(0);
  });

  test("objects of an expired, never-published prepare are collected; a live one is left alone", async () => {
    const objects = new ObjectSet();
    const abandoned = h.service.publisher.prepare({ mount: m, parent: ROOT_INODE, name: "a", expiryMs: 1000 });
    const live = h.service.publisher.prepare({ mount: m, parent: ROOT_INODE, name: "b", expiryMs: 60_000 });
    objects.keys.add(blockKey(abandoned.keyPrefix, 0, 0));
    objects.keys.add(blockKey(abandoned.keyPrefix, 0, 1));
    objects.keys.add(blockKey(live.keyPrefix, 0, 0));
    clockMs += 5000;
    const report = await h.service.gc.collect(objects);
    expect(report).toMatchObject({ stagedExpired: 1, stagedObjectsDeleted: 2 });
    expect([...objects.keys]).toEqual([blockKey(live.keyPrefix, 0, 0)]);
    expect(h.service.store.getStaged(m, abandoned.prepareId)).toBeNull();
    expect(h.service.store.getStaged(m, live.prepareId)).not.toBeNull();
  });

  test("dedupe records older than their retention are dropped", () => {
    h.service.paths.createFile({ mount: m, path: "/f", requestKey: "old:1" });
    clockMs += LIMITS.dedupeRetainMs + 1;
    expect(h.service.gc.collectMetadata().dedupeRecordsDeleted).toBe(1);
    expect(h.service.store.replay("old:1")).toBeNull();
  });

  test("dedupe GC walks the log from its floor: old records go, young ones stay, and the log is kept until it passed", () => {
    for (let i = 0; i < 30; i++) h.service.paths.createFile({ mount: m, path: `/old${i}`, requestKey: `old:${i}` });
    const oldHead = h.service.core.version(m);
    clockMs += 1_000;
    for (let i = 0; i < 5; i++) h.service.paths.createFile({ mount: m, path: `/young${i}`, requestKey: `young:${i}` });
    // The log may not be trimmed past records GC has not reached.
    expect(h.service.store.trimLog(m, h.service.core.version(m), 1_000)).toBe(0);
    clockMs += LIMITS.dedupeRetainMs - 500;
    const report = h.service.gc.collectMetadata();
    expect(report.dedupeRecordsDeleted).toBe(30);
    for (let i = 0; i < 30; i++) expect(h.service.store.replay(`old:${i}`)).toBeNull();
    for (let i = 0; i < 5; i++) expect(h.service.store.replay(`young:${i}`)).not.toBeNull();
    // The walk stopped at the first young entry: the floor stands right after the old ones.
    expect(h.service.store.shardState(m).dedupeFloor).toBe(oldHead + 1);
    expect(h.service.store.trimLog(m, h.service.core.version(m), 1_000)).toBe(oldHead);
    // A later pass finds the rest from the floor, although the entries below it are gone.
    clockMs += 1_000;
    expect(h.service.gc.collectMetadata().dedupeRecordsDeleted).toBe(5);
    for (let i = 0; i < 5; i++) expect(h.service.store.replay(`young:${i}`)).toBeNull();
  });

  test("a quiet shard's dedupe floor moves only in steps, so GC passes do not each log a trim", () => {
    h.service.paths.createFile({ mount: m, path: "/f", requestKey: "k:1" });
    clockMs += LIMITS.dedupeRetainMs + 1;
    h.service.gc.collectMetadata();
    const after = h.service.core.version(m);
    clockMs += LIMITS.dedupeRetainMs + 1;
    h.service.gc.collectMetadata();
    h.service.gc.collectMetadata();
    expect(h.service.core.version(m)).toBe(after);
  });

  test("10,000 records a snapshot still sees wait ahead of free ones without blocking them", async () => {
    const objects = new ObjectSet();
    // 10,000 blocks a snapshot holds (removed after it), then blocks of another mount and newer
    // frees of this one that no snapshot can see.
    const kept = publish(objects, "kept", 10_000);
    const snap = h.service.snapshots.create({ mount: m });
    h.service.ns.unlink({ mount: m, parent: ROOT_INODE, name: kept.name });
    const other = h.service.mounts.create("other").id;
    const prep = h.service.publisher.prepare({ mount: other, parent: ROOT_INODE, name: "o", blockSizeBytes: 4096 });
    const key = blockKey(prep.keyPrefix, 0, 0);
    objects.keys.add(key);
    const summary = { sizeBytes: 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: 1, digest: "", producer: "", contentType: "" };
    const checksum = blockChecksum(new Uint8Array(4096), segmentSizeFor(4096));
    h.service.publisher.publish({ mount: other, prepareId: prep.prepareId, parent: ROOT_INODE, name: "o", manifest: { summary, chunks: [{ chunkIndex: 0, blocks: [{ key, offsetInChunk: 0, lengthBytes: 4096, objectOffset: 0, checksum }] }] } });
    h.service.ns.unlink({ mount: other, parent: ROOT_INODE, name: "o" });
    const first = await h.service.gc.collect(objects);
    expect(first.objectsDeleted).toBe(1);
    expect(objects.keys.has(key)).toBe(false);
    // The held records were never read: they lie past the oldest pin in the index.
    expect(first.objectRecordsScanned).toBe(1);
    expect(objects.keys.size).toBe(10_000);
    h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId });
    let deleted = 0;
    for (let pass = 0; pass < 3 && objects.keys.size > 0; pass++) deleted += (await h.service.gc.collect(objects)).objectsDeleted;
    expect(deleted).toBe(10_000);
    expect(objects.keys.size).toBe(0);
  }, 60_000);

  test("many mounts share a pass round-robin: every mount's garbage goes within a few passes", async () => {
    const objects = new ObjectSet();
    const mounts = Array.from({ length: 40 }, (_, i) => h.service.mounts.create(`m${i}`).id);
    for (const mount of mounts) {
      const prep = h.service.publisher.prepare({ mount, parent: ROOT_INODE, name: "f", blockSizeBytes: 4096 });
      const checksum = blockChecksum(new Uint8Array(4096), segmentSizeFor(4096));
      const blocks = Array.from({ length: 300 }, (_, b) => ({ key: blockKey(prep.keyPrefix, 0, b), offsetInChunk: b * 4096, lengthBytes: 4096, objectOffset: 0, checksum }));
      for (const b of blocks) objects.keys.add(b.key);
      const summary = { sizeBytes: 300 * 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: 1, digest: "", producer: "", contentType: "" };
      h.service.publisher.publish({ mount, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: { summary, chunks: [{ chunkIndex: 0, blocks }] } });
      // A snapshot on one mount delays only that mount's garbage.
      if (mount === mounts[7]) h.service.snapshots.create({ mount });
      h.service.ns.unlink({ mount, parent: ROOT_INODE, name: "f" });
    }
    const passes: number[] = [];
    for (let pass = 0; pass < 4; pass++) passes.push((await h.service.gc.collect(objects)).objectsDeleted);
    expect(passes[0]).toBe(LIMITS.gcPassMaxRows);
    expect(passes.reduce((a, b) => a + b, 0)).toBe(39 * 300);
    expect(objects.keys.size).toBe(300);
    expect([...objects.keys].every((k) => k.startsWith(`blocks/${mounts[7]}/`))).toBe(true);
  }, 60_000);

  test("history is trimmed by index range: rows between and after pins go, rows a pin reads stay", () => {
    const f = h.service.paths.createFile({ mount: m, path: "/h" });
    const chmod = (mode: number) => h.service.ns.setattr({ mount: m, inode: f.inode, changes: { mode } });
    chmod(0o600);
    const s1 = h.service.snapshots.create({ mount: m });
    for (let i = 0; i < 50; i++) chmod(0o400 + i);
    const s2 = h.service.snapshots.create({ mount: m });
    for (let i = 0; i < 50; i++) chmod(0o500 + i);
    const report = h.service.gc.collectMetadata();
    expect(report.historyRowsDeleted).toBeGreaterThan(90);
    expect(h.service.store.getInode({ mount: m, inode: f.inode }, s1.readVersion)!.mode).toBe(0o600);
    expect(h.service.store.getInode({ mount: m, inode: f.inode }, s2.readVersion)!.mode).toBe(0o400 + 49);
    expect(h.service.gc.collectMetadata().historyRowsDeleted).toBe(0);
    h.service.snapshots.retire({ mount: m, snapshotId: s1.snapshotId });
    h.service.snapshots.retire({ mount: m, snapshotId: s2.snapshotId });
    expect(h.service.gc.collectMetadata().historyRowsDeleted).toBeGreaterThan(0);
    expect(h.service.store.historyMounts(0, 10)).toEqual([]);
  });
});
