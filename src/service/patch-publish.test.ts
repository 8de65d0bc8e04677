import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, blocks512, segmentSizeFor, type BlockRef, type BodyManifest, type ChunkManifest, type InodeAttrs, type PreparedPublish } from "../types/index.ts";
import type { SqliteStore } from "../schema/index.ts";
import { fsck } from "./fsck.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

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

function fresh(prep: PreparedPublish, slot: number, lengthBytes = BLOCK): BlockRef {
  const checksum = blockChecksum(new Uint8Array(lengthBytes), segmentSizeFor(BLOCK));
  return { key: blockKey(prep.keyPrefix, 0, slot), offsetInChunk: slot * BLOCK, lengthBytes, objectOffset: 0, checksum };
}

function manifest(sizeBytes: number, blocks: BlockRef[]): BodyManifest {
  const chunks: ChunkManifest[] = blocks.length > 0 ? [{ chunkIndex: 0, blocks }] : [];
  return { summary: { sizeBytes, chunkSizeBytes: CHUNK, blockSizeBytes: BLOCK, chunkCount: Math.ceil(sizeBytes / CHUNK), digest: "", producer: "test", contentType: "" }, chunks };
}

/** A file "f" of `slots` full blocks. */
function publishBase(slots: number) {
  const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "f", blockSizeBytes: BLOCK });
  const blocks = Array.from({ length: slots }, (_, i) => fresh(prep, i));
  const attrs = pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: manifest(slots * BLOCK, blocks) });
  return { attrs, blocks };
}

function patch(ifGeneration: number, build: (prep: PreparedPublish) => BodyManifest) {
  const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "f", blockSizeBytes: BLOCK });
  return pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: build(prep), replace: true, ifGeneration, patch: true });
}

const queued = () => h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 100).map((r) => r.objectKey).sort();

describe("patch publish", () => {
  test("a patch shares the base's untouched blocks; only the replaced one goes to GC", async () => {
    const { attrs, blocks } = publishBase(4);
    const next = patch(attrs.generation, (prep) => manifest(4 * BLOCK, [blocks[0]!, fresh(prep, 1), blocks[2]!, blocks[3]!]));
    expect(next.generation).toBeGreaterThan(attrs.generation);
    expect(queued()).toEqual([blocks[1]!.key]);
    const plan = pub().readPlan({ mount: m, inode: attrs.inode, offsetBytes: 0, lengthBytes: 4 * BLOCK });
    expect(plan.ranges.map((r) => r.key)).toEqual([blocks[0]!.key, blockKey(`blocks/${m}/${attrs.inode}/${next.generation}`, 0, 1), blocks[2]!.key, blocks[3]!.key]);
    // A second patch on top still shares the first generation's blocks, and frees what it replaced.
    patch(next.generation, (prep) => manifest(3 * BLOCK, [fresh(prep, 0), bodyBlock(next.generation, 1), blocks[2]!]));
    expect(queued()).toEqual([blocks[0]!.key, blocks[1]!.key, blocks[3]!.key].sort());
    // Shared blocks hold one reference each, from the one generation naming them: fsck agrees.
    expect(h.service.store.blockRefCount(m, blocks[2]!.key)).toBe(1);
    const store = h.service.store as SqliteStore;
    expect((await fsck(store, store.fullScan())).violations).toEqual([]);
  });

  test("append, truncate and holes: blocks sit in slots, a tail may be cut shorter", () => {
    const { attrs, blocks } = publishBase(2);
    const grown = patch(attrs.generation, (prep) => manifest(4 * BLOCK + 10, [blocks[0]!, blocks[1]!, fresh(prep, 4, 10)]));
    expect(grown.sizeBytes).toBe(4 * BLOCK + 10);
    const plan = pub().readPlan({ mount: m, inode: attrs.inode, offsetBytes: 0, lengthBytes: 10 * BLOCK });
    expect(plan.ranges.map((r) => r.outputOffset)).toEqual([0, BLOCK, 4 * BLOCK]);
    const cut = patch(grown.generation, () => manifest(BLOCK + 100, [blocks[0]!, { ...blocks[1]!, lengthBytes: 100 }]));
    expect(cut.sizeBytes).toBe(BLOCK + 100);
    expect(queued()).toEqual([bodyBlock(grown.generation, 4).key]);
  });

  test("a base that moved is ESTALE; blocks not the base's are EINVAL naming the problem", () => {
    const { attrs, blocks } = publishBase(2);
    const next = patch(attrs.generation, (prep) => manifest(2 * BLOCK, [fresh(prep, 0), blocks[1]!]));
    // Patching the old generation again: someone else published meanwhile.
    expect(errnoOf(() => patch(attrs.generation, (prep) => manifest(2 * BLOCK, [blocks[0]!, fresh(prep, 1)])))).toBe("ESTALE");
    // A block the base no longer names (replaced by the last patch).
    const stale = () => patch(next.generation, () => manifest(2 * BLOCK, [blocks[0]!, blocks[1]!]));
    expect(errnoOf(stale)).toBe("EINVAL");
    expect(() => stale()).toThrow(/neither this publish's block nor one of inode/);
    // Another file's block.
    const other = pub().prepare({ mount: m, parent: ROOT_INODE, name: "g", blockSizeBytes: BLOCK });
    const otherAttrs = pub().publish({ mount: m, prepareId: other.prepareId, parent: ROOT_INODE, name: "g", manifest: manifest(BLOCK, [fresh(other, 0)]) });
    expect(otherAttrs.inode).not.toBe(attrs.inode);
    expect(errnoOf(() => patch(next.generation, () => manifest(2 * BLOCK, [fresh(other, 0), blocks[1]!])))).toBe("EINVAL");
    // A shared block moved to another slot, or grown.
    expect(errnoOf(() => patch(next.generation, (prep) => manifest(2 * BLOCK, [fresh(prep, 0), { ...blocks[1]!, offsetInChunk: 0 }])))).toBe("EINVAL");
    // A shared block whose checksums differ from the base's (other CRCs, none, or an extra field).
    const base = blocks[1]!.checksum!;
    for (const checksum of [{ ...base, crc32: "0".repeat(base.crc32.length) }, undefined, { ...base, note: "x" }]) {
      const changed = () => patch(next.generation, (prep) => manifest(2 * BLOCK, [fresh(prep, 0), { ...blocks[1]!, checksum } as BlockRef]));
      expect(changed).toThrow(/with a checksum other than the base's/);
    }
    // The same checksum in another key order is the same.
    const reordered = { crc32: base.crc32, objectSizeBytes: base.objectSizeBytes, segmentSizeBytes: base.segmentSizeBytes };
    expect(patch(next.generation, (prep) => manifest(2 * BLOCK, [fresh(prep, 0), { ...blocks[1]!, checksum: reordered }])).sizeBytes).toBe(2 * BLOCK);
    // Without the generation it patched.
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "f", blockSizeBytes: BLOCK });
    expect(errnoOf(() => pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: manifest(BLOCK, [fresh(prep, 0)]), replace: true, patch: true }))).toBe("EINVAL");
  });

  test("a publish can prepare the next one in the same command", () => {
    const { attrs, blocks } = publishBase(2);
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "f", blockSizeBytes: BLOCK });
    const args = { mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", replace: true, ifGeneration: attrs.generation, patch: true, prepareNextExpiryMs: 60_000 };
    const first = pub().publish({ ...args, manifest: manifest(2 * BLOCK, [fresh(prep, 0), blocks[1]!]) }) as InodeAttrs & { next?: PreparedPublish };
    const next = first.next!;
    expect(next.inode).toBe(attrs.inode);
    expect(next.generation).toBeGreaterThan(first.generation);
    const second = pub().publish({ ...args, prepareId: next.prepareId, ifGeneration: first.generation, prepareNextExpiryMs: undefined, manifest: manifest(2 * BLOCK, [fresh(prep, 0), fresh(next, 1)]) });
    expect(second.generation).toBe(next.generation);
  });

  test("a prepare by inode serves a file with no name now, and its publish once a name holds it again", () => {
    const { attrs, blocks } = publishBase(2);
    const prep = pub().prepareInode({ mount: m, inode: attrs.inode, expiryMs: 60_000 });
    expect(prep.keyPrefix).toBe(`blocks/${m}/${attrs.inode}/${prep.generation}`);
    const next = pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: manifest(2 * BLOCK, [fresh(prep, 0), blocks[1]!]), replace: true, ifGeneration: attrs.generation, patch: true });
    expect(next.generation).toBe(prep.generation);
    expect(next.inode).toBe(attrs.inode);
    expect(errnoOf(() => pub().prepareInode({ mount: m, inode: ROOT_INODE }))).toBe("EISDIR");
  });

  test("body_manifest returns the stored blocks of the current generation", () => {
    const { attrs, blocks } = publishBase(3);
    const body = pub().bodyManifest({ mount: m, inode: attrs.inode });
    expect(body.generation).toBe(attrs.generation);
    expect(body.chunks[0]!.blocks.map((b) => b.key)).toEqual(blocks.map((b) => b.key));
    expect(errnoOf(() => pub().bodyManifest({ mount: m, inode: attrs.inode, generation: attrs.generation - 1 }))).toBe("ESTALE");
  });
});

describe("hole bytes", () => {
  // st_blocks counts the bytes blocks hold: a file's hole bytes (of its size, what no block holds)
  // are kept with its inode by every command that changes a body, are what a snapshot saw, and are
  // computed from the manifests when an older store is opened.

  /** Publishes "f" with blocks in `slots` (the last one `tailBytes` long) over a body of `sizeBytes`. */
  const publishSparse = (sizeBytes: number, slots: number[], tailBytes = BLOCK, ifGeneration = 0) =>
    patch(ifGeneration, (prep) => manifest(sizeBytes, slots.map((slot, i) => fresh(prep, slot, i === slots.length - 1 ? tailBytes : BLOCK))));

  const stat = () => ns().lookup({ mount: m, parent: ROOT_INODE, name: "f" });

  test("a publish with holes, a truncate that grows or cuts, a dense rewrite: hole bytes follow the body", async () => {
    // One byte at 40 KiB: ten blocks' worth of hole, then a block of 1 byte.
    const sparse = publishSparse(10 * BLOCK + 1, [10], 1);
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
    const dense = publishSparse(3 * BLOCK, [0, 1, 2], BLOCK, cut.generation);
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
    const sparse = publishSparse(8 * BLOCK, [0]);
    const snap = h.service.snapshots.create({ mount: m });
    publishSparse(8 * BLOCK, [0, 1, 2, 3, 4, 5, 6, 7], BLOCK, sparse.generation);
    expect(stat().holeBytes).toBe(0);
    expect(ns().getattr({ mount: m, inode: sparse.inode, at: snap.readVersion }).holeBytes).toBe(7 * BLOCK);
    const chmod = ns().setattr({ mount: m, inode: sparse.inode, changes: { sizeBytes: 64 * BLOCK } });
    expect(ns().setattr({ mount: m, inode: sparse.inode, changes: { mode: 0o600 } }).holeBytes).toBe(chmod.holeBytes);
    expect(ns().create({ mount: m, parent: ROOT_INODE, name: "new" }).holeBytes).toBe(0);
  });

  test("opening a version 6 store counts the hole bytes of every file from its manifests", () => {
    const sparse = publishSparse(10 * BLOCK + 1, [10], 1);
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
});

/** Block `slot` as generation `generation` of file "f" uploaded it. */
function bodyBlock(generation: number, slot: number): BlockRef {
  const inode = h.service.ns.lookup({ mount: m, parent: ROOT_INODE, name: "f" }).inode;
  const body = pub().bodyManifest({ mount: m, inode });
  const key = blockKey(`blocks/${m}/${inode}/${generation}`, 0, slot);
  return body.chunks.flatMap((c) => c.blocks).find((b) => b.key === key) ?? { key, offsetInChunk: slot * BLOCK, lengthBytes: BLOCK, objectOffset: 0 };
}
