import { existsSync, mkdirSync, unlinkSync, utimesSync } from "node:fs";
import { mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { LIMITS, segmentWindow, verifySegments, type RangeChecksum } from "../../types/index.ts";
import { evictOver, scanEntries } from "./eviction.ts";
import { clearIfStale, tryLockAsync } from "./fill-lock.ts";
import { CacheLayout, entryHash } from "./layout.ts";
import { mapMaybe, type Maybe } from "./maybe.ts";
import { OpenEntries, type OpenEntry } from "./open-entries.ts";
import { StatsFile } from "./stats.ts";

// The node cache: whole objects in files shared by every process of a node (layout.ts). A read
// looks for the entry; a hit is a pread of the bytes wanted, verified against their checksum
// segments (once per segment and process); a miss takes the fill lock, downloads the whole
// object, writes a temp file and renames it into place. Others wanting the same object poll for
// the entry meanwhile, so one object is downloaded once at a time per node.

/** One object read: bytes [objectOffset, objectOffset + lengthBytes) of `key`. */
export interface EntryRead {
  key: string;
  objectOffset: number;
  lengthBytes: number;
  /** The checksums of the segments around the range; absent for bodies older than checksums. */
  checksum?: RangeChecksum;
  /** The whole object from the store, already verified by the caller. */
  fetchWhole(): Promise<Uint8Array>;
}

export interface NodeCacheConfig {
  cacheDir: string;
  maxBytes: number;
  /** The object store's identity: the same key in two stores is two entries. */
  storeId: string;
}

export class NodeCache {
  readonly layout: CacheLayout;
  readonly stats: StatsFile;
  private readonly open = new OpenEntries();
  /** Fills this process is running: a second reader of the object waits for it, not for the lock. */
  private readonly filling = new Map<string, Promise<unknown>>();
  private hashes = new Map<string, string>();
  private olderHashes = new Map<string, string>();
  /** Entry directories (256 at most) this process made or found; `cache clear` empties it (ensureDirs). */
  private readonly madeDirs = new Set<string>();
  private totalBytes: number | null = null;
  private scannedMs = 0;

  /** `stats`: the process's stats file for this directory (shared by the caches of several stores). */
  constructor(readonly config: NodeCacheConfig, stats?: StatsFile) {
    this.layout = new CacheLayout(config.cacheDir);
    this.stats = stats ?? new StatsFile(this.layout);
    this.ensureDirs();
  }

  async read(r: EntryRead): Promise<Uint8Array> {
    const h = this.hashOf(r.key);
    const hit = await this.readHit(h, r);
    if (hit) return hit;
    const deadlineMs = Date.now() + LIMITS.nodeCacheFillWaitMaxMs;
    for (;;) {
      const mine = this.filling.get(h);
      if (mine) {
        await mine.catch(() => undefined);
      } else if (await this.tryLockFill(h)) {
        const fill = this.fillLocked(h, r);
        this.filling.set(h, fill);
        try {
          return await fill;
        } finally {
          this.filling.delete(h);
          // Off the event loop: an unlink waits for the directory, which fills elsewhere hold.
          unlink(this.layout.lockPath(h)).catch(() => undefined);
        }
      } else if (!clearIfStale(this.layout.lockPath(h))) {
        await new Promise((resolve) => setTimeout(resolve, LIMITS.nodeCacheFillPollMs));
      }
      const filled = await this.readHit(h, r);
      if (filled) return filled;
      if (Date.now() > deadlineMs) return this.uncached(r, await r.fetchWhole());
    }
  }

  /** The range from the entry when it is on disk and verifies, else null (no fill, no wait); in place when it can. */
  readCached(r: Omit<EntryRead, "fetchWhole">): Maybe<Uint8Array | null> {
    return this.readHit(this.hashOf(r.key), r);
  }

  /** Whether the object has an entry on disk. */
  has(key: string): boolean {
    return existsSync(this.layout.entryPath(this.hashOf(key)));
  }

  /**
   * The entry hash of a key, remembered for the keys read lately (a sha256 per read shows in
   * profiles): two generations of nodeCacheOpenFilesMax keys, the older dropped whole, since
   * deleting a Map's oldest key one at a time costs JSC a walk over every slot deleted before it.
   */
  private hashOf(key: string): string {
    const young = this.hashes.get(key);
    if (young !== undefined) return young;
    const h = this.olderHashes.get(key) ?? entryHash(this.config.storeId, key);
    this.hashes.set(key, h);
    if (this.hashes.size >= LIMITS.nodeCacheOpenFilesMax) {
      this.olderHashes = this.hashes;
      this.hashes = new Map();
    }
    return h;
  }

  close(): void {
    this.stats.flush();
    this.open.closeAll();
  }

  /** The range from the entry (null: no entry, or a corrupt one, now removed); one pread on the way. */
  private readHit(h: string, r: Omit<EntryRead, "fetchWhole">, countHit = true): Maybe<Uint8Array | null> {
    const path = this.layout.entryPath(h);
    const nowMs = Date.now();
    const entry = this.open.get(path, nowMs);
    if (!entry) return null;
    // A read error of the cache disk counts as a corrupt entry: the store still has the block.
    return mapMaybe(
      () => this.verifiedRange(entry, r),
      (bytes) => this.afterHit(path, entry, nowMs, bytes, countHit),
      () => this.afterHit(path, entry, nowMs, null, countHit),
    );
  }

  private afterHit(path: string, entry: OpenEntry, nowMs: number, bytes: Uint8Array | null, countHit: boolean): Uint8Array | null {
    if (!bytes) {
      this.open.drop(path);
      removeQuietly(path);
      this.stats.counters.corrupt++;
      this.stats.changed();
      return null;
    }
    if (nowMs - entry.touchedMs >= LIMITS.nodeCacheTouchIntervalMs) {
      entry.touchedMs = nowMs;
      try {
        utimesSync(path, nowMs / 1000, nowMs / 1000);
      } catch {
        // Evicted meanwhile: the bytes read are still the object's.
      }
    }
    if (!countHit) return bytes;
    this.stats.counters.hits++;
    this.stats.counters.bytesFromCache += bytes.byteLength;
    this.stats.changed();
    return bytes;
  }

  /** The range from the entry, or null when the entry fails its size or its checksums. */
  private verifiedRange(entry: OpenEntry, r: Omit<EntryRead, "fetchWhole">): Maybe<Uint8Array | null> {
    const c = r.checksum;
    if (!c) {
      if (r.objectOffset + r.lengthBytes > entry.sizeBytes) return null;
      return this.open.read(entry, r.objectOffset, r.lengthBytes);
    }
    if (entry.sizeBytes !== c.objectSizeBytes) return null;
    const segments = c.crc32.length / 8;
    let unverified = false;
    for (let s = c.firstSegment; s < c.firstSegment + segments && !unverified; s++) unverified = !entry.verified.has(s);
    if (!unverified) return this.open.read(entry, r.objectOffset, r.lengthBytes);
    const window = segmentWindow(c);
    const verify = (bytes: Uint8Array | null): Uint8Array | null => {
      if (!bytes || verifySegments(c, bytes)) return null;
      for (let s = c.firstSegment; s < c.firstSegment + segments; s++) entry.verified.add(s);
      const from = r.objectOffset - window.offsetBytes;
      return bytes.subarray(from, from + r.lengthBytes);
    };
    const bytes = this.open.read(entry, window.offsetBytes, window.lengthBytes);
    return bytes instanceof Promise ? bytes.then(verify) : verify(bytes);
  }

  private async tryLockFill(h: string): Promise<boolean> {
    try {
      return await tryLockAsync(this.layout.lockPath(h));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      this.ensureDirs(); // `cache clear` removed the directories under us.
      return tryLockAsync(this.layout.lockPath(h));
    }
  }

  private async fillLocked(h: string, r: EntryRead): Promise<Uint8Array> {
    // Filled by another process between our miss and our lock.
    const late = await this.readHit(h, r);
    if (late) return late;
    const whole = await r.fetchWhole();
    this.stats.counters.misses++;
    this.stats.changed();
    if (whole.byteLength <= this.config.maxBytes && (await this.publish(h, whole))) {
      // The caller's bytes come back out of the new entry, the way every hit leaves the cache: the
      // entry is opened and its segments verified now (a write that did not land is caught at
      // once), and the hit path is warm before the next epoch.
      const back = await this.readHit(h, r, false);
      if (back) return back;
    }
    return this.uncached(r, whole, false);
  }

  /**
   * Writes the temp file and renames it into place, keeping its descriptor open: the next hit in
   * this process reads the same inode without an open, trusting the segments `verified` already.
   */
  private async publish(h: string, whole: Uint8Array): Promise<boolean> {
    const tmp = this.layout.tmpPath(h);
    const path = this.layout.entryPath(h);
    try {
      const entryDir = this.layout.entryDir(h);
      if (!this.madeDirs.has(entryDir)) {
        await mkdir(entryDir, { recursive: true });
        this.madeDirs.add(entryDir);
      }
      // Whole-file calls, each one task in the thread pool: a cold epoch's fills queue there.
      await writeFile(tmp, whole, { flag: "wx" });
      await rename(tmp, path);
    } catch {
      removeQuietly(tmp); // A full or cleared disk costs the cache, never the read.
      this.madeDirs.clear(); // `cache clear` may have removed them: the next fill makes them again.
      try {
        this.ensureDirs();
      } catch {
        // A disk that fails this costs the next fill too, never a read.
      }
      return false;
    }
    this.stats.counters.bytesFilled += whole.byteLength;
    this.stats.changed();
    this.account(whole.byteLength);
    return true;
  }

  /** Keeps the running total: re-counted from disk now and then, fills added in between. */
  private account(addedBytes: number): void {
    const nowMs = Date.now();
    if (this.totalBytes === null || nowMs - this.scannedMs >= LIMITS.nodeCacheScanIntervalMs) {
      this.totalBytes = scanEntries(this.layout).reduce((sum, e) => sum + e.sizeBytes, 0);
      this.scannedMs = nowMs;
    } else {
      this.totalBytes += addedBytes;
    }
    if (this.totalBytes <= this.config.maxBytes) return;
    const result = evictOver(this.layout, this.config.maxBytes);
    if (!result.ran) return;
    this.totalBytes = result.totalBytes;
    this.scannedMs = nowMs;
    for (const path of result.paths) this.open.drop(path);
    this.stats.counters.evictions += result.evicted;
    this.stats.changed();
  }

  /** The range cut out of whole object bytes read past the cache. */
  private uncached(r: EntryRead, whole: Uint8Array, countMiss = true): Uint8Array {
    if (countMiss) {
      this.stats.counters.misses++;
      this.stats.changed();
    }
    // A copy: the caller may keep the range (block cache) and must not pin the whole object.
    return whole.slice(r.objectOffset, r.objectOffset + r.lengthBytes);
  }

  private ensureDirs(): void {
    for (const dir of [this.layout.blocksDir, this.layout.tmpDir, this.layout.locksDir, this.layout.statsDir]) mkdirSync(dir, { recursive: true });
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}
