import { describe, expect, test } from "bun:test";
import type { BlockRef, PreparedPublish } from "../types/index.ts";
import { addRange, clipRanges, coversSlot, emptyBase, freshBlock, mergeSlot, patchBase, patchManifest } from "./body-patch.ts";

const CHUNK = 64 * 1024 * 1024;
const BLOCK = 256 * 1024;
const prepared: PreparedPublish = { prepareId: "p", mount: 1, inode: 7, generation: 9, blockSizeBytes: BLOCK, chunkSizeBytes: CHUNK, keyPrefix: "blocks/1/7/9", expiresAtMs: 0 };

/** A base of `sizeBytes` in BLOCK blocks, keys blocks/1/7/3/<chunk>/<block>. */
function base(sizeBytes: number) {
  const chunks = [];
  for (let at = 0; at < sizeBytes; at += BLOCK) {
    const chunkIndex = Math.floor(at / CHUNK);
    const offsetInChunk = at % CHUNK;
    const block: BlockRef = { key: `blocks/1/7/3/${chunkIndex}/${offsetInChunk / BLOCK}`, offsetInChunk, lengthBytes: Math.min(BLOCK, sizeBytes - at), objectOffset: 0 };
    if (chunks[chunkIndex]) chunks[chunkIndex].blocks.push(block);
    else chunks[chunkIndex] = { chunkIndex, blocks: [block] };
  }
  return patchBase({ generation: 3, sizeBytes, summary: { sizeBytes, chunkSizeBytes: CHUNK, blockSizeBytes: BLOCK, chunkCount: chunks.length, digest: "", producer: "", contentType: "" }, chunks }, CHUNK, 4096);
}

const keys = (m: ReturnType<typeof patchManifest>) => m.chunks.flatMap((c) => c.blocks.map((b) => `${c.chunkIndex}:${b.offsetInChunk}+${b.lengthBytes}:${b.key}`));

describe("patchManifest", () => {
  test("a write in the middle replaces one block and shares the others", () => {
    const b = base(4 * BLOCK);
    const fresh = freshBlock(prepared, BLOCK, 2, new Uint8Array(BLOCK));
    const m = patchManifest(b, { sizeBytes: 4 * BLOCK, baseValidBytes: 4 * BLOCK, replaced: new Map([[2, fresh]]), producer: "t" });
    expect(keys(m)).toEqual([`0:0+${BLOCK}:blocks/1/7/3/0/0`, `0:${BLOCK}+${BLOCK}:blocks/1/7/3/0/1`, `0:${2 * BLOCK}+${BLOCK}:blocks/1/7/9/0/2`, `0:${3 * BLOCK}+${BLOCK}:blocks/1/7/3/0/3`]);
    expect(m.summary).toMatchObject({ sizeBytes: 4 * BLOCK, blockSizeBytes: BLOCK, chunkCount: 1 });
  });

  test("append past a chunk, truncate, and a truncate-then-grow hole", () => {
    const b = base(CHUNK);
    const tail = freshBlock(prepared, BLOCK, CHUNK / BLOCK, new Uint8Array(10));
    const grown = patchManifest(b, { sizeBytes: CHUNK + 10, baseValidBytes: CHUNK, replaced: new Map([[CHUNK / BLOCK, tail]]), producer: "t" });
    expect(grown.chunks.map((c) => c.chunkIndex)).toEqual([0, 1]);
    expect(grown.chunks[1]!.blocks).toEqual([{ ...tail, offsetInChunk: 0 }]);
    expect(tail.key).toBe("blocks/1/7/9/1/0");
    // Cut to 1.5 blocks, then grown to 3: the second block's tail and the third slot are zeros.
    const cut = patchManifest(b, { sizeBytes: 3 * BLOCK, baseValidBytes: BLOCK + BLOCK / 2, replaced: new Map(), producer: "t" });
    expect(keys(cut)).toEqual([`0:0+${BLOCK}:blocks/1/7/3/0/0`, `0:${BLOCK}+${BLOCK / 2}:blocks/1/7/3/0/1`]);
    const empty = patchManifest(b, { sizeBytes: 0, baseValidBytes: 0, replaced: new Map(), producer: "t" });
    expect(empty.chunks).toEqual([]);
    expect(empty.summary.chunkCount).toBe(0);
  });

  test("an empty base takes the mount's block size; a stored one keeps its own", () => {
    expect(emptyBase(5, CHUNK, BLOCK).blockSizeBytes).toBe(BLOCK);
    expect(patchBase({ generation: 0, sizeBytes: 0, summary: null, chunks: [] }, CHUNK, BLOCK).blockSizeBytes).toBe(BLOCK);
    expect(base(10).blockSizeBytes).toBe(BLOCK);
  });
});

describe("slot ranges", () => {
  test("ranges merge, clip, and cover", () => {
    let r: Array<[number, number]> = [];
    r = addRange(r, 10, 20);
    r = addRange(r, 30, 40);
    expect(r).toEqual([[10, 20], [30, 40]]);
    r = addRange(r, 20, 30);
    expect(r).toEqual([[10, 40]]);
    expect(coversSlot(addRange(r, 0, 10), 40)).toBe(true);
    expect(coversSlot(r, 40)).toBe(false);
    expect(clipRanges([[0, 5], [10, 20]], 12)).toEqual([[0, 5], [10, 12]]);
  });

  test("mergeSlot lays dirty bytes over the underlying ones", () => {
    const bytes = new Uint8Array(8).fill(9);
    const under = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect([...mergeSlot(8, bytes, [[1, 3], [7, 8]], under)]).toEqual([1, 9, 9, 4, 5, 6, 0, 9]);
    expect([...mergeSlot(4, bytes, [[0, 2]], null)]).toEqual([9, 9, 0, 0]);
  });
});
