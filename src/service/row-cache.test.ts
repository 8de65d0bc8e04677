import { expect, test } from "bun:test";
import { LIMITS } from "../types/index.ts";
import type { MetadataCommand } from "../schema/index.ts";
import { RowCache } from "./row-cache.ts";

const command = (mutations: MetadataCommand["mutations"]): MetadataCommand => ({
  shard: 1, version: 7, kind: "create_file", timestampMs: 0, nextId: 2, predicates: [], mutations, watchEvents: [], keepHistory: false,
});

test("rows follow applied commands, misses load once, unknown families clear everything", () => {
  const cache = new RowCache();
  let loads = 0;
  const load = () => (loads++, null);
  expect(cache.dentry({ mount: 1, parent: 1, name: "a" }, load)).toBeNull();
  expect(cache.dentry({ mount: 1, parent: 1, name: "a" }, load)).toBeNull();
  expect(loads).toBe(1);
  cache.applied(command([{ family: "dentry", op: "insert", key: { mount: 1, parent: 1, name: "a" }, value: { inode: 5, type: "file" } }]));
  expect(cache.dentry({ mount: 1, parent: 1, name: "a" }, load)).toEqual({ name: "a", inode: 5, type: "file", version: 7 });
  cache.applied(command([{ family: "dentry", op: "delete", key: { mount: 1, parent: 1, name: "a" } }]));
  expect(cache.dentry({ mount: 1, parent: 1, name: "a" }, load)).toBeNull();
  expect(loads).toBe(1);
  cache.applied(command([{ family: "future_family", op: "put" } as unknown as MetadataCommand["mutations"][number]]));
  cache.dentry({ mount: 1, parent: 1, name: "a" }, load);
  expect(loads).toBe(2);
});

test("the cache stays within its named limits", () => {
  const cache = new RowCache();
  for (let i = 0; i < LIMITS.inodeCacheMaxEntries + 500; i++) cache.inode(1 + (i % 3), i, () => null);
  for (let i = 0; i < LIMITS.dentryCacheMaxEntries + 500; i++) cache.dentry({ mount: 1, parent: i % 7, name: `n${i}` }, () => null);
  expect(cache.entries.inodes).toBeLessThanOrEqual(LIMITS.inodeCacheMaxEntries);
  expect(cache.entries.dentries).toBeLessThanOrEqual(LIMITS.dentryCacheMaxEntries);
});
