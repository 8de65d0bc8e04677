import { close, existsSync, mkdirSync, open, unlinkSync, utimesSync, write } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { promisify } from "node:util";
import { LIMITS, segmentWindow, verifySegments, type RangeChecksum } from "../../types/index.ts";
import { evictOver, scanEntries } from "./eviction.ts";
import { clearIfStale, tryLockAsync, unlock } from "./fill-lock.ts";
import { CacheLayout, entryHash } from "./layout.ts";
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
  private readonly hashes = new Map<string, string>();
  private totalBytes: number | null = null;
  private scannedMs = 0;

  constructor(readonly config: NodeCacheConfig) {
    this.layout = new CacheLayout(config.cacheDir);
    this.stats = new StatsFile(this.layout);
    this.ensureDirs();
  }

  async read(r: EntryRead): Promise<Uint8Array> {
    const h = this.hashOf(r.key);
    const hit = this.readHit(h, r);
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
          unlock(this.layout.lockPath(h));
        }
      } else if (!clearIfStale(this.layout.lockPath(h))) {
        await Bun.sleep(LIMITS.nodeCacheFillPollMs);
      }
      const filled = this.readHit(h, r);
      if (filled) return filled;
      if (Date.now() > deadlineMs) return this.uncached(r, await r.fetchWhole());
    }
  }

  /** Whether the object has an entry (warmup skips those). */
  has(key: string): boolean {
    return existsSync(this.layout.entryPath(this.hashOf(key)));
  }

  /** The entry hash of a key, remembered for the keys read lately (a sha256 per read shows in profiles). */
  private hashOf(key: string): string {
    let h = this.hashes.get(key);
    if (h === undefined) {
      h = entryHash(this.config.storeId, key);
      this.hashes.set(key, h);
      if (this.hashes.size > LIMITS.nodeCacheOpenFilesMax) this.hashes.delete(this.hashes.keys().next().value!);
    }
    return h;
  }

  close(): void {
    this.stats.flush();
    this.open.closeAll();
  }

  private readHit(h: string, r: EntryRead): Uint8Array | null {
    const path = this.layout.entryPath(h);
    const nowMs = Date.now();
    const entry = this.open.get(path, nowMs);
    if (!entry) return null;
    const bytes = this.verifiedRange(entry, r);
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
    this.stats.counters.hits++;
    this.stats.counters.bytesFromCache += bytes.byteLength;
    this.stats.changed();
    return bytes;
  }

  /** The range from the entry, or null when the entry fails its size or its checksums. */
  private verifiedRange(entry: OpenEntry, r: EntryRead): Uint8Array | null {
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
    const bytes = this.open.read(entry, window.offsetBytes, window.lengthBytes);
    if (!bytes || verifySegments(c, bytes)) return null;
    for (let s = c.firstSegment; s < c.firstSegment + segments; s++) entry.verified.add(s);
    const from = r.objectOffset - window.offsetBytes;
    return bytes.subarray(from, from + r.lengthBytes);
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
    const late = this.readHit(h, r);
    if (late) return late;
    const whole = await r.fetchWhole();
    this.stats.counters.misses++;
    this.stats.changed();
    if (whole.byteLength <= this.config.maxBytes) await this.publish(h, whole, verifiedBy(r));
    return this.uncached(r, whole, false);
  }

  /**
   * Writes the temp file and renames it into place, keeping its descriptor open: the next hit in
   * this process reads the same inode without an open, trusting the segments `verified` already.
   */
  private async publish(h: string, whole: Uint8Array, verified: number[]): Promise<void> {
    const tmp = this.layout.tmpPath(h);
    let fd: number | null = null;
    try {
      await mkdir(this.layout.entryDir(h), { recursive: true });
      fd = await openAsync(tmp, "wx+");
      for (let done = 0; done < whole.byteLength; ) done += await writeAsync(fd, whole, done, whole.byteLength - done, done);
      await rename(tmp, this.layout.entryPath(h));
    } catch {
      if (fd !== null) await closeAsync(fd).catch(() => undefined);
      removeQuietly(tmp); // A full or cleared disk costs the cache, never the read.
      return;
    }
    this.open.adopt(this.layout.entryPath(h), fd, verified, Date.now());
    this.stats.counters.bytesFilled += whole.byteLength;
    this.stats.changed();
    this.account(whole.byteLength);
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

const openAsync = promisify(open);
const closeAsync = promisify(close);
const writeAsync = (fd: number, bytes: Uint8Array, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => write(fd, bytes, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/** The segments the reader verified in the bytes it fetched (fetchWhole checks the range's window). */
function verifiedBy(r: EntryRead): number[] {
  if (!r.checksum) return [];
  const segments = r.checksum.crc32.length / 8;
  return Array.from({ length: segments }, (_, i) => r.checksum!.firstSegment + i);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}
