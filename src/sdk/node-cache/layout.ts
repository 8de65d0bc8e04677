import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";

// The on-disk layout of the node cache, shared with the Python SDK (python/): change nothing here
// without changing it there. Every path derives from the cache directory and one hash:
//   v1/blocks/<h[0:2]>/<h[2:]>   the whole object, filled by rename
//   v1/tmp/<h>.<pid>.<hex>       a fill in progress
//   v1/locks/<h>                 who is filling it (O_EXCL, holds the pid)
//   v1/evict.lock                who is evicting (O_EXCL, holds the pid)
//   v1/stats/<pid>-<startMs>.json  one process's counters

export const LAYOUT_VERSION = "v1";

/** h: lowercase hex sha256 of storeId + "\n" + objectKey (UTF-8). */
export function entryHash(storeId: string, objectKey: string): string {
  return createHash("sha256").update(`${storeId}\n${objectKey}`, "utf8").digest("hex");
}

export class CacheLayout {
  readonly root: string;
  readonly blocksDir: string;

  constructor(readonly cacheDir: string) {
    this.root = join(cacheDir, LAYOUT_VERSION);
    this.blocksDir = join(this.root, "blocks");
  }

  get tmpDir(): string {
    return join(this.root, "tmp");
  }
  get locksDir(): string {
    return join(this.root, "locks");
  }
  get statsDir(): string {
    return join(this.root, "stats");
  }
  get evictLockPath(): string {
    return join(this.root, "evict.lock");
  }

  entryDir(h: string): string {
    return `${this.blocksDir}/${h.slice(0, 2)}`;
  }
  /** Plain concatenation (h is hex, blocksDir normalized): it runs once per read. */
  entryPath(h: string): string {
    return `${this.blocksDir}/${h.slice(0, 2)}/${h.slice(2)}`;
  }
  lockPath(h: string): string {
    return join(this.locksDir, h);
  }
  /** A fill's temporary file: unique per process and attempt, in the same filesystem as the entry. */
  tmpPath(h: string): string {
    return join(this.tmpDir, `${h}.${process.pid}.${randomBytes(6).toString("hex")}`);
  }
  statsPath(pid: number, startMs: number): string {
    return join(this.statsDir, `${pid}-${startMs}.json`);
  }
}
