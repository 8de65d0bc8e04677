import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor, type BodyManifest, type PreparedPublish } from "../types/index.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

let h: ServiceHarness;
let m: number;
let clockMs = 1_000_000;
beforeEach(() => {
  h = openTestService({ nowMs: () => clockMs });
  m = h.mount;
});
afterEach(() => h.cleanup());

const pub = () => h.service.publisher;
const CHUNK = LIMITS.chunkSizeBytes;

/** A manifest that tiles `sizeBytes` with blocks of the prepared block size. */
function manifestFor(prep: PreparedPublish, sizeBytes: number): BodyManifest {
  const chunks = [];
  for (let c = 0; c * CHUNK < sizeBytes || (c === 0 && sizeBytes > 0); c++) {
    const chunkBytes = Math.min(CHUNK, sizeBytes - c * CHUNK);
    const blocks = [];
    for (let b = 0, off = 0; off < chunkBytes; b++, off += prep.blockSizeBytes) {
      const lengthBytes = Math.min(prep.blockSizeBytes, chunkBytes - off);
      const checksum = blockChecksum(new Uint8Array(lengthBytes), segmentSizeFor(prep.blockSizeBytes));
      blocks.push({ key: blockKey(prep.keyPrefix, c, b), offsetInChunk: off, lengthBytes, objectOffset: 0, checksum });
    }
    chunks.push({ chunkIndex: c, blocks });
  }
  return {
    summary: { sizeBytes, chunkSizeBytes: CHUNK, blockSizeBytes: prep.blockSizeBytes, chunkCount: chunks.length, digest: "", producer: "test", contentType: "" },
    chunks,
  };
}

function publishNew(name: string, sizeBytes: number, blockSizeBytes = 1024 * 1024) {
  const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name, blockSizeBytes });
  return { prep, attrs: pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name, manifest: manifestFor(prep, sizeBytes) }) };
}

describe("prepare and publish", () => {
  test("a published file appears with its size and generation; nothing shows before", () => {
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "ckpt" });
    expect(prep.keyPrefix).toBe(`blocks/${m}/${prep.inode}/${prep.generation}`);
    expect(errnoOf(() => h.service.ns.lookup({ mount: m, parent: ROOT_INODE, name: "ckpt" }))).toBe("ENOENT");
    const attrs = pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "ckpt", manifest: manifestFor(prep, 10 * 1024 * 1024) });
    expect(attrs).toMatchObject({ inode: prep.inode, generation: prep.generation, sizeBytes: 10 * 1024 * 1024, type: "file" });
    expect(h.service.ns.lookup({ mount: m, parent: ROOT_INODE, name: "ckpt" })).toEqual(attrs);
    expect(errnoOf(() => pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "again", manifest: manifestFor(prep, 1) }))).toBe("ENOENT");
  });

  test("a publish carries a setattr made while its bytes were unpublished, for a new file and a replaced one", () => {
    const changes = { mode: 0o640, uid: 1234, gid: 5678, atimeNs: 1_400_000_000_000_000_000n, mtimeNs: 1_500_000_000_123_456_789n };
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "tarred" });
    const made = pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "tarred", manifest: manifestFor(prep, 10), mode: 0o600, changes });
    expect(made).toMatchObject({ ...changes, sizeBytes: 10 });
    const again = pub().prepare({ mount: m, parent: ROOT_INODE, name: "tarred" });
    const replaced = pub().publish({ mount: m, prepareId: again.prepareId, parent: ROOT_INODE, name: "tarred", manifest: manifestFor(again, 20), replace: true, changes: { mode: 0o400 } });
    // Only what the changes name moves; the rest is the file's, and a written body's mtime is the publish's.
    expect(replaced).toMatchObject({ mode: 0o400, uid: 1234, gid: 5678, atimeNs: changes.atimeNs, sizeBytes: 20 });
    expect(replaced.mtimeNs).not.toBe(changes.mtimeNs);
    expect(h.service.ns.getattr({ mount: m, inode: replaced.inode })).toEqual(replaced);
    // Checked as a setattr's are: a bad mode publishes nothing.
    const bad = pub().prepare({ mount: m, parent: ROOT_INODE, name: "tarred" });
    expect(errnoOf(() => pub().publish({ mount: m, prepareId: bad.prepareId, parent: ROOT_INODE, name: "tarred", manifest: manifestFor(bad, 30), replace: true, changes: { mode: 0o10000 } }))).toBe("EINVAL");
    expect(h.service.ns.getattr({ mount: m, inode: replaced.inode }).sizeBytes).toBe(20);
  });

  test("empty, one-block, block+1 and multi-chunk bodies plan exactly", () => {
    const block = 1024 * 1024;
    for (const [name, size] of [["empty", 0], ["one", block], ["oneplus", block + 1], ["chunks", 2 * CHUNK + 5]] as const) {
      const { attrs } = publishNew(name, size, block);
      const plan = pub().readPlan({ mount: m, inode: attrs.inode, offsetBytes: 0, lengthBytes: size + 100 });
      expect(plan.lengthBytes).toBe(size);
      expect(plan.ranges.reduce((n, r) => n + r.lengthBytes, 0)).toBe(size);
    }
    const { attrs } = publishNew("mid", 3 * block, block);
    const plan = pub().readPlan({ mount: m, inode: attrs.inode, offsetBytes: block - 10, lengthBytes: 20 });
    expect(plan.ranges).toMatchObject([
      { key: expect.stringMatching(/\/0\/0$/), objectOffset: block - 10, lengthBytes: 10, outputOffset: 0 },
      { key: expect.stringMatching(/\/0\/1$/), objectOffset: 0, lengthBytes: 10, outputOffset: 10 },
    ]);
  });

  test("replace keeps the inode, moves the generation, and queues the old blocks", () => {
    const { attrs: first } = publishNew("f", 3000, 4096);
    expect(errnoOf(() => publishNew("f", 10, 4096))).toBe("EEXIST");
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "f", blockSizeBytes: 4096 });
    expect(prep.inode).toBe(first.inode);
    const second = pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: manifestFor(prep, 5000), replace: true });
    expect(second.inode).toBe(first.inode);
    expect(second.generation).toBeGreaterThan(first.generation);
    expect(errnoOf(() => pub().readPlan({ mount: m, inode: first.inode, generation: first.generation, offsetBytes: 0, lengthBytes: 1 }))).toBe("ESTALE");
    const queued = h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 100).map((r) => r.objectKey);
    expect(queued).toEqual([blockKey(`blocks/${m}/${first.inode}/${first.generation}`, 0, 0)]);
  });

  test("ifGeneration guards optimistic writers", () => {
    const { attrs } = publishNew("g", 10, 4096);
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "g", blockSizeBytes: 4096 });
    const args = { mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "g", manifest: manifestFor(prep, 10), replace: true };
    expect(errnoOf(() => pub().publish({ ...args, ifGeneration: attrs.generation + 1 }))).toBe("ESTALE");
    expect(pub().publish({ ...args, ifGeneration: attrs.generation }).generation).toBe(prep.generation);
  });

  test("bad manifests are refused and publish nothing", () => {
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "bad", blockSizeBytes: 4096 });
    const good = manifestFor(prep, 10_000);
    const variants: Array<(x: BodyManifest) => void> = [
      (x) => { x.summary.sizeBytes = 9_999; },
      (x) => { x.chunks[0]!.blocks[0]!.key = "blocks/other/file/0/0"; },
      (x) => { x.chunks[0]!.blocks[1]!.offsetInChunk += 1; },
      (x) => { x.chunks[0]!.blocks[0]!.lengthBytes = 0; },
      (x) => { x.summary.chunkSizeBytes = 1024; },
      (x) => { x.chunks = []; },
    ];
    for (const change of variants) {
      const manifest = structuredClone(good);
      change(manifest);
      expect(errnoOf(() => pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "bad", manifest }))).toBe("EINVAL");
    }
    expect(errnoOf(() => h.service.ns.lookup({ mount: m, parent: ROOT_INODE, name: "bad" }))).toBe("ENOENT");
    expect(errnoOf(() => pub().prepare({ mount: m, parent: ROOT_INODE, name: "x", blockSizeBytes: 1000 }))).toBe("EINVAL");
    expect(errnoOf(() => pub().prepare({ mount: m, parent: ROOT_INODE, name: "x", expiryMs: 0 }))).toBe("EINVAL");
  });

  test("a body over the block limit is EFBIG before anything commits", () => {
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "huge", blockSizeBytes: 4096 });
    const manifest = manifestFor(prep, (LIMITS.bodyMaxBlocks + 1) * 4096);
    expect(errnoOf(() => pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "huge", manifest }))).toBe("EFBIG");
    const fits = manifestFor(prep, LIMITS.bodyMaxBlocks * 4096);
    const attrs = pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "huge", manifest: fits });
    // The largest body can still be removed: its GC records fit one command.
    h.service.ns.unlink({ mount: m, parent: ROOT_INODE, name: "huge" });
    expect(h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, LIMITS.bodyMaxBlocks + 1).length).toBe(LIMITS.bodyMaxBlocks);
    expect(attrs.sizeBytes).toBe(LIMITS.bodyMaxBlocks * 4096);
  });

  test("an expired prepare cannot publish", () => {
    const prep = pub().prepare({ mount: m, parent: ROOT_INODE, name: "late", expiryMs: 1000 });
    clockMs += 2000;
    expect(errnoOf(() => pub().publish({ mount: m, prepareId: prep.prepareId, parent: ROOT_INODE, name: "late", manifest: manifestFor(prep, 1) }))).toBe("ESTALE");
  });

  test("truncate clips blocks, frees the ones past the end, and plans the hole as zeros", () => {
    const { attrs } = publishNew("t", 10_000, 4096);
    const cut = h.service.ns.setattr({ mount: m, inode: attrs.inode, changes: { sizeBytes: 5000 } });
    const plan = pub().readPlan({ mount: m, inode: attrs.inode, offsetBytes: 0, lengthBytes: 10_000 });
    expect(plan.lengthBytes).toBe(5000);
    expect(plan.ranges.map((r) => r.lengthBytes)).toEqual([4096, 904]);
    const freed = h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 100).map((r) => r.objectKey);
    expect(freed).toEqual([blockKey(`blocks/${m}/${attrs.inode}/${attrs.generation}`, 0, 2)]);
    h.service.ns.setattr({ mount: m, inode: attrs.inode, changes: { sizeBytes: 8000 } });
    const grown = pub().readPlan({ mount: m, inode: attrs.inode, offsetBytes: 0, lengthBytes: 10_000 });
    expect(grown.lengthBytes).toBe(8000);
    expect(grown.ranges.reduce((n, r) => n + r.lengthBytes, 0)).toBe(5000);
    expect(cut.generation).not.toBe(attrs.generation);
  });

  test("unlink of a published file queues all its blocks", () => {
    const { attrs } = publishNew("u", 3 * 4096, 4096);
    h.service.ns.unlink({ mount: m, parent: ROOT_INODE, name: "u" });
    expect(h.service.store.scanGc(m, Number.MAX_SAFE_INTEGER, 100).length).toBe(3);
    expect(h.service.store.scanManifests(m, attrs.inode, attrs.generation)).toEqual([]);
  });
});
