import { FsError, LIMITS } from "../../types/index.ts";

// The unpublished bytes of a file open for writing: the whole new body, in pages, so a large
// sequential write never reallocates and a sparse write costs only the pages it touches. Pages
// start small and grow, so the many small files of a `cp -r` stay small in memory.

const PAGE_BYTES = LIMITS.fuseMaxWriteBytes;
const FIRST_PAGE_CAPACITY_BYTES = 4096;

export class WriteBuffer {
  private pages: Array<Uint8Array | undefined> = [];
  sizeBytes = 0;

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
      this.page(index, inPage + n).set(data.subarray(from, from + n), inPage);
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
      at += n;
    }
    return out;
  }

  truncate(sizeBytes: number): void {
    if (sizeBytes > LIMITS.fuseWriteBufferMaxBytes) throw new FsError("EFBIG", `truncate to ${sizeBytes} bytes`);
    if (sizeBytes < this.sizeBytes) {
      const keepPages = Math.ceil(sizeBytes / PAGE_BYTES);
      this.pages.length = Math.min(this.pages.length, keepPages);
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
    for (let at = 0; at < this.sizeBytes; at += PAGE_BYTES) yield this.read(at, PAGE_BYTES);
  }

  /** Page `index` with room for at least `neededBytes`, grown by doubling up to a full page. */
  private page(index: number, neededBytes: number): Uint8Array {
    const page = this.pages[index];
    if (page && page.byteLength >= neededBytes) return page;
    let capacity = Math.max(FIRST_PAGE_CAPACITY_BYTES, page?.byteLength ?? 0);
    while (capacity < neededBytes) capacity *= 2;
    const grown = new Uint8Array(Math.min(PAGE_BYTES, capacity));
    if (page) grown.set(page);
    this.pages[index] = grown;
    return grown;
  }
}
