import { expect, test } from "bun:test";
import { NestedGenerations } from "./generations.ts";

test("entries stay within two generations; a hit in the old one survives the next turn", () => {
  const cache = new NestedGenerations<number>(2, 100);
  for (let i = 0; i < 150; i++) cache.set(1, i, undefined, i);
  expect(cache.entries).toBeLessThanOrEqual(200);
  expect(cache.get(1, 10)).toBe(10); // old generation: copied to the young one
  for (let i = 150; i < 249; i++) cache.set(1, i, undefined, i);
  expect(cache.get(1, 10)).toBe(10); // survived the turn that dropped its neighbours
  expect(cache.get(1, 11)).toBeUndefined();
  expect(cache.get(1, 248)).toBe(248);
});

test("a newer write shadows the old generation's value; null is a value; three-key paths", () => {
  const cache = new NestedGenerations<string | null>(3, 4);
  cache.set(1, 2, "a", "first");
  for (let i = 0; i < 4; i++) cache.set(1, 3, `n${i}`, null);
  cache.set(1, 2, "a", "second");
  expect(cache.get(1, 2, "a")).toBe("second");
  expect(cache.get(1, 3, "n3")).toBeNull();
  expect(cache.get(2, 2, "a")).toBeUndefined();
  cache.clear();
  expect(cache.get(1, 2, "a")).toBeUndefined();
  expect(cache.entries).toBe(0);
});

test("300,000 writes through 100,000-entry generations stay bounded", () => {
  const cache = new NestedGenerations<object>(2, 100_000);
  for (let i = 0; i < 300_000; i++) cache.set(1, i, undefined, { i });
  expect(cache.entries).toBeLessThanOrEqual(200_000);
});
