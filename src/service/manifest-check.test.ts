import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor, type BlockRef, type BodyManifest, type PreparedPublish } from "../types/index.ts";
import { validateManifest } from "./manifest-check.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

// Publish accepts only the block keys the server handed out (the prepare's mount, inode and
// generation, then chunk and block index), each with a well-formed checksum.

const BLOCK = 64 * 1024;
let h: ServiceHarness;
beforeEach(() => (h = openTestService()));
afterEach(() => h.cleanup());

function manifestOf(prep: PreparedPublish, blocks: number, edit: (b: BlockRef, i: number) => BlockRef = (b) => b): BodyManifest {
  const list = Array.from({ length: blocks }, (_, i) =>
    edit({ key: blockKey(prep.keyPrefix, 0, i), offsetInChunk: i * BLOCK, lengthBytes: BLOCK, objectOffset: 0, checksum: blockChecksum(new Uint8Array(BLOCK), segmentSizeFor(BLOCK)) }, i),
  );
  return {
    summary: { sizeBytes: blocks * BLOCK, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: BLOCK, chunkCount: 1, digest: "", producer: "t", contentType: "" },
    chunks: [{ chunkIndex: 0, blocks: list }],
  };
}

const prepare = (name: string) => h.service.publisher.prepare({ mount: h.mount, parent: ROOT_INODE, name, blockSizeBytes: BLOCK });

describe("publish checks block keys and checksums", () => {
  test("the keys the server generated, with checksums, publish", () => {
    const prep = prepare("ok");
    const attrs = h.service.publisher.publish({ mount: h.mount, prepareId: prep.prepareId, parent: ROOT_INODE, name: "ok", manifest: manifestOf(prep, 3) });
    expect(attrs.sizeBytes).toBe(3 * BLOCK);
  });

  test("'..', another inode's or generation's key, a shuffled index or a foreign prefix is EINVAL naming the expected key", () => {
    const prep = prepare("f");
    const other = prepare("g");
    const bad: Array<(b: BlockRef, i: number) => BlockRef> = [
      (b, i) => (i === 1 ? { ...b, key: `${prep.keyPrefix}/0/../../../../x/0/1` } : b),
      (b, i) => (i === 1 ? { ...b, key: `${prep.keyPrefix}/0/1/..` } : b),
      (b, i) => (i === 1 ? { ...b, key: blockKey(other.keyPrefix, 0, 1) } : b),
      (b, i) => (i === 1 ? { ...b, key: blockKey(prep.keyPrefix, 0, 2) } : b),
      (b, i) => (i === 1 ? { ...b, key: blockKey(prep.keyPrefix, 1, 1) } : b),
      (b, i) => (i === 1 ? { ...b, key: `${prep.keyPrefix}/0/01` } : b),
      (b, i) => (i === 1 ? { ...b, key: "blocks/99/98/97/0/1" } : b),
      (b, i) => (i === 1 ? { ...b, key: "nokv-store-id" } : b),
    ];
    for (const edit of bad) {
      const manifest = manifestOf(prep, 3, edit);
      expect(errnoOf(() => validateManifest(manifest, prep.keyPrefix))).toBe("EINVAL");
      expect(() => validateManifest(manifest, prep.keyPrefix)).toThrow(`expected '${blockKey(prep.keyPrefix, 0, 1)}'`);
    }
    expect(errnoOf(() => h.service.publisher.publish({ mount: h.mount, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: manifestOf(prep, 3, bad[0]!) }))).toBe("EINVAL");
  });

  test("a block without a checksum, or with a malformed one, is EINVAL", () => {
    const prep = prepare("c");
    const good = blockChecksum(new Uint8Array(BLOCK), segmentSizeFor(BLOCK));
    const cases: Array<[Partial<BlockRef> & Record<string, unknown>, string]> = [
      [{ checksum: undefined }, "no checksum"],
      [{ checksum: { ...good, crc32: good.crc32.slice(8) } }, "CRC-32 values"],
      [{ checksum: { ...good, crc32: good.crc32.toUpperCase() } }, "CRC-32 values"],
      [{ checksum: { ...good, objectSizeBytes: BLOCK + 1 } }, `covers ${BLOCK + 1} bytes`],
      [{ checksum: { ...good, segmentSizeBytes: 512 } }, "segment size 512"],
      [{ objectOffset: 4 }, "object offset 4"],
    ];
    for (const [patch, message] of cases) {
      const manifest = manifestOf(prep, 2, (b, i) => (i === 0 ? ({ ...b, ...patch } as BlockRef) : b));
      expect(() => validateManifest(manifest, prep.keyPrefix)).toThrow(message);
    }
  });
});
