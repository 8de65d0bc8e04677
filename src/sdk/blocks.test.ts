import { describe, expect, test } from "bun:test";
import { Readable } from "node:stream";
import { FsError } from "../types/index.ts";
import { sourceSizeBytes, splitBlocks, type BodySource } from "./blocks.ts";

const data = new Uint8Array(1000).map((_, i) => i * 7);

async function split(source: BodySource, blockSizeBytes: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const block of splitBlocks(source, blockSizeBytes)) out.push(block.slice());
  return out;
}

function pieces(sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe("splitBlocks", () => {
  const sizes = [1, 99, 250, 3, 300, 347];
  const cases: Array<[string, () => BodySource]> = [
    ["bytes", () => data],
    ["a node Readable", () => Readable.from(pieces(sizes).map((p) => Buffer.from(p)))],
    ["an async generator", () => (async function* () { yield* pieces(sizes); })()],
    ["a web ReadableStream", () => new ReadableStream({ start(c) { for (const p of pieces(sizes)) c.enqueue(p); c.close(); } })],
    ["a Blob", () => new Blob([data])],
  ];
  for (const [kind, make] of cases) {
    test(`${kind}: blocks of exactly the block size, the last one shorter`, async () => {
      const blocks = await split(make(), 128);
      expect(blocks.map((b) => b.byteLength)).toEqual([128, 128, 128, 128, 128, 128, 128, 104]);
      expect(Buffer.concat(blocks).equals(Buffer.from(data))).toBe(true);
    });
  }

  test("a source that ends on a block boundary yields no empty block; an empty source yields none", async () => {
    expect((await split(data.subarray(0, 512), 128)).length).toBe(4);
    expect((await split((async function* () { yield data.subarray(0, 256); })(), 128)).length).toBe(2);
    expect(await split(new Uint8Array(0), 128)).toEqual([]);
    expect(await split(Readable.from([]), 128)).toEqual([]);
  });

  test("strings are UTF-8, whole or in pieces", async () => {
    const text = "é".repeat(100);
    expect(Buffer.concat(await split(text, 64)).toString("utf8")).toBe(text);
    expect(Buffer.concat(await split(Readable.from(["ab", "cé"]), 64)).toString("utf8")).toBe("abcé");
    expect(sourceSizeBytes(text)).toBe(200);
    expect(sourceSizeBytes(Readable.from([]))).toBeUndefined();
  });

  test("a piece that is not bytes is EINVAL, and so is a source of no known kind", async () => {
    const bad = (async function* () { yield 42 as unknown as Uint8Array; })();
    await expect(split(bad, 64)).rejects.toBeInstanceOf(FsError);
    await expect(split({} as BodySource, 64)).rejects.toBeInstanceOf(FsError);
  });

  test("stopping early cancels a web stream, so its producer stops", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) { c.enqueue(new Uint8Array(100)); },
      cancel() { cancelled = true; },
    });
    for await (const _ of splitBlocks(stream, 100)) break;
    expect(cancelled).toBe(true);
  });
});
