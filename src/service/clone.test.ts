import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor, type InodeId } from "../types/index.ts";
import type { GcObjectTarget } from "./gc.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

/** The checksum of the 4 KiB of zeros every test block stands for. */
const ZERO_BLOCK_CHECKSUM = blockChecksum(new Uint8Array(4096), segmentSizeFor(4096));

let h: ServiceHarness;
let m: number;
beforeEach(() => {
  h = openTestService();
  m = h.mount;
});
afterEach(() => h.cleanup());

class ObjectSet implements GcObjectTarget {
  keys = new Set<string>();
  async deleteObject(key: string) {
    this.keys.delete(key);
  }
  async listObjects(prefix: string) {
    return [...this.keys].filter((k) => k.startsWith(prefix)).sort();
  }
}

const dirOf = (path: string) => h.service.paths.stat({ mount: m, path }).inode;

/** Publishes `path` with one 4 KiB block per `blocks`; returns its block keys. */
function publish(objects: ObjectSet, path: string, blocks = 1): string[] {
  const cut = path.lastIndexOf("/");
  const parent = cut === 0 ? ROOT_INODE : dirOf(path.slice(0, cut));
  const name = path.slice(cut + 1);
  const prep = h.service.publisher.prepare({ mount: m, parent, name, blockSizeBytes: 4096 });
  const list = Array.from({ length: blocks }, (_, b) => ({ key: blockKey(prep.keyPrefix, 0, b), offsetInChunk: b * 4096, lengthBytes: 4096, objectOffset: 0, checksum: ZERO_BLOCK_CHECKSUM }));
  for (const b of list) objects.keys.add(b.key);
  const summary = { sizeBytes: blocks * 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: 1, digest: "", producer: "", contentType: "" };
  h.service.publisher.publish({ mount: m, prepareId: prep.prepareId, parent, name, manifest: { summary, chunks: [{ chunkIndex: 0, blocks: list }] }, replace: true });
  return list.map((b) => b.key);
}

function keysOf(path: string, at?: number): string[] {
  const attrs = h.service.paths.stat({ mount: m, path, ...(at === undefined ? {} : { at }) });
  return h.service.publisher.readPlan({ mount: m, inode: attrs.inode, offsetBytes: 0, lengthBytes: attrs.sizeBytes, ...(at === undefined ? {} : { at }) }).ranges.map((r) => r.key);
}

/** Every block a current body names, from the manifests (what must never be deleted). */
function referencedKeys(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: InodeId) => {
    for (const e of h.service.store.scanDentries(m, dir, { limit: 100_000 })) {
      const attrs = h.service.core.getInode(m, e.inode);
      if (attrs.type === "dir") walk(attrs.inode);
      else if (attrs.type === "file" && attrs.generation !== 0) {
        for (const r of h.service.store.scanManifests(m, attrs.inode, attrs.generation)) if (r.value.kind === "chunk") for (const b of r.value.chunk.blocks) out.add(b.key);
      }
    }
  };
  walk(ROOT_INODE);
  return out;
}

function diffAll(a: { path: string; at?: number; root?: number }, b: { path: string; at?: number; root?: number }, limit?: number) {
  const out = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = h.service.differ.diff({ mount: m, a, b, ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }) });
    out.push(...page.entries);
    pages++;
    if (page.nextCursor === null) return { entries: out, pages };
    cursor = page.nextCursor;
  }
}

function rmTree(path: string): void {
  h.service.group(() => {
    const walk = (p: string) => {
      for (const e of h.service.paths.readdir({ mount: m, path: p, limit: 4096 }).entries) {
        const child = `${p}/${e.name}`;
        if (e.type === "dir") walk(child);
        h.service.paths.remove({ mount: m, path: child });
      }
    };
    walk(path);
    h.service.paths.remove({ mount: m, path });
  });
}

describe("clone", () => {
  test("a clone shares blocks, counts references, and each side changes alone", () => {
    const objects = new ObjectSet();
    h.service.paths.mkdir({ mount: m, path: "/src/sub", recursive: true });
    const [key] = publish(objects, "/src/sub/f", 1);
    h.service.paths.symlink({ mount: m, path: "/src/link", target: "sub/f" });
    h.service.paths.link({ mount: m, path: "/src/sub/f", newPath: "/src/hard" });
    const before = h.service.core.version(m);
    const result = h.service.clones.clone({ mount: m, source: { path: "/src" }, target: "/dst" });
    expect(h.service.core.version(m)).toBe(before + 1);
    expect(result.entries).toBe(5);
    expect(h.service.store.blockRefCount(m, key!)).toBe(2);
    const copy = h.service.paths.stat({ mount: m, path: "/dst/sub/f" });
    const orig = h.service.paths.stat({ mount: m, path: "/src/sub/f" });
    expect(copy.inode).not.toBe(orig.inode);
    expect(copy.generation).toBe(orig.generation);
    expect(copy.nlink).toBe(2);
    expect(h.service.paths.stat({ mount: m, path: "/dst/hard" }).inode).toBe(copy.inode);
    expect(h.service.paths.readlink({ mount: m, path: "/dst/link" })).toBe("sub/f");
    expect(keysOf("/dst/sub/f")).toEqual([key!]);
    expect(h.service.paths.stat({ mount: m, path: "/dst" }).nlink).toBe(3);
    // A write on one side never shows on the other.
    const [fresh] = publish(objects, "/src/sub/f", 1);
    expect(keysOf("/src/sub/f")).toEqual([fresh!]);
    expect(keysOf("/dst/sub/f")).toEqual([key!]);
    expect(h.service.store.blockRefCount(m, key!)).toBe(1);
    h.service.paths.setattr({ mount: m, path: "/dst/sub/f", changes: { sizeBytes: 0 } });
    expect(h.service.store.blockRefCount(m, key!)).toBe(0);
    expect(h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 10).map((r) => r.objectKey)).toEqual([key!]);
  });

  test("bad clones are refused by errno and commit nothing", () => {
    h.service.paths.mkdir({ mount: m, path: "/a/b", recursive: true });
    h.service.paths.mkdir({ mount: m, path: "/c" });
    const before = h.service.core.version(m);
    expect(errnoOf(() => h.service.clones.clone({ mount: m, source: { path: "/a" }, target: "/c" }))).toBe("EEXIST");
    expect(errnoOf(() => h.service.clones.clone({ mount: m, source: { path: "/a" }, target: "/a/b/x" }))).toBe("EINVAL");
    expect(errnoOf(() => h.service.clones.clone({ mount: m, source: { path: "/nope" }, target: "/x" }))).toBe("ENOENT");
    expect(errnoOf(() => h.service.clones.clone({ mount: m, source: { path: "/a" }, target: "/nope/x" }))).toBe("ENOENT");
    expect(h.service.core.version(m)).toBe(before);
  });

  test("a clone over the entry limit is EFBIG with the limit's name", () => {
    h.service.paths.mkdir({ mount: m, path: "/big" });
    h.service.ns.createFiles({ mount: m, parent: dirOf("/big"), names: Array.from({ length: 50 }, (_, i) => `f${i}`) });
    const plan = (LIMITS as { cloneMaxEntries: number }).cloneMaxEntries;
    (LIMITS as { cloneMaxEntries: number }).cloneMaxEntries = 20;
    try {
      expect(() => h.service.clones.clone({ mount: m, source: { path: "/big" }, target: "/copy" })).toThrow(/cloneMaxEntries/);
    } finally {
      (LIMITS as { cloneMaxEntries: number }).cloneMaxEntries = plan;
    }
  });

  test("rollback over a directory made again under the same name drops its entries once, and copies nothing into it", () => {
    const p = h.service.paths;
    p.mkdir({ mount: m, path: "/r/d", recursive: true });
    p.mkdir({ mount: m, path: "/keep" });
    const f = p.createFile({ mount: m, path: "/keep/f" });
    p.link({ mount: m, path: "/keep/f", newPath: "/r/d/then" });
    const snap = h.service.snapshots.create({ mount: m, inode: dirOf("/r") });
    // /r/d is another directory now (another inode), holding another link to the same file.
    p.remove({ mount: m, path: "/r/d/then" });
    p.rename({ mount: m, path: "/r/d", newPath: "/old-d" });
    p.mkdir({ mount: m, path: "/r/d" });
    p.link({ mount: m, path: "/keep/f", newPath: "/r/d/now" });
    expect(p.stat({ mount: m, path: "/keep/f" }).nlink).toBe(2);
    h.service.rollbacks.rollback({ mount: m, path: "/r", snapshotId: snap.snapshotId });
    // The new /r/d went whole (one link of f with it) and the snapshot's came back as a copy.
    expect(p.stat({ mount: m, path: "/keep/f" })).toMatchObject({ inode: f.inode, nlink: 1 });
    expect(p.readdir({ mount: m, path: "/r/d" }).entries.map((e) => e.name)).toEqual(["then"]);
    // Nothing points at a removed inode: every name below the root resolves.
    const walk = (dir: InodeId) => {
      for (const e of h.service.store.scanDentries(m, dir, { limit: 1_000 })) {
        const attrs = h.service.core.getInode(m, e.inode);
        if (attrs.type === "dir") walk(attrs.inode);
      }
    };
    walk(ROOT_INODE);
  });

  test("a clone of a snapshot brings back blocks the live tree dropped, and GC keeps them", async () => {
    const objects = new ObjectSet();
    h.service.paths.mkdir({ mount: m, path: "/w" });
    const [key] = publish(objects, "/w/f", 1);
    const snap = h.service.snapshots.create({ mount: m });
    h.service.paths.remove({ mount: m, path: "/w/f" });
    expect(h.service.store.blockRefCount(m, key!)).toBe(0);
    h.service.clones.clone({ mount: m, source: { path: "/w", at: snap.readVersion, root: snap.rootInode }, target: "/back" });
    expect(h.service.store.blockRefCount(m, key!)).toBe(1);
    expect(keysOf("/back/f")).toEqual([key!]);
    h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId });
    await h.service.gc.collect(objects);
    expect(objects.keys.has(key!)).toBe(true);
    h.service.paths.remove({ mount: m, path: "/back/f" });
    await h.service.gc.collect(objects);
    expect(objects.keys.has(key!)).toBe(false);
  });
});

describe("workspaces at 10,000 files", () => {
  test("clone, change both sides, diff, snapshot, rollback; GC never deletes a referenced block and leaks none", async () => {
    const objects = new ObjectSet();
    const dirs = 10;
    const perDir = 1_000;
    h.service.group(() => {
      for (let d = 0; d < dirs; d++) {
        h.service.paths.mkdir({ mount: m, path: `/src/d${d}`, recursive: true });
        for (let f = 0; f < perDir; f++) publish(objects, `/src/d${d}/f${f}`, 1);
      }
    });
    const cloned = h.service.clones.clone({ mount: m, source: { path: "/src" }, target: "/dst" });
    expect(cloned.entries).toBe(1 + dirs + dirs * perDir);
    expect(diffAll({ path: "/src" }, { path: "/dst" }).entries).toEqual([]);
    const check = async () => {
      await h.service.gc.collect(objects);
      for (const key of referencedKeys()) expect(objects.keys.has(key)).toBe(true);
    };
    await check();

    // Changes on both sides.
    publish(objects, "/src/d0/f1", 2);
    h.service.paths.remove({ mount: m, path: "/src/d1/f2" });
    publish(objects, "/dst/d2/new", 1);
    h.service.paths.setattr({ mount: m, path: "/dst/d3/f3", changes: { mode: 0o600 } });
    h.service.paths.setattr({ mount: m, path: "/dst/d4/f4", changes: { sizeBytes: 100 } });
    await check();
    const d = diffAll({ path: "/src" }, { path: "/dst" }, 2);
    const byPath = Object.fromEntries(d.entries.map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual(["d0/f1", "d1/f2", "d2/new", "d3/f3", "d4/f4"]);
    expect(byPath["d0/f1"]).toMatchObject({ kind: "changed", changes: ["content"] });
    expect(byPath["d1/f2"]).toMatchObject({ kind: "added", type: "file" });
    expect(byPath["d2/new"]).toMatchObject({ kind: "added" });
    expect(byPath["d3/f3"]).toMatchObject({ kind: "changed", changes: ["mode"] });
    expect(byPath["d4/f4"]).toMatchObject({ kind: "changed", changes: ["content"], sizeA: 4096, sizeB: 100 });
    expect(d.pages).toBeGreaterThan(1);

    // A snapshot of the clone, more work on it, then the way back.
    const snap = h.service.snapshots.create({ mount: m, inode: dirOf("/dst") });
    // Snapshot paths are the live absolute paths they were taken at.
    const atSnap = { path: "/dst", at: snap.readVersion, root: snap.rootInode };
    const f5 = h.service.paths.stat({ mount: m, path: "/dst/d5/f5" }).inode;
    h.service.paths.rename({ mount: m, path: "/dst/d5/f5", newPath: "/dst/d5/g5" });
    rmTree("/dst/d6");
    h.service.paths.mkdir({ mount: m, path: "/dst/d7/x" });
    publish(objects, "/dst/d8/f8", 3);
    h.service.paths.setattr({ mount: m, path: "/dst/d9/f9", changes: { uid: 7 } });
    await check();
    const since = diffAll(atSnap, { path: "/dst" }).entries;
    expect(since).toEqual([
      { kind: "renamed", path: "d5/f5", toPath: "d5/g5", type: "file", inodeA: expect.any(Number) },
      { kind: "removed", path: "d6", type: "dir", inodeA: expect.any(Number) },
      { kind: "added", path: "d7/x", type: "dir", inodeB: expect.any(Number) },
      expect.objectContaining({ kind: "changed", path: "d8/f8", changes: ["content"] }),
      expect.objectContaining({ kind: "changed", path: "d9/f9", changes: ["owner"] }),
    ]);

    const events: string[] = [];
    h.service.core.onEvents((_mount, evs) => events.push(...evs.map((e) => `${e.kind}:${e.name}`)));
    const rolled = h.service.rollbacks.rollback({ mount: m, path: "/dst", snapshotId: snap.snapshotId });
    expect(rolled.changed).toBeGreaterThan(4);
    expect(events).toEqual(expect.arrayContaining(["create:f5", "remove:g5", "create:d6", "remove:x", "publish:f8", "update_attr:"]));
    expect(diffAll(atSnap, { path: "/dst" }).entries).toEqual([]);
    expect(h.service.paths.readdir({ mount: m, path: "/dst/d6", limit: 4096 }).entries.length).toBe(perDir);
    // A file renamed inside the directory goes back under its own number.
    expect(h.service.paths.stat({ mount: m, path: "/dst/d5/f5" })).toMatchObject({ inode: f5, nlink: 1 });
    await check();

    // Everything goes: every object is collected, and no reference or record is left.
    rmTree("/src");
    rmTree("/dst");
    h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId });
    await h.service.gc.collect(objects);
    await h.service.gc.collect(objects);
    expect(objects.keys.size).toBe(0);
    expect(h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  }, 120_000);
});
