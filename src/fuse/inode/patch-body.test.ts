import { describe, expect, test } from "bun:test";
import { LIMITS, type BodyManifest, type PreparedPublish } from "../../types/index.ts";
import { BufferPools } from "./buffer-pool.ts";
import { CleanBlocks } from "./clean-blocks.ts";
import { PatchBody, type PatchTarget } from "./patch-body.ts";
import type { PatchIo } from "./source.ts";

const BLOCK = LIMITS.fuseWriteBlockBytes;
const pools = () => new BufferPools([BLOCK, LIMITS.fuseWideBlockBytes], 4 * LIMITS.fuseWideBlockBytes);

/** An object store and metad in memory: bodies by generation as plain bytes, puts counted. */
function fakes() {
  const objects = new Map<string, Uint8Array>();
  const bodies = new Map<number, Uint8Array>([[0, new Uint8Array(0)]]);
  let generation = 0;
  let nextGeneration = 10;
  const puts: string[] = [];
  let reads = 0;
  const prepare = async (): Promise<PreparedPublish> => {
    const g = nextGeneration++;
    return { prepareId: `p${g}`, mount: 1, inode: 7, generation: g, blockSizeBytes: BLOCK, chunkSizeBytes: LIMITS.chunkSizeBytes, keyPrefix: `blocks/1/7/${g}`, expiresAtMs: Date.now() + 3_600_000 };
  };
  const materialize = (manifest: BodyManifest): Uint8Array => {
    const out = new Uint8Array(manifest.summary.sizeBytes);
    for (const chunk of manifest.chunks) {
      for (const b of chunk.blocks) out.set(objects.get(b.key)!.subarray(b.objectOffset, b.objectOffset + b.lengthBytes), chunk.chunkIndex * LIMITS.chunkSizeBytes + b.offsetInChunk);
    }
    return out;
  };
  const io: PatchIo = {
    bodyManifest: async () => ({ generation: 0, sizeBytes: 0, summary: null, chunks: [] }),
    prepare,
    publishManifest: async (_p, _n, prepareId, manifest, options) => {
      if (options.ifGeneration !== generation) throw Object.assign(new Error("stale"), { code: "ESTALE" });
      generation = Number(prepareId.slice(1));
      bodies.set(generation, materialize(manifest));
      return { attrs: { generation } as never, next: null };
    },
    putBlock: async (key, bytes) => {
      puts.push(key);
      objects.set(key, bytes.slice());
    },
    getBlock: async (key, lengthBytes) => objects.get(key)!.subarray(0, lengthBytes),
  };
  const target: PatchTarget = {
    inode: 7,
    link: () => ({ parent: 1, name: "f" }),
    readBase: async (offsetBytes, lengthBytes, g) => {
      reads++;
      return bodies.get(g)!.subarray(offsetBytes, offsetBytes + lengthBytes);
    },
  };
  return { io, target, puts, current: () => bodies.get(generation)!, reads: () => reads };
}

async function publish(body: PatchBody, f: ReturnType<typeof fakes>): Promise<void> {
  const built = await body.prepareManifest();
  const { attrs, next } = await f.io.publishManifest(1, "f", built.prepared.prepareId, built.manifest, { ifGeneration: body.generation });
  body.published(built.manifest, attrs.generation, next);
}

describe("PatchBody", () => {
  test("full blocks stream out while written; a later small write puts one block and shares the rest", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    // Flushed before a wide block was written whole: small blocks from here on.
    await body.write(0, new Uint8Array(10));
    await publish(body, f);
    f.puts.length = 0;
    const data = new Uint8Array(8 * BLOCK).map((_, i) => i % 251);
    for (let at = 0; at < data.byteLength; at += 100_000) await body.write(at, data.subarray(at, at + 100_000));
    expect(body.bufferedBytes).toBeLessThan(2 * BLOCK);
    await publish(body, f);
    expect(f.puts.length).toBe(8);
    expect(Buffer.from(f.current()).equals(Buffer.from(data))).toBe(true);
    f.puts.length = 0;
    await body.write(3 * BLOCK + 10, new Uint8Array([1, 2, 3]));
    expect([...(await body.read(3 * BLOCK + 9, 5))]).toEqual([data[3 * BLOCK + 9]!, 1, 2, 3, data[3 * BLOCK + 13]!]);
    await publish(body, f);
    expect(f.puts.length).toBe(1);
    data.set([1, 2, 3], 3 * BLOCK + 10);
    expect(Buffer.from(f.current()).equals(Buffer.from(data))).toBe(true);
  });

  test("truncate then grow reads zeros past the cut; the publish carries both", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    await body.write(0, new Uint8Array(2 * BLOCK + 50).fill(7));
    await publish(body, f);
    await body.truncate(BLOCK + 5);
    await body.truncate(3 * BLOCK);
    await body.write(3 * BLOCK - 1, new Uint8Array([9]));
    const expected = new Uint8Array(3 * BLOCK);
    expected.fill(7, 0, BLOCK + 5);
    expected[3 * BLOCK - 1] = 9;
    expect(Buffer.from(await body.read(0, 4 * BLOCK)).equals(Buffer.from(expected))).toBe(true);
    await publish(body, f);
    expect(Buffer.from(f.current()).equals(Buffer.from(expected))).toBe(true);
  });

  test("a block ends where its bytes do: a grown size and a write far past the end leave holes, counted before the publish", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    await body.write(0, new Uint8Array(4096).fill(3));
    await body.truncate(10 * BLOCK);
    await body.write(6 * BLOCK + 10, new Uint8Array([5]));
    expect(body.holeBytes()).toBe(10 * BLOCK - 4096 - 11);
    const built = await body.prepareManifest();
    expect(built.manifest.chunks[0]!.blocks.map((b) => [b.offsetInChunk, b.lengthBytes])).toEqual([[0, 4096], [6 * BLOCK, 11]]);
    await publish(body, f);
    const expected = new Uint8Array(10 * BLOCK);
    expected.fill(3, 0, 4096);
    expected[6 * BLOCK + 10] = 5;
    expect(Buffer.from(f.current()).equals(Buffer.from(expected))).toBe(true);
    // Over the published base: rewriting inside the short block keeps its length; cutting the file drops it.
    await body.write(100, new Uint8Array([4]));
    expect(body.holeBytes()).toBe(10 * BLOCK - 4096 - 11);
    await body.truncate(2 * BLOCK);
    expect(body.holeBytes()).toBe(2 * BLOCK - 4096);
    await publish(body, f);
    expected[100] = 4;
    expect(Buffer.from(f.current()).equals(Buffer.from(expected.subarray(0, 2 * BLOCK)))).toBe(true);
  });

  test("a block this mount built is rebuilt from memory, not read back", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    await body.write(0, new Uint8Array(5000).fill(1));
    await publish(body, f);
    const readsBefore = f.reads();
    await body.write(100, new Uint8Array([2]));
    await publish(body, f);
    expect(f.reads()).toBe(readsBefore);
    expect(f.current()[100]).toBe(2);
    expect(f.current()[4999]).toBe(1);
  });
});

describe("PatchBody block width", () => {
  const WIDE = LIMITS.fuseWideBlockBytes;
  const pattern = (n: number, seed = 0) => new Uint8Array(n).map((_, i) => (i * 7 + seed) % 253);
  const blockSizes = (manifest: BodyManifest) => manifest.chunks.flatMap((c) => c.blocks.map((b) => b.lengthBytes));

  test("a new file written front to back takes wide blocks, streamed out as they fill", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    const data = pattern(2 * WIDE + 100_000);
    for (let at = 0; at < data.byteLength; at += 1 << 20) await body.write(at, data.subarray(at, at + (1 << 20)));
    // The first two wide blocks left as they filled; only the tail is held.
    expect(body.bufferedBytes).toBeLessThanOrEqual(WIDE);
    await body.drain();
    expect(f.puts.length).toBe(2);
    expect(Buffer.from(await body.read(WIDE - 5, 10)).equals(Buffer.from(data.subarray(WIDE - 5, WIDE + 5)))).toBe(true);
    const built = await body.prepareManifest();
    expect(built.manifest.summary.blockSizeBytes).toBe(WIDE);
    expect(blockSizes(built.manifest)).toEqual([WIDE, WIDE, 100_000]);
    const { attrs, next } = await f.io.publishManifest(1, "f", built.prepared.prepareId, built.manifest, { ifGeneration: body.generation });
    body.published(built.manifest, attrs.generation, next);
    expect(Buffer.from(f.current()).equals(Buffer.from(data))).toBe(true);
    // A small write later rebuilds one wide block and shares the others.
    f.puts.length = 0;
    await body.write(WIDE + 3, new Uint8Array([9, 9]));
    await publish(body, f);
    expect(f.puts.length).toBe(1);
    data.set([9, 9], WIDE + 3);
    expect(Buffer.from(f.current()).equals(Buffer.from(data))).toBe(true);
  });

  test("reads while the width is being chosen see every write, before and after the slots merge", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    const data = pattern(WIDE, 3);
    const half = WIDE / 2;
    await body.write(0, data.subarray(0, half));
    expect(f.puts.length).toBe(0);
    expect(Buffer.from(await body.read(half - 4, 8)).equals(Buffer.from([...data.subarray(half - 4, half)]))).toBe(true);
    // Begun at half the size, answered after the write that merges the slots.
    const reading = body.read(1000, half);
    await body.write(half, data.subarray(half));
    expect(Buffer.from(await reading).equals(Buffer.from(data.subarray(1000, half)))).toBe(true);
    expect(Buffer.from(await body.read(half - 4, 8)).equals(Buffer.from(data.subarray(half - 4, half + 4)))).toBe(true);
    await publish(body, f);
    expect(blockSizes((await body.prepareManifest()).manifest)).toEqual([WIDE]);
    expect(Buffer.from(f.current()).equals(Buffer.from(data))).toBe(true);
  });

  test("a flush before the first wide block is whole keeps small blocks (a database's first commit)", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    await body.write(0, pattern(8192));
    await publish(body, f);
    const data = pattern(WIDE + BLOCK);
    await body.write(0, data);
    await publish(body, f);
    expect(f.puts.length).toBe(1 + (WIDE + BLOCK) / BLOCK);
    expect(Buffer.from(f.current()).equals(Buffer.from(data))).toBe(true);
  });

  test("a full block past the first wide one, written first, keeps small blocks and streams them out", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    const data = pattern(WIDE + 2 * BLOCK, 5);
    await body.write(WIDE, data.subarray(WIDE, WIDE + BLOCK));
    await body.drain();
    expect(f.puts.length).toBe(1);
    await body.write(0, data.subarray(0, WIDE));
    await body.write(WIDE + BLOCK, data.subarray(WIDE + BLOCK));
    await publish(body, f);
    expect(f.puts.length).toBe((WIDE + 2 * BLOCK) / BLOCK);
    expect(Buffer.from(f.current()).equals(Buffer.from(data))).toBe(true);
  });

  test("scattered small writes past the first wide block keep small blocks", async () => {
    const f = fakes();
    const body = PatchBody.empty(f.io, f.target, 0, pools());
    for (let k = 0; k < 20; k++) await body.write(WIDE + k * 2 * BLOCK, pattern(100, k));
    await body.write(0, pattern(WIDE));
    await body.drain();
    // Chosen small at the 18th scattered slot: the first wide block streamed out as 16 small ones.
    expect(f.puts.length).toBe(WIDE / BLOCK);
    await publish(body, f);
    expect(blockSizes((await body.prepareManifest()).manifest).slice(0, 2)).toEqual([BLOCK, BLOCK]);
  });

  test("a reused block buffer's old bytes never reach a file: only written ranges are published", async () => {
    const f = fakes();
    const shared = pools();
    const first = PatchBody.empty(f.io, f.target, 0, shared);
    await first.write(0, new Uint8Array(WIDE).fill(0xee));
    await publish(first, f);
    // The wide buffer went back to the pool full of 0xee; small ones too once streamed.
    // The same file opened again with O_TRUNC: an empty body over the generation just published.
    const second = PatchBody.empty(f.io, f.target, first.generation, shared);
    await second.write(0, new Uint8Array(10));
    await publish(second, f);
    await second.write(1000, new Uint8Array(BLOCK - 1000).fill(1));
    await second.write(BLOCK, new Uint8Array(BLOCK).fill(2));
    await publish(second, f);
    const expected = new Uint8Array(2 * BLOCK);
    expected.fill(1, 1000, BLOCK).fill(2, BLOCK);
    expect(Buffer.from(f.current()).equals(Buffer.from(expected))).toBe(true);
  });

  test("a file that had blocks keeps their size, however it is written", async () => {
    const f = fakes();
    const first = PatchBody.empty(f.io, f.target, 0, pools());
    await first.write(0, pattern(100));
    await publish(first, f);
    const key = f.puts[0]!;
    f.puts.length = 0;
    const stored = { generation: 10, sizeBytes: 100, summary: { blockSizeBytes: BLOCK } as never, chunks: [{ chunkIndex: 0, blocks: [{ key, offsetInChunk: 0, lengthBytes: 100, objectOffset: 0 }] }] };
    const body = await PatchBody.load({ ...f.io, bodyManifest: async () => stored }, f.target, pools());
    await body.write(0, pattern(WIDE));
    await body.drain();
    expect(f.puts.length).toBe(WIDE / BLOCK);
  });
});

describe("CleanBlocks", () => {
  test("ranges come whole from kept blocks or not at all; the oldest go past the limit", () => {
    const clean = new CleanBlocks();
    clean.remember(0, new Uint8Array(8).fill(1));
    clean.remember(1, new Uint8Array(8).fill(2));
    expect([...clean.range(6, 10, 8)!]).toEqual([1, 1, 2, 2]);
    expect(clean.range(6, 20, 8)).toBeNull();
    const big = LIMITS.fuseCleanBlocksCachedMaxBytes / 2;
    clean.remember(2, new Uint8Array(big));
    clean.remember(3, new Uint8Array(big));
    expect(clean.get(0)).toBeUndefined();
    expect(clean.get(3)).toBeDefined();
  });
});
