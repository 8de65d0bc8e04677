import { describe, expect, test } from "bun:test";
import type { ByteRange, ListPage, ObjectHead, ObjectStore } from "../objstore/index.ts";
import { blockChecksum, FsError, LIMITS, planRange, type BlockRef, type ReadPlan, type ReadRange } from "../types/index.ts";
import { BlockCache } from "./block-cache.ts";
import { BodyReader } from "./body-reader.ts";
import { DataPath } from "./objects.ts";
import { ReadPlans } from "./read-plans.ts";

/** Objects in a map; counts gets and how many ran at once. */
class MapStore implements ObjectStore {
  readonly url = "memory://";
  readonly objects = new Map<string, Uint8Array>();
  gets = 0;
  running = 0;
  runningMax = 0;
  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, bytes);
  }
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.gets++;
    this.runningMax = Math.max(this.runningMax, ++this.running);
    await Bun.sleep(1);
    this.running--;
    const bytes = this.objects.get(key);
    if (!bytes) throw new FsError("ENOENT", `no object ${key}`);
    return range ? bytes.subarray(range.offsetBytes, range.offsetBytes + range.lengthBytes) : bytes;
  }
  readIntos = 0;
  /** Corrupts the next `n` reads of an object (a torn read), whichever way they come. */
  tornReads = 0;
  async readInto(key: string, range: ByteRange, into: Uint8Array): Promise<number> {
    this.readIntos++;
    const bytes = this.objects.get(key);
    if (!bytes) throw new FsError("ENOENT", `no object ${key}`);
    const part = bytes.subarray(range.offsetBytes, range.offsetBytes + range.lengthBytes);
    into.set(part);
    if (this.tornReads > 0 && part.byteLength > 0) {
      this.tornReads--;
      into[0] = into[0]! ^ 0xff;
    }
    return part.byteLength;
  }
  async head(_key: string): Promise<ObjectHead | null> {
    return null;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async list(_prefix: string): Promise<ListPage> {
    return { keys: [], nextAfter: null };
  }
  async close(): Promise<void> {}
}

function setup(plan: (args: Record<string, unknown>) => ReadPlan) {
  const store = new MapStore();
  const plans: Array<Record<string, unknown>> = [];
  const reader = new BodyReader(async (_op, args) => {
    plans.push(args);
    return plan(args);
  }, new DataPath(store, new BlockCache(0)));
  return { store, plans, reader };
}

const range = (key: string, outputOffset: number, lengthBytes: number, objectOffset = 0): ReadRange => ({ key, objectOffset, lengthBytes, outputOffset });

/** A body of `count` blocks of `blockBytes` (segments of 8 bytes, checksummed), and metad's plans of it. */
function blockBody(count: number, blockBytes: number, generation = 1) {
  const bytes = new Uint8Array(count * blockBytes).map((_, i) => (i * 31 + 7) % 251);
  const blocks: BlockRef[] = Array.from({ length: count }, (_, b) => {
    const part = bytes.subarray(b * blockBytes, (b + 1) * blockBytes);
    return { key: `g${generation}/b${b}`, offsetInChunk: b * blockBytes, lengthBytes: blockBytes, objectOffset: 0, checksum: blockChecksum(part, 8) };
  });
  const plan = (args: Record<string, unknown>): ReadPlan => {
    const start = Math.min(args.offsetBytes as number, bytes.byteLength);
    const end = Math.min(bytes.byteLength, start + (args.lengthBytes as number));
    const ranges: ReadRange[] = [];
    for (const block of blocks) {
      const from = Math.max(start, block.offsetInChunk);
      const to = Math.min(end, block.offsetInChunk + block.lengthBytes);
      if (to > from) ranges.push(planRange(block, from - block.offsetInChunk, to - from, from - start));
    }
    return { inode: 2, generation, sizeBytes: bytes.byteLength, lengthBytes: end - start, ranges };
  };
  return { bytes, blocks, plan };
}

describe("BodyReader with a sequential reader's plans", () => {
  test("reads inside the stretch planned before ask metad nothing; the bytes and their checksums are cut to each read", async () => {
    const body = blockBody(8, 32);
    const { store, plans, reader } = setup(body.plan);
    for (const [b, block] of body.blocks.entries()) store.objects.set(block.key, body.bytes.slice(b * 32, (b + 1) * 32));
    const ahead = new ReadPlans(100);
    const got = new Uint8Array(body.bytes.byteLength);
    // Windows of 20 bytes (not block-aligned), half of them into a buffer: the first plan reaches
    // 120 bytes, the next starts where a window leaves it.
    for (let at = 0, i = 0; at < body.bytes.byteLength; at += 20, i++) {
      const into = i % 2 === 0 ? new Uint8Array(20) : undefined;
      const { bytes } = await reader.read(2, at, 20, { generation: 1, pinned: true, plans: ahead, ...(into ? { into } : {}) });
      got.set(bytes, at);
    }
    expect(got).toEqual(body.bytes);
    expect(plans.map((p) => [p.offsetBytes, p.lengthBytes])).toEqual([[0, 120], [120, 120], [240, 120]]);
    // A corrupt byte inside a cut range fails its segment's check, as it would without the plan.
    const corrupted = store.objects.get("g1/b1")!;
    corrupted[3] = corrupted[3]! ^ 1;
    const err = (await reader.read(2, 32, 8, { generation: 1, pinned: true, plans: ahead }).catch((e: FsError) => e)) as FsError;
    expect(err.code).toBe("EIO");
    expect(err.message).toContain("g1/b1");
  });

  test("another generation is planned by metad; a block collected under the plan drops it and metad says the body moved", async () => {
    const body = blockBody(4, 16);
    let current = 1;
    const { store, plans, reader } = setup((args) => {
      if (args.generation !== undefined && args.generation !== current) throw new FsError("ESTALE", `moved to ${current}`);
      return { ...body.plan(args), generation: current };
    });
    for (const [b, block] of body.blocks.entries()) store.objects.set(block.key, body.bytes.slice(b * 16, (b + 1) * 16));
    const ahead = new ReadPlans(64);
    await reader.read(2, 0, 16, { generation: 1, pinned: true, plans: ahead });
    expect(ahead.cut(2, 2, 16, 16)).toBeNull();
    expect(ahead.cut(3, 1, 16, 16)).toBeNull();
    // The body moved on and its old blocks were collected: the plan still names them.
    current = 2;
    store.objects.delete("g1/b2");
    const err = (await reader.read(2, 32, 16, { generation: 1, pinned: true, plans: ahead }).catch((e: FsError) => e)) as FsError;
    expect(err.code).toBe("ESTALE");
    expect(plans.length).toBe(2);
    expect(ahead.cut(2, 1, 0, 16)).toBeNull();
  });
});

describe("BodyReader", () => {
  test("assembles ranges in place and leaves the gaps between them zero", async () => {
    const { store, reader } = setup(() => ({ inode: 2, generation: 5, sizeBytes: 10, lengthBytes: 10, ranges: [range("a", 0, 3, 1), range("b", 7, 2)] }));
    store.objects.set("a", new Uint8Array([9, 1, 2, 3]));
    store.objects.set("b", new Uint8Array([7, 8]));
    const { bytes, generation } = await reader.read(2, 0, 10);
    expect(Array.from(bytes)).toEqual([1, 2, 3, 0, 0, 0, 0, 7, 8, 0]);
    expect(generation).toBe(5);
  });

  test(`reads at most readConcurrencyMax (${LIMITS.readConcurrencyMax}) ranges at once`, async () => {
    const ranges = Array.from({ length: 30 }, (_, i) => range(`k${i}`, i, 1));
    const { store, reader } = setup(() => ({ inode: 2, generation: 1, sizeBytes: 30, lengthBytes: 30, ranges }));
    for (let i = 0; i < 30; i++) store.objects.set(`k${i}`, new Uint8Array([i]));
    const { bytes } = await reader.read(2, 0, 30);
    expect(Array.from(bytes)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(store.runningMax).toBe(LIMITS.readConcurrencyMax);
  });

  test(`gives up with ESTALE after readReplanMaxAttempts (${LIMITS.readReplanMaxAttempts}) plans of a body that keeps moving`, async () => {
    const { plans, reader } = setup(() => {
      throw new FsError("ESTALE", "moved");
    });
    const err = await reader.read(2, 0, 10, { generation: 1 }).catch((e: FsError) => e);
    expect((err as FsError).code).toBe("ESTALE");
    expect(plans.length).toBe(LIMITS.readReplanMaxAttempts);
    // The first plan names the caller's generation; the next ones take whatever is current.
    expect(plans.map((p) => p.generation)).toEqual([1, ...Array(LIMITS.readReplanMaxAttempts - 1).fill(undefined)]);
  });

  test("a block missing in the generation it was planned from is EIO, not a retry loop", async () => {
    const { plans, reader } = setup(() => ({ inode: 2, generation: 4, sizeBytes: 1, lengthBytes: 1, ranges: [range("gone", 0, 1)] }));
    expect(await reader.read(2, 0, 1).catch((e: FsError) => e.code)).toBe("EIO");
    expect(plans.length).toBe(2);
  });

  test("an object shorter than its range is EIO; a range past the read is EPROTO; a read over the limit is EFBIG", async () => {
    const short = setup(() => ({ inode: 2, generation: 1, sizeBytes: 4, lengthBytes: 4, ranges: [range("s", 0, 4)] }));
    short.store.objects.set("s", new Uint8Array(3));
    expect(await short.reader.read(2, 0, 4).catch((e: FsError) => e.code)).toBe("EIO");
    const wild = setup(() => ({ inode: 2, generation: 1, sizeBytes: 4, lengthBytes: 4, ranges: [range("w", 0, 2), range("w", 3, 2)] }));
    wild.store.objects.set("w", new Uint8Array(2));
    expect(await wild.reader.read(2, 0, 4).catch((e: FsError) => e.code)).toBe("EPROTO");
    const huge = setup(() => ({ inode: 2, generation: 1, sizeBytes: 2 ** 40, lengthBytes: LIMITS.readPlanWindowBytes, ranges: [] }));
    expect(await huge.reader.read(2, 0, LIMITS.readResultMaxBytes + 1).catch((e: FsError) => e.code)).toBe("EFBIG");
    expect(await huge.reader.read(2, -1, 1).catch((e: FsError) => e.code)).toBe("EINVAL");
  });

  test("into: a view of the caller's buffer, old bytes in the holes zeroed, read straight from the store", async () => {
    const { store, reader } = setup(() => ({ inode: 2, generation: 5, sizeBytes: 10, lengthBytes: 10, ranges: [range("a", 0, 3, 1), range("b", 7, 2)] }));
    store.objects.set("a", new Uint8Array([9, 1, 2, 3]));
    store.objects.set("b", new Uint8Array([7, 8]));
    const into = new Uint8Array(16).fill(0xee);
    const { bytes } = await reader.read(2, 0, 10, { into });
    expect(bytes.buffer).toBe(into.buffer);
    expect(Array.from(bytes)).toEqual([1, 2, 3, 0, 0, 0, 0, 7, 8, 0]);
    expect(into[10]).toBe(0xee);
    expect([store.readIntos, store.gets]).toEqual([2, 0]);
    expect(await reader.read(2, 0, 10, { into: new Uint8Array(9) }).catch((e: FsError) => e.code)).toBe("EINVAL");
  });

  test("into: whole segments are verified in place; a torn read is read again, corruption is EIO naming the object", async () => {
    const segmentBytes = 64;
    const object = new Uint8Array(4 * segmentBytes).map((_, i) => (i * 7) % 256);
    const checksum = { ...blockChecksum(object, segmentBytes), firstSegment: 0 };
    const whole = { ...range("blk", 0, object.byteLength), checksum };
    const { store, reader } = setup(() => ({ inode: 2, generation: 1, sizeBytes: object.byteLength, lengthBytes: object.byteLength, ranges: [whole] }));
    store.objects.set("blk", object);
    store.tornReads = 1;
    const into = new Uint8Array(object.byteLength);
    expect((await reader.read(2, 0, object.byteLength, { into })).bytes).toEqual(object);
    expect(store.readIntos).toBe(2);
    const corrupt = object.slice();
    corrupt[100] = corrupt[100]! ^ 1;
    store.objects.set("blk", corrupt);
    const err = (await reader.read(2, 0, object.byteLength, { into }).catch((e: FsError) => e)) as FsError;
    expect(err.code).toBe("EIO");
    expect(err.message).toContain("blk");
    expect(err.message).toContain("segment 1");
  });

  test("into: a range inside its segments is verified with them (a read of the window), then copied in", async () => {
    const segmentBytes = 64;
    const object = new Uint8Array(2 * segmentBytes).map((_, i) => i);
    const checksum = { ...blockChecksum(object, segmentBytes), firstSegment: 0 };
    const { store, reader } = setup(() => ({ inode: 2, generation: 1, sizeBytes: 10, lengthBytes: 10, ranges: [{ ...range("blk", 0, 10, 5), checksum }] }));
    store.objects.set("blk", object);
    const { bytes } = await reader.read(2, 0, 10, { into: new Uint8Array(10) });
    expect(Array.from(bytes)).toEqual(Array.from(object.subarray(5, 15)));
    expect([store.readIntos, store.gets]).toEqual([0, 1]);
  });

  test("into: an object shorter than its range is EIO", async () => {
    const short = setup(() => ({ inode: 2, generation: 1, sizeBytes: 4, lengthBytes: 4, ranges: [range("s", 0, 4)] }));
    short.store.objects.set("s", new Uint8Array(3));
    expect(await short.reader.read(2, 0, 4, { into: new Uint8Array(4) }).catch((e: FsError) => e.code)).toBe("EIO");
  });
});
