import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor, type BlockRef, type BodyManifest, type ChunkManifest, type InodeAttrs, type PreparedPublish } from "../types/index.ts";
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

/** Block `slot` as generation `generation` of file "f" uploaded it. */
function bodyBlock(generation: number, slot: number): BlockRef {
  const inode = h.service.ns.lookup({ mount: m, parent: ROOT_INODE, name: "f" }).inode;
  const body = pub().bodyManifest({ mount: m, inode });
  const key = blockKey(`blocks/${m}/${inode}/${generation}`, 0, slot);
  return body.chunks.flatMap((c) => c.blocks).find((b) => b.key === key) ?? { key, offsetInChunk: slot * BLOCK, lengthBytes: BLOCK, objectOffset: 0 };
}
