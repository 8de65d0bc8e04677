import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CacheLayout } from "./layout.ts";

/** Removes every entry (and leftover temp files); stats files and live locks stay. Returns entries removed. */
export function clearCache(layout: CacheLayout): number {
  let removed = 0;
  let dirs: string[] = [];
  try {
    dirs = readdirSync(layout.blocksDir);
  } catch {
    return 0;
  }
  for (const dir of dirs) {
    try {
      removed += readdirSync(join(layout.blocksDir, dir)).length;
    } catch {
      continue;
    }
    rmSync(join(layout.blocksDir, dir), { recursive: true, force: true });
  }
  rmSync(layout.tmpDir, { recursive: true, force: true });
  return removed;
}
