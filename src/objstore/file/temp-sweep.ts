// Temp files a file:// store leaves when a writer dies between writing `.nokv-tmp-*` and renaming
// it over its key (a killed client, a power cut). No key names them, so nothing else ever would
// remove them: GC sweeps those older than LIMITS.tempFileMinAgeMs (far longer than a block write
// takes, so a write in progress is never touched) and fsck reports them.
import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { TEMP_COMPONENT_PREFIX } from "../keys.ts";

export interface TempFile {
  /** Path relative to the store root. */
  path: string;
  sizeBytes: number;
  ageMs: number;
}

export interface TempSweep {
  found: TempFile[];
  deleted: number;
  bytesDeleted: number;
}

/** Every temp file under `root` at least `minAgeMs` old; deleted too unless `dryRun`. */
export async function sweepTempFiles(root: string, options: { minAgeMs: number; dryRun: boolean; nowMs?: number }): Promise<TempSweep> {
  const nowMs = options.nowMs ?? Date.now();
  const out: TempSweep = { found: [], deleted: 0, bytesDeleted: 0 };
  const dirs = [""];
  while (dirs.length > 0) {
    const rel = dirs.pop()!;
    let entries;
    try {
      entries = await readdir(join(root, rel), { withFileTypes: true });
    } catch {
      continue; // pruned by a concurrent delete
    }
    for (const entry of entries) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) dirs.push(path);
      else if (entry.name.startsWith(TEMP_COMPONENT_PREFIX)) await visit(root, path, nowMs, options, out);
    }
  }
  return out;
}

async function visit(root: string, path: string, nowMs: number, options: { minAgeMs: number; dryRun: boolean }, out: TempSweep): Promise<void> {
  const stats = await lstat(join(root, path)).catch(() => null);
  if (!stats?.isFile()) return;
  // Date.now() is whole milliseconds and mtime is not: a file written this millisecond is age 0.
  const ageMs = Math.max(0, nowMs - stats.mtimeMs);
  if (ageMs < options.minAgeMs) return;
  out.found.push({ path, sizeBytes: stats.size, ageMs });
  if (options.dryRun) return;
  try {
    await rm(join(root, path));
    out.deleted++;
    out.bytesDeleted += stats.size;
  } catch {
    // Gone already (renamed by a late writer, or removed by another sweep): nothing to do.
  }
}
