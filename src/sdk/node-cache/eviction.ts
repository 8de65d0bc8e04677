import { readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { LIMITS } from "../../types/index.ts";
import { clearIfStale, tryLock, unlock } from "./fill-lock.ts";
import type { CacheLayout } from "./layout.ts";

// Least recently used goes first, by mtime: a hit bumps its entry's mtime (at most once a
// minute per process), a fill sets it. One process evicts at a time (evict.lock); the others
// keep reading and filling meanwhile. A reader holding an evicted entry open keeps reading the
// unlinked file (blocks are immutable) until it closes it; the space returns then.

export interface EntryInfo {
  path: string;
  sizeBytes: number;
  mtimeMs: number;
}

/** Every entry on disk (files vanishing during the scan are skipped). */
export function scanEntries(layout: CacheLayout): EntryInfo[] {
  const out: EntryInfo[] = [];
  let dirs: string[];
  try {
    dirs = readdirSync(layout.blocksDir);
  } catch {
    return out;
  }
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(join(layout.blocksDir, dir));
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(layout.blocksDir, dir, name);
      try {
        const st = statSync(path);
        if (st.isFile()) out.push({ path, sizeBytes: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // Evicted or cleared by another process meanwhile.
      }
    }
  }
  return out;
}

export interface EvictionResult {
  /** False when another process holds evict.lock (it is evicting now). */
  ran: boolean;
  evicted: number;
  bytesEvicted: number;
  /** The entries removed (a process drops those it holds open). */
  paths: string[];
  /** The total on disk after eviction (or as scanned, when nothing had to go). */
  totalBytes: number;
}

/** Removes oldest entries until the total is at most nodeCacheEvictTargetPercent of `limitBytes`. */
export function evictOver(layout: CacheLayout, limitBytes: number): EvictionResult {
  const lock = layout.evictLockPath;
  if (!tryLock(lock) && !(clearIfStale(lock) && tryLock(lock))) return { ran: false, evicted: 0, bytesEvicted: 0, totalBytes: 0, paths: [] };
  try {
    const entries = scanEntries(layout);
    let totalBytes = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
    let evicted = 0;
    let bytesEvicted = 0;
    const paths: string[] = [];
    if (totalBytes > limitBytes) {
      const targetBytes = Math.floor((limitBytes * LIMITS.nodeCacheEvictTargetPercent) / 100);
      entries.sort((a, b) => a.mtimeMs - b.mtimeMs);
      for (const e of entries) {
        if (totalBytes <= targetBytes) break;
        try {
          unlinkSync(e.path);
          paths.push(e.path);
          evicted++;
          bytesEvicted += e.sizeBytes;
        } catch {
          // Already gone (cleared meanwhile): it no longer counts either way.
        }
        totalBytes -= e.sizeBytes;
      }
    }
    return { ran: true, evicted, bytesEvicted, totalBytes, paths };
  } finally {
    unlock(lock);
  }
}
