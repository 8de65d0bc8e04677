import { expect, test } from "bun:test";
import { InodeKeyedCache } from "./inode-keyed-cache.ts";

test("dropping an inode drops every key set under it, and nothing else", () => {
  const cache = new InodeKeyedCache<string>(100);
  cache.set("/a", 7, "a");
  cache.set("/hard-link-to-a", 7, "a");
  cache.set("/b", 8, "b");
  cache.dropInode(7);
  expect(cache.get("/a")).toBeUndefined();
  expect(cache.get("/hard-link-to-a")).toBeUndefined();
  expect(cache.get("/b")).toBe("b");
  cache.dropInode(99); // nothing cached under it
  expect(cache.size).toBe(1);
});

test("a new key past maxEntries starts over; setting a held key again does not", () => {
  const cache = new InodeKeyedCache<number>(3);
  for (let i = 0; i < 3; i++) cache.set(`k${i}`, i, i);
  cache.set("k1", 1, 10);
  expect(cache.size).toBe(3);
  cache.set("k3", 3, 3);
  expect(cache.size).toBe(1);
  expect(cache.get("k0")).toBeUndefined();
  expect(cache.get("k3")).toBe(3);
});
