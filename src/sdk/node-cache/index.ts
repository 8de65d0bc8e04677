import { resolve } from "node:path";
import { NodeCache, type NodeCacheConfig } from "./entry-store.ts";
import { CacheLayout } from "./layout.ts";
import { StatsFile } from "./stats.ts";

export { NodeCache, type EntryRead, type NodeCacheConfig } from "./entry-store.ts";
export { CacheLayout, entryHash, LAYOUT_VERSION } from "./layout.ts";
export { scanEntries, evictOver, type EntryInfo } from "./eviction.ts";
export { sumStats, type NodeCacheCounters } from "./stats.ts";
export { clearCache } from "./clear.ts";

// One NodeCache per cache directory and store per process, shared by every client of the process:
// its stats file is named by the pid, and its open entries and verified segments serve them all.

const shared = new Map<string, { cache: NodeCache; users: number }>();
let exitHooked = false;

/**
 * The process's cache for this directory and store. The first client's size limit holds for the
 * process (one running total, one eviction policy); later clients share it.
 */
export function acquireNodeCache(config: NodeCacheConfig): NodeCache {
  const cacheDir = resolve(config.cacheDir);
  const id = `${cacheDir}\0${config.storeId}`;
  let slot = shared.get(id);
  if (!slot) shared.set(id, (slot = { cache: new NodeCache({ ...config, cacheDir }, statsFor(cacheDir)), users: 0 }));
  slot.users++;
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", () => {
      for (const stats of statsFiles.values()) stats.flush();
    });
  }
  return slot.cache;
}

/** One stats file per cache directory and process, whatever stores its caches serve. */
const statsFiles = new Map<string, StatsFile>();

function statsFor(cacheDir: string): StatsFile {
  let stats = statsFiles.get(cacheDir);
  if (!stats) statsFiles.set(cacheDir, (stats = new StatsFile(new CacheLayout(cacheDir))));
  return stats;
}

export function releaseNodeCache(cache: NodeCache): void {
  for (const [id, slot] of shared) {
    if (slot.cache !== cache) continue;
    if (--slot.users > 0) return;
    shared.delete(id);
    cache.close();
  }
}
