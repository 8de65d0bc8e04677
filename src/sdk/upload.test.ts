import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { ByteRange, ListPage, ObjectHead, ObjectStore } from "../objstore/index.ts";
import { FsError, type PreparedPublish } from "../types/index.ts";
import { uploadBody } from "./upload.ts";

/** Just enough store for uploads: puts land in a map, and a chosen put fails. */
class MapStore implements ObjectStore {
  readonly url = "memory://";
  readonly objects = new Map<string, Uint8Array>();
  failOn: string | null = null;
  inFlight = 0;
  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.inFlight++;
    try {
      await Bun.sleep(key === this.failOn ? 1 : 5);
      if (key === this.failOn) throw new FsError("EIO", "no room");
      this.objects.set(key, bytes.slice());
    } finally {
      this.inFlight--;
    }
  }
  async get(key: string, _range?: ByteRange): Promise<Uint8Array> {
    return this.objects.get(key)!;
  }
  async head(_key: string): Promise<ObjectHead | null> {
    return null;
  }
  async delete(_key: string): Promise<void> {}
  async list(_prefix: string): Promise<ListPage> {
    return { keys: [], nextAfter: null };
  }
  async close(): Promise<void> {}
}

// A small chunk size (the server fixes 64 MiB; the client takes whatever prepare says) shows the
// layout across chunks without uploading 64 MiB.
const prepared: PreparedPublish = {
  prepareId: "p", mount: 1, inode: 5, generation: 9, blockSizeBytes: 4, chunkSizeBytes: 12, keyPrefix: "blocks/1/5/9", expiresAtMs: 0,
};
const data = new Uint8Array(30).map((_, i) => i);

describe("uploadBody", () => {
  test("lays blocks out chunk by chunk, keyed by chunk and block index, with the digest and summary", async () => {
    const store = new MapStore();
    const manifest = await uploadBody(store, prepared, data, { producer: "p", contentType: "t" });
    expect(manifest.summary).toEqual({
      sizeBytes: 30, chunkSizeBytes: 12, blockSizeBytes: 4, chunkCount: 3,
      digest: `sha256:${createHash("sha256").update(data).digest("hex")}`, producer: "p", contentType: "t",
    });
    expect(manifest.chunks.map((c) => [c.chunkIndex, c.blocks.map((b) => [b.key, b.offsetInChunk, b.lengthBytes, b.objectOffset])])).toEqual([
      [0, [["blocks/1/5/9/0/0", 0, 4, 0], ["blocks/1/5/9/0/1", 4, 4, 0], ["blocks/1/5/9/0/2", 8, 4, 0]]],
      [1, [["blocks/1/5/9/1/0", 0, 4, 0], ["blocks/1/5/9/1/1", 4, 4, 0], ["blocks/1/5/9/1/2", 8, 4, 0]]],
      [2, [["blocks/1/5/9/2/0", 0, 4, 0], ["blocks/1/5/9/2/1", 4, 2, 0]]],
    ]);
    expect(Array.from(store.objects.get("blocks/1/5/9/1/2")!)).toEqual([20, 21, 22, 23]);
    expect(store.objects.size).toBe(8);
  });

  test("digest: false leaves the digest empty", async () => {
    const manifest = await uploadBody(new MapStore(), prepared, data, { digest: false });
    expect(manifest.summary.digest).toBe("");
    expect(manifest.summary.sizeBytes).toBe(30);
  });

  test("an empty body has no chunks and the digest of nothing", async () => {
    const manifest = await uploadBody(new MapStore(), prepared, new Uint8Array(0));
    expect(manifest.chunks).toEqual([]);
    expect(manifest.summary).toMatchObject({ sizeBytes: 0, chunkCount: 0, digest: `sha256:${createHash("sha256").digest("hex")}` });
  });

  test("the first failed put fails the upload, after the puts in flight settled", async () => {
    const store = new MapStore();
    store.failOn = "blocks/1/5/9/0/1";
    const err = await uploadBody(store, prepared, data, { concurrency: 2 }).catch((e: unknown) => e);
    expect((err as FsError).message).toContain("no room");
    // Block 0 was still uploading when block 1 failed; the upload waited for it.
    expect(store.inFlight).toBe(0);
    expect(store.objects.has("blocks/1/5/9/0/0")).toBe(true);
    expect(store.objects.size).toBeLessThan(8);
  });

  test("a failing source fails the upload; a bad concurrency or block layout is refused", async () => {
    const broken = (async function* () {
      yield data;
      throw new Error("disk went away");
    })();
    await expect(uploadBody(new MapStore(), prepared, broken)).rejects.toThrow("disk went away");
    await expect(uploadBody(new MapStore(), prepared, data, { concurrency: 65 })).rejects.toMatchObject({ code: "EINVAL" });
    await expect(uploadBody(new MapStore(), { ...prepared, chunkSizeBytes: 10 }, data)).rejects.toMatchObject({ code: "EPROTO" });
  });
});
