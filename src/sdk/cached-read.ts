import { LIMITS } from "../types/index.ts";
import type { MetaCache } from "./meta-cache.ts";
import type { Maybe } from "./node-cache/maybe.ts";
import type { DataPath } from "./objects.ts";

// readFile's fast path for a training epoch: when the metadata cache holds the file's attributes
// and its one-range plan, and the bytes are in the block cache or the node cache, the read is
// answered without a request, with one pread and, from memory, without a promise. Anything else (a miss, a hole, a file of
// several ranges, a corrupt entry) answers null and the ordinary path runs, which also fills.

/** The bytes, or null (a miss), now or later: later when the entry read went to the thread pool. */
export function cachedWholeRead(meta: MetaCache, data: DataPath, path: string): Maybe<Uint8Array | null> {
  const attrs = meta.peekStat(path);
  if (!attrs || attrs.type !== "file" || attrs.sizeBytes === 0 || attrs.sizeBytes > LIMITS.readPlanWindowBytes) return null;
  const plan = meta.peekPlan(attrs.inode, attrs.generation, 0, attrs.sizeBytes);
  const range = plan?.ranges.length === 1 ? plan.ranges[0]! : null;
  if (!range || range.outputOffset !== 0 || range.lengthBytes !== attrs.sizeBytes || plan!.sizeBytes !== attrs.sizeBytes) return null;
  const fromMemory = data.cache.get(range.key, range.objectOffset, range.lengthBytes);
  // Bytes the block cache keeps must not reach a caller who may write into them.
  if (fromMemory) {
    meta.hits += 2;
    return fromMemory.slice();
  }
  const node = data.nodeCache();
  if (!node) return null;
  const kept = (bytes: Uint8Array | null): Uint8Array | null => {
    if (!bytes) return null;
    meta.hits += 2;
    if (!data.cache.accepts(bytes.byteLength)) return bytes;
    data.cache.put(range.key, range.objectOffset, bytes);
    return bytes.slice();
  };
  const bytes = node.readCached(range);
  return bytes instanceof Promise ? bytes.then(kept) : kept(bytes);
}
