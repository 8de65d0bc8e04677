import { resolve } from "node:path";
import { NodeCache, type NodeCacheConfig } from "./entry-store.ts";

export { NodeCache, type EntryRead, type NodeCacheConfig } from "./entry-store.ts";
export { CacheLayout, entryHash, LAYOUT_VERSION } from "./layout.ts";
export { scanEntries, evictOver, type EntryInfo } from "./eviction.ts";
export { sumStats, type NodeCacheCounters } from "./stats.ts";
export { clearCache } from "./clear.ts";

// One NodeCache per cache directory and store per process, shared by every client of the process:
// its stats file is named by the pid, and its open entries and verified segments serve them all.

const shared = new Map<string, { cache: NodeCache; users: number }>();
let exitHooked = false;

export function acquireNodeCache(config: NodeCacheConfig): NodeCache {
  const id = `${resolve(config.cacheDir)}\0${config.storeId}\0${config.maxBytes}`;
  let slot = shared.get(id);
  if (!slot) shared.set(id, (slot = { cache: new NodeCache({ ...config, cacheDir: resolve(config.cacheDir) }), users: 0 }));
  slot.users++;
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", () => {
      for (const s of shared.values()) s.cache.stats.flush();
    });
  }
  return slot.cache;
}

export function releaseNodeCache(cache: NodeCache): void {
  for (const [id, slot] of shared) {
    if (slot.cache !== cache) continue;
    if (--slot.users > 0) return;
    shared.delete(id);
    cache.close();
  }
}
