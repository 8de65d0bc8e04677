import { FsError } from "../../types/index.ts";

// Buffers of one size, reused: on this kind of VM a fresh multi-MiB buffer costs a page fault per
// 4 KiB the first time it is touched, more than reading the block into it. What is given back
// past the limit is left to the garbage collector.

export class BufferPool {
  private readonly free: Uint8Array[] = [];

  constructor(
    readonly bufferBytes: number,
    /** Bytes of free buffers kept for reuse; buffers in use are not counted. */
    readonly keptMaxBytes: number,
  ) {
    if (!Number.isSafeInteger(bufferBytes) || bufferBytes <= 0) throw new FsError("EINVAL", `pool buffer size ${bufferBytes} is not a positive byte count`);
  }

  /** A buffer of `bufferBytes`, holding whatever its last user left in it. */
  acquire(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.bufferBytes);
  }

  /** Gives a buffer back; the caller must not touch it afterwards. */
  release(buffer: Uint8Array): void {
    if (buffer.byteLength !== this.bufferBytes) return;
    if ((this.free.length + 1) * this.bufferBytes <= this.keptMaxBytes) this.free.push(buffer);
  }

  get keptBuffers(): number {
    return this.free.length;
  }
}

/** Pools of a few sizes; a buffer of any other size is made fresh and left to the collector. */
export class BufferPools {
  private readonly pools = new Map<number, BufferPool>();

  constructor(sizesBytes: readonly number[], keptMaxBytesEach: number) {
    for (const size of sizesBytes) this.pools.set(size, new BufferPool(size, keptMaxBytesEach));
  }

  /** A buffer of `bytes`: zeroed when fresh, else holding whatever its last user left in it. */
  acquire(bytes: number): Uint8Array {
    return this.pools.get(bytes)?.acquire() ?? new Uint8Array(bytes);
  }

  /** Gives a buffer back; the caller must not touch it afterwards. */
  release(buffer: Uint8Array): void {
    this.pools.get(buffer.byteLength)?.release(buffer);
  }
}
