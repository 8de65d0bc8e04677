import { LIMITS } from "../../types/index.ts";

// The bytes of base blocks an open file built itself (its last publish), by slot, oldest first
// out past fuseCleanBlocksCachedMaxBytes: a block written again (SQLite's header page, a log's
// tail) is rebuilt, and read back after the kernel dropped its pages, without an object read.

export class CleanBlocks {
  private readonly slots = new Map<number, Uint8Array>();
  private bytes = 0;

  get(index: number): Uint8Array | undefined {
    return this.slots.get(index);
  }

  remember(index: number, bytes: Uint8Array): void {
    this.forget(index);
    this.slots.set(index, bytes);
    this.bytes += bytes.byteLength;
    for (const [oldest, old] of this.slots) {
      if (this.bytes <= LIMITS.fuseCleanBlocksCachedMaxBytes) break;
      this.slots.delete(oldest);
      this.bytes -= old.byteLength;
    }
  }

  forget(index: number): void {
    const had = this.slots.get(index);
    if (had) this.bytes -= had.byteLength;
    this.slots.delete(index);
  }

  clear(): void {
    this.slots.clear();
    this.bytes = 0;
  }

  /** Bytes [from, to) of the body when every block they lie in is kept here, else null. */
  range(from: number, to: number, blockBytes: number): Uint8Array | null {
    const out = new Uint8Array(to - from);
    for (let at = from; at < to; ) {
      const slotStart = Math.floor(at / blockBytes) * blockBytes;
      const clean = this.slots.get(slotStart / blockBytes);
      const end = Math.min(to, slotStart + blockBytes);
      if (!clean || clean.byteLength < end - slotStart) return null;
      out.set(clean.subarray(at - slotStart, end - slotStart), at - from);
      at = end;
    }
    return out;
  }
}
