import { afterEach, beforeEach, expect, test } from "bun:test";
import { FsError, LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor, seededRandom, type InodeId } from "../types/index.ts";
import { SqliteStore } from "../schema/index.ts";
import { fsck } from "./fsck.ts";
import type { GcObjectTarget } from "./gc.ts";
import { openTestService, type ServiceHarness } from "./testing.ts";

/** The checksum of the 4 KiB of zeros every test block stands for. */
const ZERO_BLOCK_CHECKSUM = blockChecksum(new Uint8Array(4096), segmentSizeFor(4096));

// GC with clones and snapshots interleaved at random: after every pass, every block that a
// current file or any pinned snapshot can read is still in the store; once every file is gone
// and every snapshot retired, nothing is left (no leak, no stray reference count).

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

/** Blocks readable in the tree below `dir` as of `at` (current when absent). */
function readable(dir: InodeId, at: number | undefined, out: Set<string>): void {
  for (const d of h.service.store.scanDentries(m, dir, { limit: 100_000, ...(at === undefined ? {} : { at }) })) {
    const attrs = h.service.core.getInode(m, d.inode, at);
    if (attrs.type === "dir") readable(attrs.inode, at, out);
    else if (attrs.type === "file" && attrs.generation !== 0) {
      for (const r of h.service.store.scanManifests(m, attrs.inode, attrs.generation, at)) {
        if (r.value.kind === "chunk") for (const b of r.value.chunk.blocks) out.add(b.key);
      }
    }
  }
}

test("random clones, writes, truncates, removals, snapshots and GC never lose a readable block and leak none", async () => {
  const objects = new ObjectSet();
  const random = seededRandom(18);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const dirs = () => ["/", ...h.service.store.scanDentries(m, ROOT_INODE, { limit: 100 }).filter((d) => d.type === "dir").map((d) => `/${d.name}`)];
  const files = (dir: string) => h.service.paths.readdir({ mount: m, path: dir, limit: 100 }).entries.filter((e) => e.type === "file").map((e) => `${dir === "/" ? "" : dir}/${e.name}`);
  const publish = (path: string, blocks: number) => {
    const cut = path.lastIndexOf("/");
    const parent = cut === 0 ? ROOT_INODE : h.service.paths.stat({ mount: m, path: path.slice(0, cut) }).inode;
    const name = path.slice(cut + 1);
    const prep = h.service.publisher.prepare({ mount: m, parent, name, blockSizeBytes: 4096 });
    const list = Array.from({ length: blocks }, (_, b) => ({ key: blockKey(prep.keyPrefix, 0, b), offsetInChunk: b * 4096, lengthBytes: 4096, objectOffset: 0, checksum: ZERO_BLOCK_CHECKSUM }));
    for (const b of list) objects.keys.add(b.key);
    const summary = { sizeBytes: blocks * 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: blocks > 0 ? 1 : 0, digest: "", producer: "", contentType: "" };
    h.service.publisher.publish({ mount: m, prepareId: prep.prepareId, parent, name, manifest: { summary, chunks: blocks > 0 ? [{ chunkIndex: 0, blocks: list }] : [] }, replace: true });
  };
  let serial = 0;
  const counts = new Map<string, number>();
  for (let i = 0; i < 1_500; i++) {
    const dir = pick(dirs());
    const inDir = files(dir);
    const file = inDir.length > 0 ? pick(inDir) : null;
    const snaps = h.service.snapshots.list(m);
    const snap = snaps.length > 0 ? pick(snaps) : null;
    const ops: Array<[string, () => unknown]> = [
      ["mkdir", () => h.service.paths.mkdir({ mount: m, path: `/d${serial++}` })],
      ["publish", () => publish(`${dir === "/" ? "" : dir}/f${serial++ % 7}`, 1 + Math.floor(random() * 3))],
      ["clone", () => dir !== "/" && h.service.clones.clone({ mount: m, source: { path: dir }, target: `/c${serial++}` })],
      ["clone_file", () => file && h.service.clones.clone({ mount: m, source: { path: file }, target: `${file}.copy${serial++}` })],
      ["clone_snapshot", () => snap && dir !== "/" && h.service.clones.clone({ mount: m, source: { path: dir, at: snap.readVersion }, target: `/s${serial++}` })],
      ["unlink", () => file && h.service.paths.remove({ mount: m, path: file })],
      ["truncate", () => file && h.service.paths.setattr({ mount: m, path: file, changes: { sizeBytes: Math.floor(random() * 9000) } })],
      ["snapshot", () => h.service.snapshots.create({ mount: m })],
      ["retire", () => snap && h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId })],
      ["rename", () => file && h.service.paths.rename({ mount: m, path: file, newPath: `${pick(dirs()).replace(/\/$/, "")}/r${serial++}` })],
      ["link", () => file && h.service.paths.link({ mount: m, path: file, newPath: `${file}.l${serial++}` })],
      ["rollback", () => snap && dir !== "/" && h.service.rollbacks.rollback({ mount: m, path: dir, snapshotId: snap.snapshotId })],
    ];
    const [kind, run] = pick(ops);
    try {
      const done = run();
      if (done !== null && done !== false) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
    }
    if (i % 20 === 19) {
      await h.service.gc.collect(objects);
      const needed = new Set<string>();
      readable(ROOT_INODE, undefined, needed);
      for (const pin of h.service.snapshots.list(m)) readable(pin.rootInode, pin.readVersion, needed);
      for (const key of needed) expect(objects.keys.has(key)).toBe(true);
      // And the whole store keeps its invariants: links, bodies, reference counts.
      const store = h.service.store as SqliteStore;
      expect((await fsck(store, store.fullScan())).violations).toEqual([]);
    }
  }
  for (const kind of ["clone", "clone_file", "clone_snapshot", "unlink", "truncate", "retire", "rollback"]) expect(counts.get(kind) ?? 0).toBeGreaterThan(3);

  for (const snap of h.service.snapshots.list(m)) h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId });
  const removeAll = (path: string) => {
    for (const e of h.service.paths.readdir({ mount: m, path, limit: 4096 }).entries) {
      const child = `${path === "/" ? "" : path}/${e.name}`;
      if (e.type === "dir") removeAll(child);
      h.service.paths.remove({ mount: m, path: child });
    }
  };
  removeAll("/");
  await h.service.gc.collect(objects);
  expect(objects.keys.size).toBe(0);
  expect(h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
}, 120_000);
