import { describe, expect, test } from "bun:test";
import { FsError, LIMITS } from "../types/index.ts";
import { BlockCache } from "./block-cache.ts";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe("BlockCache", () => {
  test("a lookup hits when a cached range of the object covers it, and misses otherwise", () => {
    const cache = new BlockCache(1024);
    cache.put("a", 100, new Uint8Array(100).map((_, i) => i));
    expect(Array.from(cache.get("a", 110, 3)!)).toEqual([10, 11, 12]);
    expect(cache.get("a", 100, 100)?.byteLength).toBe(100);
    expect(cache.get("a", 99, 2)).toBeNull();
    expect(cache.get("a", 150, 51)).toBeNull();
    expect(cache.get("b", 100, 1)).toBeNull();
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 3, entries: 1, bytes: 100 });
  });

  test("evicts the least recently used range once over capacity; a hit makes a range recent", () => {
    const cache = new BlockCache(800);
    for (const key of "abcdefgh") cache.put(key, 0, bytes(100));
    expect(cache.get("a", 0, 1)).not.toBeNull();
    cache.put("i", 0, bytes(100));
    expect(cache.get("b", 0, 1)).toBeNull();
    for (const key of "acdefghi") expect(cache.get(key, 0, 1)).not.toBeNull();
    expect(cache.stats()).toMatchObject({ evictions: 1, entries: 8, bytes: 800 });
  });

  test("keeps no range above an eighth of its capacity, and nothing at capacity 0", () => {
    const cache = new BlockCache(800);
    expect(cache.accepts(100)).toBe(true);
    expect(cache.accepts(101)).toBe(false);
    cache.put("big", 0, bytes(101));
    expect(cache.stats().entries).toBe(0);
    const off = new BlockCache(0);
    off.put("a", 0, bytes(1));
    expect(off.get("a", 0, 1)).toBeNull();
    expect(off.stats()).toMatchObject({ hits: 0, misses: 1, entries: 0 });
  });

  test("holds at most blockCacheRangesPerObjectMax ranges of one object, dropping its oldest", () => {
    const cache = new BlockCache(1024 * 1024);
    const max = LIMITS.blockCacheRangesPerObjectMax;
    for (let i = 0; i <= max; i++) cache.put("a", i * 10, bytes(10));
    expect(cache.stats().entries).toBe(max);
    expect(cache.get("a", 0, 1)).toBeNull();
    expect(cache.get("a", max * 10, 10)).not.toBeNull();
  });

  test("the same range put twice is kept once; clear empties it", () => {
    const cache = new BlockCache(1000);
    cache.put("a", 0, bytes(10));
    cache.put("a", 0, bytes(10, 2));
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 10 });
    expect(cache.get("a", 0, 1)![0]).toBe(1);
    cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(() => new BlockCache(-1)).toThrow(FsError);
  });
});
