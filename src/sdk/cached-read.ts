import { LIMITS } from "../types/index.ts";
import type { MetaCache } from "./meta-cache.ts";
import type { DataPath } from "./objects.ts";

// readFile's fast path for a training epoch: when the metadata cache holds the file's attributes
// and its one-range plan, and the bytes are in the block cache or the node cache, the read is
// answered without a request and with one pread. Anything else (a miss, a hole, a file of
// several ranges, a corrupt entry) answers null and the ordinary path runs, which also fills.

/** null at once when the metadata or the node cache is not there; else a pread whose answer may still be null. */
export function cachedWholeRead(meta: MetaCache, data: DataPath, path: string): Uint8Array | Promise<Uint8Array | null> | null {
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
  return node.readCached(range).then((bytes) => {
    if (!bytes) return null;
    meta.hits += 2;
    if (!data.cache.accepts(bytes.byteLength)) return bytes;
    data.cache.put(range.key, range.objectOffset, bytes);
    return bytes.slice();
  });
}
