import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { LIMITS } from "../../types/index.ts";

// Entry files kept open, least recently used first, so a hit costs one pread and no open/close.
// Each remembers which checksum segments this process has verified in it: an entry file is never
// written in place (fills rename a new file over it), so while the path still names the same
// inode a verified segment stays verified. The path is re-checked at most every
// nodeCacheRevalidateMs: an entry evicted or replaced meanwhile is reopened (or missed).

export interface OpenEntry {
  fd: number;
  ino: number;
  sizeBytes: number;
  /** The entry's mtime as this process last saw or set it (its LRU age). */
  touchedMs: number;
  checkedMs: number;
  /** Segment indexes whose CRC-32 this process checked in this inode. */
  verified: Set<number>;
}

export class OpenEntries {
  private readonly entries = new Map<string, OpenEntry>();
  private openBytes = 0;
  private filesMax: number = LIMITS.nodeCacheOpenFilesMax;

  /** The open entry at `path` (opened now if need be), or null when there is none. */
  get(path: string, nowMs: number): OpenEntry | null {
    const known = this.entries.get(path);
    if (known) {
      this.entries.delete(path);
      if (nowMs - known.checkedMs < LIMITS.nodeCacheRevalidateMs || this.stillThere(path, known, nowMs)) {
        this.entries.set(path, known);
        return known;
      }
      this.openBytes -= known.sizeBytes;
      closeSync(known.fd);
    }
    const fd = this.openFile(path);
    if (fd === null) return null;
    const st = fstatSync(fd);
    const entry: OpenEntry = { fd, ino: st.ino, sizeBytes: st.size, touchedMs: st.mtimeMs, checkedMs: nowMs, verified: new Set() };
    this.entries.set(path, entry);
    this.openBytes += st.size;
    while (this.entries.size > this.filesMax || (this.openBytes > LIMITS.nodeCacheOpenBytesMax && this.entries.size > 1)) this.closeOldest();
    return entry;
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
        while (this.entries.size > this.filesMax) this.closeOldest();
      }
    }
  }

  private closeOldest(): void {
    const [oldest, e] = this.entries.entries().next().value!;
    this.entries.delete(oldest);
    this.openBytes -= e.sizeBytes;
    closeSync(e.fd);
  }

  /** Keeps `fd` (the entry this process just wrote and renamed to `path`) open, with the segments it verified. */
  adopt(path: string, fd: number, verified: Iterable<number>, nowMs: number): void {
    this.drop(path);
    const st = fstatSync(fd);
    this.entries.set(path, { fd, ino: st.ino, sizeBytes: st.size, touchedMs: st.mtimeMs, checkedMs: nowMs, verified: new Set(verified) });
    this.openBytes += st.size;
    while (this.entries.size > this.filesMax || (this.openBytes > LIMITS.nodeCacheOpenBytesMax && this.entries.size > 1)) this.closeOldest();
  }

  /** Reads exactly `lengthBytes` at `offsetBytes`, or null when the file is shorter. */
  read(entry: OpenEntry, offsetBytes: number, lengthBytes: number): Uint8Array | null {
    const out = Buffer.allocUnsafe(lengthBytes);
    let done = 0;
    while (done < lengthBytes) {
      const n = readSync(entry.fd, out, done, lengthBytes - done, offsetBytes + done);
      if (n === 0) return null;
      done += n;
    }
    return out;
  }

  /** Closes and forgets the entry at `path` (corrupt, or cleared). */
  drop(path: string): void {
    const e = this.entries.get(path);
    if (!e) return;
    this.entries.delete(path);
    this.openBytes -= e.sizeBytes;
    closeSync(e.fd);
  }

  closeAll(): void {
    for (const e of this.entries.values()) closeSync(e.fd);
    this.entries.clear();
    this.openBytes = 0;
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
