import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LIMITS } from "../../types/index.ts";
import type { CacheLayout } from "./layout.ts";

// Each process keeps its own counters and publishes them as stats/<pid>-<startMs>.json (temp +
// rename, so a reader never sees half a file), at most every nodeCacheStatsWriteMs and at exit.
// `nokv-fs cache stats` sums every file: the node's totals since the files were last cleared.

export interface NodeCacheCounters {
  hits: number;
  misses: number;
  bytesFromCache: number;
  bytesFilled: number;
  evictions: number;
  corrupt: number;
}

export function zeroCounters(): NodeCacheCounters {
  return { hits: 0, misses: 0, bytesFromCache: 0, bytesFilled: 0, evictions: 0, corrupt: 0 };
}

const FIELDS = Object.keys(zeroCounters()) as Array<keyof NodeCacheCounters>;

export class StatsFile {
  readonly counters = zeroCounters();
  private readonly path: string;
  private lastWriteMs = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dirty = false;

  constructor(private readonly layout: CacheLayout, startMs = Date.now()) {
    this.path = layout.statsPath(process.pid, startMs);
  }

  /** Call after counters changed: writes now, or schedules one write, never more than once a period. */
  changed(): void {
    this.dirty = true;
    if (this.timer) return;
    const waitMs = this.lastWriteMs + LIMITS.nodeCacheStatsWriteMs - Date.now();
    if (waitMs <= 0) return this.flush();
    this.timer = setTimeout(() => this.flush(), waitMs);
    this.timer.unref?.();
  }

  /** Writes the counters if they changed since the last write (also called at exit, so synchronous). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.dirty) return;
    this.dirty = false;
    this.lastWriteMs = Date.now();
    try {
      mkdirSync(this.layout.statsDir, { recursive: true });
      const tmp = this.layout.tmpPath(`stats-${process.pid}`);
      mkdirSync(this.layout.tmpDir, { recursive: true });
      writeFileSync(tmp, JSON.stringify({ ...this.counters, updatedMs: this.lastWriteMs }));
      renameSync(tmp, this.path);
    } catch {
      // Stats are advisory: a cache directory cleared under us must not fail a read.
    }
  }
}

/** The sum of every process's stats file, and how many files there were. */
export function sumStats(layout: CacheLayout): NodeCacheCounters & { processes: number } {
  const total = { ...zeroCounters(), processes: 0 };
  let names: string[];
  try {
    names = readdirSync(layout.statsDir);
  } catch {
    return total;
  }
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    try {
      const parsed = JSON.parse(readFileSync(join(layout.statsDir, name), "utf8")) as Partial<NodeCacheCounters>;
      for (const f of FIELDS) total[f] += Number.isFinite(parsed[f]) ? Number(parsed[f]) : 0;
      total.processes++;
    } catch {
      // A file of another version, or removed meanwhile: skipped.
    }
  }
  return total;
}
