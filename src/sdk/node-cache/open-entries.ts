import { closeSync, fstatSync, openSync, read, readSync, statSync } from "node:fs";
import { LIMITS } from "../../types/index.ts";
import type { Maybe } from "./maybe.ts";

// Entry files kept open, least recently used first, so a hit costs one pread and no open/close.
// Each remembers which checksum segments this process has verified in it: an entry file is never
// written in place (fills rename a new file over it), so while the path still names the same
// inode a verified segment stays verified. The path is re-checked at most every
// nodeCacheRevalidateMs: an entry evicted or replaced meanwhile is reopened (or missed).
// Reads from memory run in place; reads that go to the disk run in the thread pool (see read), so
// a descriptor is closed only once no read of it is in flight: closing it earlier could let a new
// open reuse its number under a pending read.

export interface OpenEntry {
  fd: number;
  ino: number;
  sizeBytes: number;
  /** The entry's mtime as this process last saw or set it (its LRU age). */
  touchedMs: number;
  checkedMs: number;
  /** Segment indexes whose CRC-32 this process checked in this inode. */
  verified: Set<number>;
  /** Reads in flight; `retired` entries close when the last one ends. */
  reads: number;
  retired: boolean;
}

export class OpenEntries {
  private readonly entries = new Map<string, OpenEntry>();
  private openBytes = 0;
  private filesMax: number = LIMITS.nodeCacheOpenFilesMax;
  /** Until then reads go through the thread pool (a read in place was slow: the disk, not memory). */
  private threadedUntilMs = 0;
  private judgedReads = 0;
  private slowReads = 0;

  /** The open entry at `path` (opened now if need be), or null when there is none. */
  get(path: string, nowMs: number): OpenEntry | null {
    const known = this.entries.get(path);
    if (known) {
      this.entries.delete(path);
      if (nowMs - known.checkedMs < LIMITS.nodeCacheRevalidateMs || this.stillThere(path, known, nowMs)) {
        this.entries.set(path, known);
        return known;
      }
      this.retire(known);
    }
    const fd = this.openFile(path);
    if (fd === null) return null;
    return this.add(path, fd, nowMs);
  }

  /**
   * Reads exactly `lengthBytes` at `offsetBytes`, or null when the file is shorter. From the page
   * cache a pread in place is cheapest (no thread hand-off); one that took long went to the disk,
   * and then reads go through the thread pool for a while, many at once, leaving the event loop free.
   */
  read(entry: OpenEntry, offsetBytes: number, lengthBytes: number): Maybe<Uint8Array | null> {
    const out = Buffer.allocUnsafe(lengthBytes);
    const startedMs = performance.now();
    if (startedMs >= this.threadedUntilMs) {
      let done = 0;
      while (done < lengthBytes) {
        const n = readSync(entry.fd, out, done, lengthBytes - done, offsetBytes + done);
        if (n === 0) return null;
        done += n;
      }
      this.judge(performance.now() - startedMs, lengthBytes, startedMs);
      return out;
    }
    entry.reads++;
    return new Promise((resolve, reject) => {
      const settle = (err: Error | null, bytes: Uint8Array | null) => {
        if (--entry.reads === 0 && entry.retired) closeSync(entry.fd);
        if (err) reject(err);
        else resolve(bytes);
      };
      const from = (done: number) =>
        read(entry.fd, out, done, lengthBytes - done, offsetBytes + done, (err, n) => {
          if (err) return settle(err, null);
          if (n === 0) return settle(null, null);
          if (done + n < lengthBytes) return from(done + n);
          settle(null, out);
        });
      from(0);
    });
  }

  /**
   * One in-place read's time against what memory would take (a fixed cost plus a copy rate):
   * when most of a run of reads were slower, they are disk reads, and reads move to the thread pool.
   * A single slow one proves nothing (the scheduler of a busy machine preempts now and then).
   */
  private judge(tookMs: number, lengthBytes: number, nowMs: number): void {
    const memoryMs = LIMITS.nodeCacheMemoryReadFixedUs / 1000 + lengthBytes / (LIMITS.nodeCacheMemoryReadBytesPerUs * 1000);
    if (tookMs > memoryMs) this.slowReads++;
    if (++this.judgedReads < LIMITS.nodeCacheReadJudgeWindow) return;
    if (this.slowReads * 2 > this.judgedReads) this.threadedUntilMs = nowMs + LIMITS.nodeCacheThreadedReadsMs;
    this.judgedReads = this.slowReads = 0;
  }

  /** Test hook: reads run in the thread pool until `untilMs` (performance.now() time). */
  threadedReadsUntil(untilMs: number): void {
    this.threadedUntilMs = untilMs;
  }

  /** Closes and forgets the entry at `path` (corrupt, evicted, or cleared). */
  drop(path: string): void {
    const e = this.entries.get(path);
    if (!e) return;
    this.entries.delete(path);
    this.retire(e);
  }

  closeAll(): void {
    for (const e of this.entries.values()) this.retire(e, false);
    this.entries.clear();
  }

  private add(path: string, fd: number, nowMs: number): OpenEntry {
    const st = fstatSync(fd);
    const entry: OpenEntry = { fd, ino: st.ino, sizeBytes: st.size, touchedMs: st.mtimeMs, checkedMs: nowMs, verified: new Set(), reads: 0, retired: false };
    this.entries.set(path, entry);
    this.openBytes += st.size;
    while (this.entries.size > this.filesMax || (this.openBytes > LIMITS.nodeCacheOpenBytesMax && this.entries.size > 1)) {
      const [oldest, e] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      this.retire(e);
    }
    return entry;
  }

  /** Takes the entry out of the count and closes it now, or when its last read ends. */
  private retire(e: OpenEntry, counted = true): void {
    if (counted) this.openBytes -= e.sizeBytes;
    else this.openBytes = 0;
    e.retired = true;
    if (e.reads === 0) closeSync(e.fd);
  }

  private openFile(path: string): number | null {
    for (;;) {
      try {
        return openSync(path, "r");
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return null;
        // Out of descriptors: keep half as many open from now on.
        if ((code !== "EMFILE" && code !== "ENFILE") || this.entries.size === 0) throw err;
        this.filesMax = Math.max(1, Math.floor(this.entries.size / 2));
        while (this.entries.size > this.filesMax) {
          const [oldest, e] = this.entries.entries().next().value!;
          this.entries.delete(oldest);
          this.retire(e);
        }
      }
    }
  }

  private stillThere(path: string, entry: OpenEntry, nowMs: number): boolean {
    try {
      const st = statSync(path);
      if (st.ino !== entry.ino) return false;
      entry.checkedMs = nowMs;
      entry.touchedMs = Math.max(entry.touchedMs, st.mtimeMs);
      return true;
    } catch {
      return false;
    }
  }
}
