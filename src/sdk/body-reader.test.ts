import { describe, expect, test } from "bun:test";
import type { ByteRange, ListPage, ObjectHead, ObjectStore } from "../objstore/index.ts";
import { FsError, LIMITS, type ReadPlan, type ReadRange } from "../types/index.ts";
import { BlockCache } from "./block-cache.ts";
import { BodyReader } from "./body-reader.ts";
import { DataPath } from "./objects.ts";

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
});
