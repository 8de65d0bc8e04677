import { Database } from "bun:sqlite";
import { afterEach, beforeEach, expect, test } from "bun:test";
import { join } from "node:path";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, blocks512, segmentSizeFor, type BlockRef, type BodyManifest, type PreparedPublish } from "../types/index.ts";
import type { SqliteStore } from "../schema/index.ts";
import { fsck } from "./fsck.ts";
import { openTestService, type ServiceHarness } from "./testing.ts";

// st_blocks counts the bytes blocks hold: a file's hole bytes (of its size, what no block holds)
// are kept with its inode by every command that changes a body, are what a snapshot saw, and are
// computed from the manifests when an older store is opened.

let h: ServiceHarness;
let m: number;
beforeEach(() => {
  h = openTestService();
  m = h.mount;
});
afterEach(() => h.cleanup());

const pub = () => h.service.publisher;
const ns = () => h.service.ns;
const CHUNK = LIMITS.chunkSizeBytes;
const BLOCK = 4096;

function block(prep: PreparedPublish, slot: number, lengthBytes = BLOCK): BlockRef {
  const checksum = blockChecksum(new Uint8Array(lengthBytes), segmentSizeFor(BLOCK));
  return { key: blockKey(prep.keyPrefix, 0, slot), offsetInChunk: slot * BLOCK, lengthBytes, objectOffset: 0, checksum };
}

function manifest(sizeBytes: number, blocks: BlockRef[]): BodyManifest {
  return {
    summary: { sizeBytes, chunkSizeBytes: CHUNK, blockSizeBytes: BLOCK, chunkCount: Math.ceil(sizeBytes / CHUNK), digest: "", producer: "test", contentType: "" },
    chunks: blocks.length > 0 ? [{ chunkIndex: 0, blocks }] : [],
  };
}

/** Publishes "f" with blocks in `slots` (the last one `tailBytes` long) over a body of `sizeBytes`. */
function publish(sizeBytes: number, slots: number[], tailBytes = BLOCK, ifGeneration = 0) {
  const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "f", blockSizeBytes: BLOCK });
  const blocks = slots.map((slot, i) => block(prep, slot, i === slots.length - 1 ? tailBytes : BLOCK));
  return pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: manifest(sizeBytes, blocks), replace: true, ifGeneration, patch: true });
}

const stat = () => ns().lookup({ mount: m, parent: ROOT_INODE, name: "f" });

test("a publish with holes, a truncate that grows or cuts, a dense rewrite: hole bytes follow the body", async () => {
  // One byte at 40 KiB: ten blocks' worth of hole, then a block of 1 byte.
  const sparse = publish(10 * BLOCK + 1, [10], 1);
  expect(sparse.holeBytes).toBe(10 * BLOCK);
  expect(blocks512(sparse)).toBe(1);
  expect(stat().holeBytes).toBe(10 * BLOCK);

  // Growing adds hole; cutting inside the hole removes the block past the cut and keeps the rest as hole.
  const grown = ns().setattr({ mount: m, inode: sparse.inode, changes: { sizeBytes: 1 << 20 } });
  expect(grown.holeBytes).toBe((1 << 20) - 1);
  const cut = ns().setattr({ mount: m, inode: sparse.inode, changes: { sizeBytes: 5 * BLOCK } });
  expect(cut.holeBytes).toBe(5 * BLOCK);
  expect(blocks512(cut)).toBe(0);

  // A body every byte of which a block holds has none.
  const dense = publish(3 * BLOCK, [0, 1, 2], BLOCK, cut.generation);
  expect(dense.holeBytes).toBe(0);
  expect(blocks512(dense)).toBe(24);
  // A block cut by a truncate holds only what is left of it.
  const half = ns().setattr({ mount: m, inode: dense.inode, changes: { sizeBytes: 2 * BLOCK + 100 } });
  expect(half.holeBytes).toBe(0);
  expect(blocks512(half)).toBe(Math.ceil((2 * BLOCK + 100) / 512));

  // fsck agrees with every count kept, and names one that disagrees with the blocks.
  ns().setattr({ mount: m, inode: half.inode, changes: { sizeBytes: 9 * BLOCK } });
  const store = h.service.store as SqliteStore;
  expect((await fsck(store, store.fullScan())).violations).toEqual([]);
  h.service.close();
  const db = new Database(join(h.dir, "meta.db"));
  db.run("UPDATE inode_current SET hole_bytes = 0 WHERE inode = ?", [half.inode]);
  db.close();
  const reopened = h.reopen().store as SqliteStore;
  const violations = (await fsck(reopened, reopened.fullScan())).violations;
  expect(violations.map((v) => [v.kind, v.message])).toEqual([["body-bad-summary", `file ${half.inode}: counts 0 hole bytes, its blocks leave ${9 * BLOCK - (2 * BLOCK + 100)}`]]);
});

test("a snapshot keeps the hole bytes it saw; a new file and a chmod keep theirs", () => {
  const sparse = publish(8 * BLOCK, [0]);
  const snap = h.service.snapshots.create({ mount: m });
  publish(8 * BLOCK, [0, 1, 2, 3, 4, 5, 6, 7], BLOCK, sparse.generation);
  expect(stat().holeBytes).toBe(0);
  expect(ns().getattr({ mount: m, inode: sparse.inode, at: snap.readVersion }).holeBytes).toBe(7 * BLOCK);
  const chmod = ns().setattr({ mount: m, inode: sparse.inode, changes: { sizeBytes: 64 * BLOCK } });
  expect(ns().setattr({ mount: m, inode: sparse.inode, changes: { mode: 0o600 } }).holeBytes).toBe(chmod.holeBytes);
  expect(ns().create({ mount: m, parent: ROOT_INODE, name: "new" }).holeBytes).toBe(0);
});

test("opening a version 6 store counts the hole bytes of every file from its manifests", () => {
  const sparse = publish(10 * BLOCK + 1, [10], 1);
  ns().mkdir({ mount: m, parent: ROOT_INODE, name: "d" });
  const other = ns().create({ mount: m, parent: ROOT_INODE, name: "grown" });
  ns().setattr({ mount: m, inode: other.inode, changes: { sizeBytes: 3 * BLOCK } });
  h.service.close();
  // As a version 6 store was: no column (every body read as dense).
  const db = new Database(join(h.dir, "meta.db"));
  db.run("ALTER TABLE inode_current DROP COLUMN hole_bytes");
  db.run("UPDATE system SET int_value = 6 WHERE name = 'schema_version'");
  db.close();
  h.reopen();
  expect(ns().getattr({ mount: m, inode: sparse.inode }).holeBytes).toBe(10 * BLOCK);
  expect(ns().getattr({ mount: m, inode: other.inode }).holeBytes).toBe(3 * BLOCK);
  expect(ns().lookup({ mount: m, parent: ROOT_INODE, name: "d" }).holeBytes).toBe(0);
});
