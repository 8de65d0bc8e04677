import { FsError, LIMITS } from "../../types/index.ts";
import type { LentBytes } from "../kernel/index.ts";
import { ReadPlans } from "../../sdk/read-plans.ts";
import type { BufferPool } from "./buffer-pool.ts";

// Reads of one open file, with readahead: a read that continues where the last one ended fetches
// a whole window (one block) and keeps the next few in flight, so a sequential reader pays one
// object read per window instead of one per kernel request, and those reads overlap. Random reads fetch only what they
// ask for. Every window is of one body generation; when the body moves (ESTALE) the windows are
// dropped and the read starts over on the new generation.
//
// Windows are read into buffers of a mount-wide pool and lent to the kernel reply: a buffer goes
// back to the pool only once its window is dropped, its fetch has settled and every reply that
// borrowed from it has been written.

/**
 * Reads [offset, offset + length) of `generation`, into `into` when given (the result is then a
 * view of it); a sequential reader's windows pass its `plans`, so most need no plan from metad.
 */
export type FetchRange = (offsetBytes: number, lengthBytes: number, generation: number, into?: Uint8Array, plans?: ReadPlans) => Promise<Uint8Array>;

interface Window {
  offsetBytes: number;
  lengthBytes: number;
  bytes: Promise<Uint8Array>;
  /** The pooled buffer the fetch reads into; null once given back (or for a window too big for the pool). */
  buffer: Uint8Array | null;
  /** Replies holding a view of `buffer` that the kernel has not taken yet. */
  borrowers: number;
  settled: boolean;
  dropped: boolean;
}

const WINDOW_BYTES = LIMITS.fuseReadaheadBytes;
/** Windows fetched ahead of a sequential reader, in parallel: one read at a time cannot fill the pipe. */
const WINDOWS_AHEAD = LIMITS.fuseReadaheadWindows;
/** Windows kept per handle: the one being read and those fetched ahead of it. */
const WINDOWS_KEPT = WINDOWS_AHEAD + 1;

export class Readahead {
  private windows: Window[] = [];
  private nextOffsetBytes = 0;
  /** The stretch metad planned for the windows ahead (one plan per fusePlanAheadBytes, not per window). */
  private readonly plans = new ReadPlans(LIMITS.fusePlanAheadBytes);

  constructor(
    private readonly fetch: FetchRange,
    private generation: number,
    /** The current generation, after an ESTALE. */
    private readonly refresh: () => Promise<number>,
    /** Buffers of WINDOW_BYTES that windows are read into. */
    private readonly buffers: BufferPool,
  ) {}

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array | LentBytes> {
    try {
      return await this.readOnce(offsetBytes, lengthBytes);
    } catch (err) {
      // A failed window must not answer the next read too.
      this.drop();
      if ((err as FsError).code !== "ESTALE") throw err;
      this.generation = await this.refresh();
      return await this.readOnce(offsetBytes, lengthBytes);
    }
  }

  /** Forgets fetched windows (the body changed, as a watch event or our own publish says). */
  drop(): void {
    for (const window of this.windows) this.retire(window);
    this.windows = [];
    this.plans.drop();
  }

  /** Moves to `generation` (a reply told us the body changed), dropping windows of the old one. */
  follow(generation: number): void {
    if (generation === this.generation) return;
    this.generation = generation;
    this.drop();
  }

  private async readOnce(offsetBytes: number, lengthBytes: number): Promise<Uint8Array | LentBytes> {
    const sequential = offsetBytes === this.nextOffsetBytes;
    this.nextOffsetBytes = offsetBytes + lengthBytes;
    let window = this.covering(offsetBytes, lengthBytes);
    if (!window) {
      // Out of order (the kernel's readahead requests can arrive so): inside the stretch already
      // planned it is cut from the plan too; elsewhere it asks for just itself.
      if (!sequential) return await this.fetch(offsetBytes, lengthBytes, this.generation, undefined, this.plans.covers(this.generation, offsetBytes, lengthBytes) ? this.plans : undefined);
      window = this.start(offsetBytes, Math.max(lengthBytes, WINDOW_BYTES));
    }
    // Borrowed from here on, so the buffer cannot be refilled under this read's reply.
    window.borrowers++;
    let bytes: Uint8Array;
    try {
      bytes = await window.bytes;
    } catch (err) {
      this.giveBack(window);
      // A window spans more than was asked: a corrupt or lost block elsewhere in it (EIO) must
      // not fail a read of intact bytes, so the read asks for exactly its own range instead.
      if ((err as FsError).code !== "EIO") throw err;
      this.windows = this.windows.filter((w) => w !== window);
      this.retire(window);
      return await this.fetch(offsetBytes, lengthBytes, this.generation);
    }
    const endOfFile = bytes.byteLength < window.lengthBytes;
    // Keep the next windows in flight so they are ready when the reader gets there.
    if (sequential && !endOfFile) {
      const windowEnd = window.offsetBytes + window.lengthBytes;
      for (let k = 0; k < WINDOWS_AHEAD; k++) {
        const ahead = windowEnd + k * WINDOW_BYTES;
        if (!this.covering(ahead, 1)) this.start(ahead, WINDOW_BYTES);
      }
    }
    const from = offsetBytes - window.offsetBytes;
    const lent = window;
    let released = false;
    return {
      bytes: bytes.subarray(from, Math.min(bytes.byteLength, from + lengthBytes)),
      release: () => {
        if (released) return;
        released = true;
        this.giveBack(lent);
      },
    };
  }

  private covering(offsetBytes: number, lengthBytes: number): Window | undefined {
    return this.windows.find((w) => w.offsetBytes <= offsetBytes && offsetBytes + lengthBytes <= w.offsetBytes + w.lengthBytes);
  }

  private start(offsetBytes: number, lengthBytes: number): Window {
    const buffer = lengthBytes === this.buffers.bufferBytes ? this.buffers.acquire() : null;
    const bytes = this.fetch(offsetBytes, lengthBytes, this.generation, buffer ?? undefined, this.plans);
    const window: Window = { offsetBytes, lengthBytes, bytes, buffer, borrowers: 0, settled: false, dropped: false };
    // A failed prefetch must not become an unhandled rejection; the read that needs it sees it.
    bytes.then(
      () => this.settle(window),
      () => this.settle(window),
    );
    this.windows.push(window);
    if (this.windows.length > WINDOWS_KEPT) this.retire(this.windows.shift()!);
    return window;
  }

  private settle(window: Window): void {
    window.settled = true;
    this.recycle(window);
  }

  private retire(window: Window): void {
    window.dropped = true;
    this.recycle(window);
  }

  private giveBack(window: Window): void {
    window.borrowers--;
    this.recycle(window);
  }

  /** The buffer goes back once nothing reads into it, nothing reads from it, and no one will again. */
  private recycle(window: Window): void {
    if (!window.buffer || !window.dropped || !window.settled || window.borrowers > 0) return;
    this.buffers.release(window.buffer);
    window.buffer = null;
  }
}
