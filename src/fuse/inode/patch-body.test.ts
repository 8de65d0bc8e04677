import { describe, expect, test } from "bun:test";
import { LIMITS, type BodyManifest, type PreparedPublish } from "../../types/index.ts";
import { CleanBlocks } from "./clean-blocks.ts";
import { PatchBody, type PatchTarget } from "./patch-body.ts";
import type { PatchIo } from "./source.ts";

const BLOCK = LIMITS.fuseWriteBlockBytes;

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
    const body = PatchBody.empty(f.io, f.target, 0);
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
    const body = PatchBody.empty(f.io, f.target, 0);
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
    const body = PatchBody.empty(f.io, f.target, 0);
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
    const body = PatchBody.empty(f.io, f.target, 0);
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
