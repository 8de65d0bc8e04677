import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsError, LIMITS } from "../../types/index.ts";

// The unpublished bytes of a file open for writing: the whole new body, in pages, so a large
// sequential write never reallocates and a sparse write costs only the pages it touches. Pages
// start small and grow, so the many small files of a `cp -r` stay small in memory.
//
// Memory per open file is bounded: past fuseWriteBufferMemoryBytes of full pages, the oldest
// filled pages move to a spill file on local disk (created unlinked, so nothing is left behind
// if the mount dies) and come back when read or written again. Copying a 1 GiB file in holds a
// few pages, not the file.

const PAGE_BYTES = LIMITS.fuseMaxWriteBytes;
const FIRST_PAGE_CAPACITY_BYTES = 4096;
const RESIDENT_FULL_PAGES_MAX = Math.floor(LIMITS.fuseWriteBufferMemoryBytes / PAGE_BYTES);

export class WriteBuffer {
  private pages: Array<Uint8Array | undefined> = [];
  /** Full pages in memory, oldest filled first: the next to spill. */
  private readonly resident = new Set<number>();
  /** Pages whose bytes are in the spill file (at index * PAGE_BYTES). */
  private readonly spilled = new Set<number>();
  private spillFd: number | null = null;
  sizeBytes = 0;

  /** Pages in memory and on disk; for tests and stats. */
  get pagesInMemory(): number {
    return this.pages.reduce((n, p) => n + (p ? 1 : 0), 0);
  }
  get pagesSpilled(): number {
    return this.spilled.size;
  }

  /** Frees the spill file; the buffer must not be used after. */
  dispose(): void {
    if (this.spillFd !== null) closeSync(this.spillFd);
    this.spillFd = null;
    this.pages = [];
    this.resident.clear();
    this.spilled.clear();
  }

  /** A buffer holding `bytes` (the current body, for a write that does not start from empty). */
  static of(bytes: Uint8Array): WriteBuffer {
    const buffer = new WriteBuffer();
    buffer.write(0, bytes);
    return buffer;
  }

  write(offsetBytes: number, data: Uint8Array): void {
    const endBytes = offsetBytes + data.byteLength;
    if (endBytes > LIMITS.fuseWriteBufferMaxBytes) {
      throw new FsError("EFBIG", `write to ${endBytes} bytes; an open file holds at most ${LIMITS.fuseWriteBufferMaxBytes} unpublished`);
    }
    let from = 0;
    while (from < data.byteLength) {
      const at = offsetBytes + from;
      const index = Math.floor(at / PAGE_BYTES);
      const inPage = at - index * PAGE_BYTES;
      const n = Math.min(PAGE_BYTES - inPage, data.byteLength - from);
      const page = this.page(index, inPage + n);
      page.set(data.subarray(from, from + n), inPage);
      if (page.byteLength === PAGE_BYTES) this.filled(index);
      from += n;
    }
    this.sizeBytes = Math.max(this.sizeBytes, endBytes);
  }

  /** Bytes [offset, offset + length) clipped at the end; holes read as zeros. */
  read(offsetBytes: number, lengthBytes: number): Uint8Array {
    const endBytes = Math.min(this.sizeBytes, offsetBytes + lengthBytes);
    const out = new Uint8Array(Math.max(0, endBytes - offsetBytes));
    for (let at = offsetBytes; at < endBytes; ) {
      const index = Math.floor(at / PAGE_BYTES);
      const inPage = at - index * PAGE_BYTES;
      const n = Math.min(PAGE_BYTES - inPage, endBytes - at);
      const page = this.pages[index];
      if (page) out.set(page.subarray(inPage, Math.min(page.byteLength, inPage + n)), at - offsetBytes);
      else if (this.spilled.has(index)) readSync(this.spillFd!, out, at - offsetBytes, n, index * PAGE_BYTES + inPage);
      at += n;
    }
    return out;
  }

  truncate(sizeBytes: number): void {
    if (sizeBytes > LIMITS.fuseWriteBufferMaxBytes) throw new FsError("EFBIG", `truncate to ${sizeBytes} bytes`);
    if (sizeBytes < this.sizeBytes) {
      const keepPages = Math.ceil(sizeBytes / PAGE_BYTES);
      this.pages.length = Math.min(this.pages.length, keepPages);
      for (const set of [this.resident, this.spilled]) for (const index of set) if (index >= keepPages) set.delete(index);
      if (this.spillFd !== null) ftruncateSync(this.spillFd, keepPages * PAGE_BYTES);
      const inLastPage = sizeBytes - (keepPages - 1) * PAGE_BYTES;
      // A spilled last page comes back to be cut (cheaper than zeroing a range of the file).
      if (keepPages > 0 && inLastPage < PAGE_BYTES && this.spilled.has(keepPages - 1)) this.page(keepPages - 1, PAGE_BYTES);
      const last = this.pages[keepPages - 1];
      const inLast = sizeBytes - (keepPages - 1) * PAGE_BYTES;
      // Bytes past the new end must read as zeros if the file grows again.
      if (last && inLast < last.byteLength) last.fill(0, inLast);
    }
    this.sizeBytes = sizeBytes;
  }

  /**
   * The body as one array when it fits a page, else as page-sized pieces in order (holes as
   * zeros), so a large body is uploaded without first being joined into one array.
   */
  body(): Uint8Array | AsyncIterable<Uint8Array> {
    if (this.sizeBytes <= PAGE_BYTES) return this.read(0, this.sizeBytes);
    return this.pieces();
  }

  private async *pieces(): AsyncGenerator<Uint8Array> {
    for (let at = 0, sinceGcBytes = 0; at < this.sizeBytes; at += PAGE_BYTES, sinceGcBytes += PAGE_BYTES) {
      // Each piece is a fresh copy, garbage once uploaded: collect as they go (see Bodies.collectAfter).
      if (sinceGcBytes >= LIMITS.fuseGcAfterWrittenBytes) {
        sinceGcBytes = 0;
        Bun.gc(true);
      }
      yield this.read(at, PAGE_BYTES);
    }
  }

  /** Page `index` with room for at least `neededBytes`, grown by doubling up to a full page. */
  private page(index: number, neededBytes: number): Uint8Array {
    if (this.spilled.has(index)) {
      const back = new Uint8Array(PAGE_BYTES);
      readSync(this.spillFd!, back, 0, PAGE_BYTES, index * PAGE_BYTES);
      this.spilled.delete(index);
      this.pages[index] = back;
      this.filled(index);
      return back;
    }
    const page = this.pages[index];
    if (page && page.byteLength >= neededBytes) return page;
    let capacity = Math.max(FIRST_PAGE_CAPACITY_BYTES, page?.byteLength ?? 0);
    while (capacity < neededBytes) capacity *= 2;
    const grown = new Uint8Array(Math.min(PAGE_BYTES, capacity));
    if (page) grown.set(page);
    this.pages[index] = grown;
    return grown;
  }

  /** A full page was written: it becomes the newest resident, and the oldest ones past the budget spill. */
  private filled(index: number): void {
    this.resident.delete(index);
    this.resident.add(index);
    while (this.resident.size > RESIDENT_FULL_PAGES_MAX) {
      const oldest = this.resident.values().next().value!;
      this.resident.delete(oldest);
      const page = this.pages[oldest];
      if (!page) continue;
      writeSync(this.spillFile(), page, 0, page.byteLength, oldest * PAGE_BYTES);
      this.pages[oldest] = undefined;
      this.spilled.add(oldest);
    }
  }

  private spillFile(): number {
    if (this.spillFd === null) {
      const path = join(tmpdir(), `nokv-fuse-spill-${process.pid}-${randomBytes(8).toString("hex")}`);
      this.spillFd = openSync(path, "w+", 0o600);
      unlinkSync(path);
    }
    return this.spillFd;
  }
}
