import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { openObjectStore, type ByteRange, type ListOptions, type ListPage, type ObjectHead, type ObjectStore } from "../../src/objstore/index.ts";
import { SUMMARY_CHUNK_INDEX } from "../../src/schema/index.ts";
import { FsError, LIMITS, type BodySummary, type PreparedPublish } from "../../src/types/index.ts";
import { freshBlock } from "../../src/sdk/body-patch.ts";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { codeOf, type MetadHarness } from "../harness.ts";

// The client data path end to end, as one suite run against every object store backend: a real
// metad, a real store, bytes checked exactly and by sha256. Races (a replace during a read) are
// made deterministic by a store wrapper that holds reads at a gate until the test lets them go.

const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCK = 64 * KiB;

/** Holds every matching get until released; `reached` resolves when the first one arrives. */
class Gate {
  private release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));
  private arrive!: () => void;
  readonly reached = new Promise<void>((r) => (this.arrive = r));
  readonly keysHeld: string[] = [];
  constructor(readonly matches: (key: string) => boolean) {}
  async pass(key: string): Promise<void> {
    if (!this.matches(key)) return;
    this.keysHeld.push(key);
    this.arrive();
    await this.released;
  }
  open(): void {
    this.release();
  }
}

/** A store wrapper that can hold gets at a gate, fail the Nth put, slow puts, and count them. */
class HookedStore implements ObjectStore {
  gate: Gate | null = null;
  failPutNumber = 0;
  putDelayMs = 0;
  putsStarted = 0;
  putsInFlight = 0;
  putsInFlightMax = 0;
  readonly keysPut: string[] = [];
  readonly gets: Array<{ key: string; ok: boolean }> = [];
  constructor(readonly inner: ObjectStore) {}
  get url(): string {
    return this.inner.url;
  }
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const n = ++this.putsStarted;
    this.putsInFlightMax = Math.max(this.putsInFlightMax, ++this.putsInFlight);
    try {
      if (this.putDelayMs > 0) await Bun.sleep(this.putDelayMs);
      if (n === this.failPutNumber) throw new FsError("EIO", `injected failure of put ${n}`);
      await this.inner.put(key, bytes);
      this.keysPut.push(key);
    } finally {
      this.putsInFlight--;
    }
  }
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    await this.gate?.pass(key);
    try {
      const bytes = await this.inner.get(key, range);
      this.gets.push({ key, ok: true });
      return bytes;
    } catch (err) {
      this.gets.push({ key, ok: false });
      throw err;
    }
  }
  head(key: string): Promise<ObjectHead | null> {
    return this.inner.head(key);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.inner.list(prefix, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}


function sameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(sha256(actual)).toBe(sha256(expected));
  expect(Buffer.compare(Buffer.from(actual), Buffer.from(expected))).toBe(0);
}

export function runBodySuite(name: string, start: () => Promise<MetadHarness>): void {
  describe(`file bodies (${name})`, () => {
    let h: MetadHarness;
    let c: NoKVClient;
    let store: HookedStore;
    /** A client whose store is `store`: tests arm its hooks. */
    let hooked: NoKVClient;

    beforeAll(async () => {
      h = await start();
      c = await h.client();
      store = new HookedStore(await openObjectStore(h.metad.objects.url));
      hooked = await h.client({ objectStore: store, cacheBytes: 0 });
    });
    afterAll(async () => {
      await hooked.close();
      await store.close();
      await h.stop();
    });

    const summaryOf = async (path: string): Promise<BodySummary> => {
      const attrs = await c.stat(path);
      const row = h.metad.service.store.getManifest({ mount: c.mount.id, inode: attrs.ino, generation: attrs.generation, chunkIndex: SUMMARY_CHUNK_INDEX });
      if (row?.kind !== "summary") throw new Error(`no body summary for ${path}`);
      return row.summary;
    };
    const objectsOf = async (path: string): Promise<string[]> => {
      const attrs = await c.stat(path);
      return (await h.metad.objects.list(`blocks/${c.mount.id}/${attrs.ino}/${attrs.generation}/`)).keys;
    };
    const reset = () => {
      store.gate = null;
      store.failPutNumber = 0;
      store.putDelayMs = 0;
    };

    test("an empty file publishes no objects and reads back empty", async () => {
      await c.mkdir("/sizes", { recursive: true });
      const stats = await c.publish("/sizes/empty", new Uint8Array(0));
      expect(stats.size).toBe(0);
      expect(stats.isFile()).toBe(true);
      expect((await c.readFile("/sizes/empty")).byteLength).toBe(0);
      expect((await readAll(c.createReadStream("/sizes/empty"))).byteLength).toBe(0);
      expect(await objectsOf("/sizes/empty")).toEqual([]);
      const summary = await summaryOf("/sizes/empty");
      expect(summary).toMatchObject({ sizeBytes: 0, chunkCount: 0, digest: sha256(new Uint8Array(0)) });
    });

    test("exactly one block is one object, and the summary says what was published", async () => {
      const data = randomBytes(BLOCK);
      await c.publish("/sizes/one-block", data, { blockSizeBytes: BLOCK, contentType: "application/x-test", producer: "suite" });
      sameBytes(await c.readFile("/sizes/one-block"), data);
      const objects = await objectsOf("/sizes/one-block");
      expect(objects.length).toBe(1);
      expect((await h.metad.objects.head(objects[0]!))?.sizeBytes).toBe(BLOCK);
      expect(await summaryOf("/sizes/one-block")).toEqual({
        sizeBytes: BLOCK, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: BLOCK, chunkCount: 1, digest: sha256(data),
        producer: "suite", contentType: "application/x-test",
      });
    });

    test("a block and one byte is two objects, the second of one byte", async () => {
      const data = randomBytes(BLOCK + 1);
      await c.publish("/sizes/block-plus-one", data, { blockSizeBytes: BLOCK });
      sameBytes(await c.readFile("/sizes/block-plus-one"), data);
      const objects = (await objectsOf("/sizes/block-plus-one")).sort();
      expect(objects.length).toBe(2);
      expect((await h.metad.objects.head(objects[1]!))?.sizeBytes).toBe(1);
      expect((await summaryOf("/sizes/block-plus-one")).digest).toBe(sha256(data));
    });

    test("every source kind publishes the same bytes and digest", async () => {
      const data = randomBytes(5 * BLOCK + 12_345);
      await c.mkdir("/sources");
      // Pieces of odd sizes, so blocks are gathered across piece boundaries.
      const pieces = (): Uint8Array[] => {
        const out: Uint8Array[] = [];
        for (let at = 0, n = 1; at < data.byteLength; at += n, n = (n * 7 + 13) % 100_000 + 1) out.push(data.subarray(at, at + n));
        return out;
      };
      /**
       * Yields block-sized pieces through one reused buffer (as a reader filling the same buffer
       * would): the uploader must copy what it gets, not keep a view of it while it uploads.
       */
      async function* reusing(): AsyncGenerator<Uint8Array> {
        const buffer = new Uint8Array(BLOCK);
        for (let at = 0; at < data.byteLength; at += BLOCK) {
          const piece = data.subarray(at, at + BLOCK);
          buffer.set(piece);
          yield buffer.subarray(0, piece.byteLength);
          buffer.fill(0xee);
        }
      }
      const web = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of pieces()) controller.enqueue(piece.slice());
          controller.close();
        },
      });
      const sources = {
        bytes: data,
        node: Readable.from(pieces().map((p) => Buffer.from(p))),
        web,
        blob: new Blob([data]),
        reusing: reusing(),
      };
      for (const [kind, source] of Object.entries(sources)) {
        await c.publish(`/sources/${kind}`, source, { blockSizeBytes: BLOCK });
        sameBytes(await c.readFile(`/sources/${kind}`), data);
        expect((await summaryOf(`/sources/${kind}`)).digest).toBe(sha256(data));
      }
      const text = "grüße, 世界 🌍\n".repeat(10_000);
      await c.publish("/sources/string", text, { blockSizeBytes: BLOCK });
      expect(await c.readFile("/sources/string", "utf8")).toBe(text);
      expect((await summaryOf("/sources/string")).digest).toBe(sha256(Buffer.from(text)));
    });

    test("ranged reads across block boundaries: handle, stream, inode API", async () => {
      const data = randomBytes(6 * BLOCK + 100);
      await c.publish("/ranges", data, { blockSizeBytes: BLOCK });
      const handle = await c.open("/ranges");
      const buffer = Buffer.alloc(3 * BLOCK);
      // No read takes exactly one byte at the start of a larger object: s3rver 3.7.1 answers
      // "Range: bytes=0-0" with the whole object (it reads end 0 as "no end"), and the store refuses that.
      for (const [at, length] of [[BLOCK - 1, 3], [BLOCK - 10, BLOCK + 20], [0, 3 * BLOCK], [2 * BLOCK, BLOCK], [6 * BLOCK + 50, 1000]] as const) {
        const { bytesRead } = await handle.read(buffer, 0, length, at);
        expect(bytesRead).toBe(Math.min(length, data.byteLength - at));
        sameBytes(buffer.subarray(0, bytesRead), data.subarray(at, at + length));
      }
      expect((await handle.read(buffer, 0, 10, data.byteLength + 5)).bytesRead).toBe(0);
      // position null: sequential reads from the handle's own position.
      const first = await handle.read(Buffer.alloc(BLOCK + 7), 0, BLOCK + 7, null);
      const second = await handle.read(Buffer.alloc(10), 0, 10, null);
      sameBytes(second.buffer, data.subarray(BLOCK + 7, BLOCK + 17));
      expect(first.bytesRead).toBe(BLOCK + 7);
      expect((await handle.stat()).size).toBe(data.byteLength);
      await handle.close();
      expect(await codeOf(handle.read(buffer, 0, 1, 0))).toBe("EBADF");

      const streamed = await readAll(c.createReadStream("/ranges", { start: BLOCK - 3, end: 4 * BLOCK + 2, highWaterMark: 10_000 }));
      sameBytes(streamed, data.subarray(BLOCK - 3, 4 * BLOCK + 3));
      sameBytes(await readAll(c.createReadStream("/ranges", { start: 5 * BLOCK })), data.subarray(5 * BLOCK));

      const ino = (await c.stat("/ranges")).ino;
      sameBytes(await c.inode.read(ino, { offsetBytes: 3 * BLOCK - 1, lengthBytes: BLOCK + 2 }), data.subarray(3 * BLOCK - 1, 4 * BLOCK + 1));
      expect((await c.inode.read(ino, { offsetBytes: data.byteLength, lengthBytes: 10 })).byteLength).toBe(0);
      expect(await codeOf(c.readFile("/"))).toBe("EISDIR");
      expect(await codeOf(c.readFile("/no-such-file"))).toBe("ENOENT");
    });

    test("a file of three chunks publishes from a stream and reads back across chunk boundaries", async () => {
      const sizeBytes = 2 * LIMITS.chunkSizeBytes + 3 * MiB + 17;
      const data = randomBytes(sizeBytes);
      const progress: number[] = [];
      const source = Readable.from((function* () {
        for (let at = 0; at < sizeBytes; at += 1 * MiB) yield data.subarray(at, at + 1 * MiB);
      })());
      await c.publish("/big", source, { concurrency: 8, onProgress: (p) => progress.push(p.bytesUploaded) });
      expect(progress.at(-1)).toBe(sizeBytes);
      const summary = await summaryOf("/big");
      expect(summary).toMatchObject({ sizeBytes, chunkCount: 3, blockSizeBytes: LIMITS.blockSizeDefaultBytes, digest: sha256(data) });
      sameBytes(await c.readFile("/big"), data);
      const handle = await c.open("/big");
      const at = LIMITS.chunkSizeBytes - 5;
      const { buffer } = await handle.read(Buffer.alloc(10), 0, 10, at);
      sameBytes(buffer, data.subarray(at, at + 10));
      const tail = await readAll(c.createReadStream("/big", { start: 2 * LIMITS.chunkSizeBytes - 1 }));
      sameBytes(tail, data.subarray(2 * LIMITS.chunkSizeBytes - 1));
      // A stream asks metad for one plan per stretch (its window and the plan ahead), not one per window.
      const plansAsked = () => c.rpcStats().get("read_plan")?.calls ?? 0;
      const before = plansAsked();
      sameBytes(await readAll(c.createReadStream("/big")), data);
      expect(plansAsked() - before).toBe(Math.ceil(sizeBytes / (LIMITS.readStreamWindowBytes + LIMITS.readStreamPlanAheadBytes)));
      await c.unlink("/big");
    }, 120_000);

    test("a truncate-extended hole reads as zeros, and cut bytes never come back", async () => {
      const data = randomBytes(2 * BLOCK + 500);
      await c.publish("/hole", data, { blockSizeBytes: BLOCK });
      await c.truncate("/hole", 4 * BLOCK);
      const grown = await c.readFile("/hole");
      expect(grown.byteLength).toBe(4 * BLOCK);
      sameBytes(grown.subarray(0, data.byteLength), data);
      expect(grown.subarray(data.byteLength).every((b) => b === 0)).toBe(true);
      // Shrink into a block, then grow: the block's object still holds the cut bytes; none may show.
      await c.truncate("/hole", BLOCK + 10);
      await c.truncate("/hole", 3 * BLOCK);
      const regrown = await c.readFile("/hole");
      sameBytes(regrown.subarray(0, BLOCK + 10), data.subarray(0, BLOCK + 10));
      expect(regrown.subarray(BLOCK + 10).every((b) => b === 0)).toBe(true);
      expect(regrown.byteLength).toBe(3 * BLOCK);
      const ranged = await readAll(c.createReadStream("/hole", { start: BLOCK + 5, end: BLOCK + 14 }));
      sameBytes(ranged, Buffer.concat([data.subarray(BLOCK + 5, BLOCK + 10), Buffer.alloc(5)]));
      // A created file that was only ever extended has no blocks at all.
      await c.createFile("/hole-only");
      await c.truncate("/hole-only", 100_000);
      sameBytes(await c.readFile("/hole-only"), new Uint8Array(100_000));
      // Too large for one buffer: readFile refuses before allocating; a stream reads any part.
      await c.truncate("/hole-only", LIMITS.readResultMaxBytes + 1);
      expect(await codeOf(c.readFile("/hole-only"))).toBe("EFBIG");
      sameBytes(await readAll(c.createReadStream("/hole-only", { start: LIMITS.readResultMaxBytes - 9 })), new Uint8Array(10));
    });

    test("a replace during a read: the reader finishes with the old bytes", async () => {
      reset();
      const v1 = randomBytes(3 * BLOCK);
      const v2 = randomBytes(2 * BLOCK + 9);
      await c.writeFile("/replace-keep", v1, { blockSizeBytes: BLOCK });
      const gate = (store.gate = new Gate((key) => key.startsWith(`blocks/${c.mount.id}/`)));
      const reading = hooked.readFile("/replace-keep");
      await gate.reached;
      await c.writeFile("/replace-keep", v2, { blockSizeBytes: BLOCK });
      gate.open();
      sameBytes(await reading, v1);
      sameBytes(await hooked.readFile("/replace-keep"), v2);
      reset();
    });

    test("a replace and GC during a read: the reader starts over on the new bytes", async () => {
      reset();
      const v1 = randomBytes(3 * BLOCK);
      const v2 = randomBytes(2 * BLOCK + 9);
      await c.writeFile("/replace-gc", v1, { blockSizeBytes: BLOCK });
      const oldKeys = await objectsOf("/replace-gc");
      const gate = (store.gate = new Gate((key) => oldKeys.includes(key)));
      store.gets.length = 0;
      const reading = hooked.readFile("/replace-gc");
      await gate.reached;
      await c.writeFile("/replace-gc", v2, { blockSizeBytes: BLOCK });
      await c.gc();
      for (const key of oldKeys) expect(await h.metad.objects.head(key)).toBeNull();
      gate.open();
      sameBytes(await reading, v2);
      // The old blocks were asked for and missing; the new ones were read after.
      expect(store.gets.some((g) => oldKeys.includes(g.key) && !g.ok)).toBe(true);
      expect(store.gets.filter((g) => g.ok).every((g) => !oldKeys.includes(g.key))).toBe(true);
      reset();
    });

    test("an open handle follows a replace; inode.read with a generation reports ESTALE", async () => {
      const v1 = randomBytes(2 * BLOCK);
      const v2 = randomBytes(BLOCK + 3);
      await c.writeFile("/handle", v1, { blockSizeBytes: BLOCK });
      const handle = await c.open("/handle");
      const g1 = handle.generation;
      await c.writeFile("/handle", v2, { blockSizeBytes: BLOCK });
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(2 * BLOCK), 0, 2 * BLOCK, 0);
      sameBytes(buffer.subarray(0, bytesRead), v2);
      expect(handle.generation).not.toBe(g1);
      sameBytes(await handle.readFile(), v2);
      await handle.close();
      const ino = (await c.stat("/handle")).ino;
      expect(await codeOf(c.inode.read(ino, { offsetBytes: 0, lengthBytes: 10, generation: g1 }))).toBe("ESTALE");
      sameBytes(await c.inode.read(ino, { offsetBytes: 0, lengthBytes: BLOCK + 3 }), v2);
    });

    test("a read stream restarts on the new body before its first byte, and fails with ESTALE after it", async () => {
      reset();
      const windowBytes = LIMITS.readStreamWindowBytes;
      const blockBytes = 1 * MiB;
      const v1 = randomBytes(windowBytes + 2 * blockBytes);
      const v2 = randomBytes(windowBytes + 3 * blockBytes);
      await c.writeFile("/stream", v1, { blockSizeBytes: blockBytes });

      // Held before the first byte: the stream starts over and hands out only the new body.
      let oldKeys = await objectsOf("/stream");
      let gate = (store.gate = new Gate((key) => oldKeys.includes(key)));
      const restarted = readAll(hooked.createReadStream("/stream", { highWaterMark: 256 * KiB }));
      await gate.reached;
      await c.writeFile("/stream", v2, { blockSizeBytes: blockBytes });
      await c.gc();
      gate.open();
      sameBytes(await restarted, v2);

      // Held in the second window, after the first was handed out: ESTALE, and only old bytes before it.
      oldKeys = await objectsOf("/stream");
      const secondWindow = new Set(oldKeys.filter((key) => Number(key.split("/").pop()) >= windowBytes / blockBytes));
      gate = store.gate = new Gate((key) => secondWindow.has(key));
      const received: Buffer[] = [];
      const failed = (async () => {
        for await (const part of hooked.createReadStream("/stream", { highWaterMark: 256 * KiB })) received.push(part);
      })().then(() => "none", (err: FsError) => err.code);
      await gate.reached;
      await c.writeFile("/stream", v1, { blockSizeBytes: blockBytes });
      await c.gc();
      gate.open();
      expect(await failed).toBe("ESTALE");
      const got = Buffer.concat(received);
      expect(got.byteLength).toBeGreaterThan(0);
      expect(got.byteLength).toBeLessThanOrEqual(windowBytes);
      sameBytes(got, v2.subarray(0, got.byteLength));
      reset();
    }, 60_000);

    test("a failed upload leaves no file and deletes the blocks it put; GC then drops the expired prepare", async () => {
      reset();
      await c.mkdir("/fail");
      const data = randomBytes(20 * BLOCK);
      store.failPutNumber = store.putsStarted + 3;
      const before = store.keysPut.length;
      const startedBefore = store.putsStarted;
      const cleanedBefore = hooked.integrityStats().uploadBlocksCleanedUp;
      const err = await hooked.publish("/fail/short", data, { blockSizeBytes: BLOCK, concurrency: 2, expiryMs: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FsError);
      expect(String((err as FsError).cause ?? (err as FsError).message)).toContain("injected failure");
      // It stopped at the failure: no more than the concurrency beyond the failed put.
      expect(store.putsStarted - startedBefore).toBeLessThanOrEqual(3 + 2);
      expect(await codeOf(c.stat("/fail/short"))).toBe("ENOENT");
      const staged = store.keysPut.slice(before);
      expect(staged.length).toBeGreaterThan(0);
      // The client deleted what it had put, without waiting for the prepare to expire.
      for (const key of staged) expect(await h.metad.objects.head(key)).toBeNull();
      expect(hooked.integrityStats().uploadBlocksCleanedUp - cleanedBefore).toBeGreaterThanOrEqual(staged.length);
      await Bun.sleep(10);
      const report = (await c.gc()) as { stagedExpired: number };
      expect(report.stagedExpired).toBeGreaterThanOrEqual(1);
      reset();
    });

    test("unlink, then GC removes the file's blocks", async () => {
      await c.publish("/doomed", randomBytes(3 * BLOCK), { blockSizeBytes: BLOCK });
      const keys = await objectsOf("/doomed");
      expect(keys.length).toBe(3);
      await c.unlink("/doomed");
      for (const key of keys) expect(await h.metad.objects.head(key)).not.toBeNull();
      await c.gc();
      for (const key of keys) expect(await h.metad.objects.head(key)).toBeNull();
    });

    test("a snapshot keeps replaced and removed blocks until it is retired, and reads the old bytes", async () => {
      await c.mkdir("/snap");
      const v1 = randomBytes(2 * BLOCK + 1);
      const other = randomBytes(BLOCK);
      await c.writeFile("/snap/f", v1, { blockSizeBytes: BLOCK });
      await c.writeFile("/snap/g", other, { blockSizeBytes: BLOCK });
      const keys = [...(await objectsOf("/snap/f")), ...(await objectsOf("/snap/g"))];
      const snapshot = await c.snapshot("/snap");
      try {
        await c.writeFile("/snap/f", randomBytes(BLOCK), { blockSizeBytes: BLOCK });
        await c.unlink("/snap/g");
        await c.gc();
        for (const key of keys) expect(await h.metad.objects.head(key)).not.toBeNull();
        sameBytes(await snapshot.readFile("/snap/f"), v1);
        sameBytes(await snapshot.readFile("/snap/g"), other);
        sameBytes(await readAll(snapshot.createReadStream("/snap/f", { start: BLOCK - 1 })), v1.subarray(BLOCK - 1));
        const handle = await snapshot.open("/snap/f");
        const { buffer } = await handle.read(Buffer.alloc(4), 0, 4, 2 * BLOCK - 2);
        sameBytes(buffer.subarray(0, 3), v1.subarray(2 * BLOCK - 2));
        await handle.close();
      } finally {
        await snapshot.retire();
      }
      await c.gc();
      for (const key of keys) expect(await h.metad.objects.head(key)).toBeNull();
    });

    test("the block cache: misses, then hits; bounded by bytes; off at 0; callers cannot corrupt it", async () => {
      const data = randomBytes(10 * BLOCK);
      await c.publish("/cached", data, { blockSizeBytes: BLOCK });
      const small = await h.client({ cacheBytes: 8 * BLOCK });
      const ino = (await small.stat("/cached")).ino;
      // Block by block, in order, so the least recently used blocks are known: 0 and 1.
      for (let i = 0; i < 10; i++) sameBytes(await small.inode.read(ino, { offsetBytes: i * BLOCK, lengthBytes: BLOCK }), data.subarray(i * BLOCK, (i + 1) * BLOCK));
      let stats = small.cacheStats();
      expect(stats).toMatchObject({ hits: 0, misses: 10, evictions: 2, entries: 8, bytes: 8 * BLOCK, capacityBytes: 8 * BLOCK });
      // A part of a cached block hits; an evicted block misses.
      sameBytes(await small.inode.read(ino, { offsetBytes: 9 * BLOCK + 5, lengthBytes: 100 }), data.subarray(9 * BLOCK + 5, 9 * BLOCK + 105));
      expect(small.cacheStats()).toMatchObject({ hits: 1, misses: 10 });
      await small.inode.read(ino, { offsetBytes: 0, lengthBytes: 100 });
      expect(small.cacheStats()).toMatchObject({ hits: 1, misses: 11 });
      sameBytes(await small.readFile("/cached"), data);
      expect(small.cacheStats().bytes).toBeLessThanOrEqual(8 * BLOCK);

      await c.publish("/cached-sample", randomBytes(16 * KiB), { blockSizeBytes: BLOCK });
      const first = await small.readFile("/cached-sample");
      const expected = Buffer.from(first);
      first.fill(0);
      stats = small.cacheStats();
      sameBytes(await small.readFile("/cached-sample"), expected);
      expect(small.cacheStats().hits).toBe(stats.hits + 1);

      expect(c.cacheStats().capacityBytes).toBe(LIMITS.blockCacheDefaultBytes);
      const none = await h.client({ cacheBytes: 0 });
      await none.readFile("/cached-sample");
      await none.readFile("/cached-sample");
      expect(none.cacheStats()).toMatchObject({ hits: 0, misses: 2, entries: 0 });
    });

    test("createWriteStream publishes when it finishes, and a destroyed stream publishes nothing", async () => {
      const data = randomBytes(3 * BLOCK + 77);
      const stream = c.createWriteStream("/written", { blockSizeBytes: BLOCK });
      for (let at = 0; at < data.byteLength; at += 5000) stream.write(data.subarray(at, at + 5000));
      expect(await codeOf(c.stat("/written"))).toBe("ENOENT");
      await new Promise<void>((resolve, reject) => stream.on("error", reject).end(resolve));
      expect(stream.attrs?.sizeBytes).toBe(data.byteLength);
      sameBytes(await c.readFile("/written"), data);

      const aborted = c.createWriteStream("/aborted", { blockSizeBytes: BLOCK });
      aborted.on("error", () => {});
      aborted.write(data);
      await Bun.sleep(20);
      aborted.destroy(new Error("caller gave up"));
      await Bun.sleep(20);
      expect(await codeOf(c.stat("/aborted"))).toBe("ENOENT");

      const refused = c.createWriteStream("/written", { replace: false });
      const code = await new Promise<string>((resolve) => refused.on("error", (err: FsError) => resolve(err.code)).on("finish", () => resolve("none")).end("x"));
      expect(code).toBe("EEXIST");
    });

    test("publish refuses an existing name without replace; ifGeneration guards a replace", async () => {
      await c.publish("/guarded", "one");
      // Refused before any upload, not after the bytes went up for nothing.
      const putsBefore = store.putsStarted;
      expect(await codeOf(hooked.publish("/guarded", new Uint8Array(3 * BLOCK), { blockSizeBytes: BLOCK }))).toBe("EEXIST");
      expect(store.putsStarted).toBe(putsBefore);
      const { generation } = await c.stat("/guarded");
      await c.publish("/guarded", "two", { replace: true, ifGeneration: generation });
      expect(await codeOf(c.publish("/guarded", "three", { replace: true, ifGeneration: generation }))).toBe("ESTALE");
      expect(await c.readFile("/guarded", { encoding: "utf8" })).toBe("two");
      expect(await codeOf(c.publish("/guarded", "x", { blockSizeBytes: 1000 }))).toBe("EINVAL");
      expect(await codeOf(c.publish("/guarded", "x", { concurrency: 0 }))).toBe("EINVAL");
      expect(await codeOf(c.publish("/no-dir/f", "x"))).toBe("ENOENT");
      await c.writeFile("/guarded", "four", "utf8");
      expect(await c.readFile("/guarded", "utf8")).toBe("four");
    });

    test("uploads run in parallel up to the concurrency, and a stream is pulled only as fast as they finish", async () => {
      reset();
      store.putDelayMs = 15;
      store.putsInFlightMax = 0;
      const concurrency = 3;
      let pulledBytes = 0;
      let uploadedBytes = 0;
      let aheadMaxBytes = 0;
      const totalBytes = 30 * BLOCK;
      async function* source(): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < totalBytes; at += 16 * KiB) {
          aheadMaxBytes = Math.max(aheadMaxBytes, pulledBytes - uploadedBytes);
          pulledBytes += 16 * KiB;
          yield new Uint8Array(16 * KiB).fill(at & 0xff);
        }
      }
      const progress: Array<{ bytesUploaded: number; totalBytes?: number }> = [];
      await hooked.publish("/bounded", source(), {
        blockSizeBytes: BLOCK, concurrency, onProgress: (p) => {
          uploadedBytes = p.bytesUploaded;
          progress.push(p);
        },
      });
      expect(store.putsInFlightMax).toBe(concurrency);
      expect(aheadMaxBytes).toBeLessThanOrEqual((concurrency + 2) * BLOCK);
      expect(progress.length).toBe(30);
      expect(progress.at(-1)).toEqual({ bytesUploaded: totalBytes });
      const sized: number[] = [];
      await hooked.publish("/bounded-bytes", new Uint8Array(2 * BLOCK + 1), { blockSizeBytes: BLOCK, onProgress: (p) => sized.push(p.totalBytes ?? -1) });
      expect(sized).toEqual([2 * BLOCK + 1, 2 * BLOCK + 1, 2 * BLOCK + 1]);
      reset();
    });

    test("many concurrent reads share batched metadata requests and each gets its own bytes", async () => {
      await c.mkdir("/many");
      const samples = Array.from({ length: 50 }, () => randomBytes(4 * KiB));
      await Promise.all(samples.map((bytes, i) => c.writeFile(`/many/s${i}`, bytes)));
      const reader = await h.client({ cacheBytes: 0 });
      await reader.stat("/many");
      const framesBefore = h.metad.stats.frames.received;
      const read = await Promise.all(samples.map((_, i) => reader.readFile(`/many/s${i}`)));
      read.forEach((bytes, i) => sameBytes(bytes, samples[i]!));
      // Each file needs a stat and a plan: 100 requests unbatched.
      expect(h.metad.stats.frames.received - framesBefore).toBeLessThan(10);
      expect(await codeOf(Promise.all([reader.readFile("/many/s0"), reader.readFile("/many/none")]))).toBe("ENOENT");
    });

    test("inode.publish and inode.read, for FUSE", async () => {
      const dir = await c.inode.mkdir(1, "by-inode");
      const data = randomBytes(2 * BLOCK + 3);
      const attrs = await c.inode.publish(dir.inode, "f", data, { mode: 0o600 });
      expect(attrs).toMatchObject({ type: "file", mode: 0o600, sizeBytes: data.byteLength });
      sameBytes(await c.inode.read(attrs.inode, { offsetBytes: 0, lengthBytes: data.byteLength + 100 }), data);
      expect(await codeOf(c.inode.publish(dir.inode, "f", "again"))).toBe("EEXIST");
      const replaced = await c.inode.publish(dir.inode, "f", "again", { replace: true, ifGeneration: attrs.generation });
      expect(replaced.inode).toBe(attrs.inode);
      expect(await codeOf(c.inode.read(attrs.inode, { offsetBytes: 0, lengthBytes: 5, generation: attrs.generation }))).toBe("ESTALE");
      expect(Buffer.from(await c.inode.read(attrs.inode, { offsetBytes: 0, lengthBytes: 5, generation: replaced.generation })).toString()).toBe("again");
    });

    test("a publish asked for the next prepare returns it over the wire, and the next publish uses it", async () => {
      const dir = await c.inode.mkdir(1, "next-prepare");
      const { attrs, prepared } = await c.inode.createPrepared(dir.inode, "f", {}, { expiryMs: 60_000 });
      const publishBytes = async (prepare: PreparedPublish, bytes: Uint8Array, ifGeneration: number) => {
        const block = freshBlock(prepare, prepare.blockSizeBytes, 0, bytes);
        await c.inode.putBlock(block.key, bytes);
        const summary = { sizeBytes: bytes.byteLength, chunkSizeBytes: prepare.chunkSizeBytes, blockSizeBytes: prepare.blockSizeBytes, chunkCount: 1, digest: "", producer: "test", contentType: "" };
        const manifest = { summary, chunks: [{ chunkIndex: 0, blocks: [block] }] };
        return await c.inode.publishManifest(dir.inode, "f", prepare.prepareId, manifest, { ifGeneration, patch: true, prepareNextExpiryMs: 60_000 });
      };
      const first = await publishBytes(prepared, Buffer.from("first"), attrs.generation);
      expect(first.attrs).toMatchObject({ inode: attrs.inode, sizeBytes: 5 });
      expect(first.next).toMatchObject({ inode: attrs.inode });
      expect(first.next!.generation).toBeGreaterThan(first.attrs.generation);
      const second = await publishBytes(first.next!, Buffer.from("second"), first.attrs.generation);
      expect(second.attrs.generation).toBe(first.next!.generation);
      expect(Buffer.from(await c.inode.read(attrs.inode, { offsetBytes: 0, lengthBytes: 10 })).toString()).toBe("second");
      // Without the ask, the reply is the attributes alone, as older clients expect.
      const plain = await c.inode.publish(dir.inode, "f", "third", { replace: true, ifGeneration: second.attrs.generation });
      expect(plain).not.toHaveProperty("next");
    });
  });
}
