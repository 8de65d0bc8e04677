import { LIMITS } from "../../types/index.ts";
import { OPCODE } from "./abi.ts";

// A single-producer, single-consumer ring of request slots in shared memory: the reader thread
// read(2)s a request straight into a free slot and bumps `produced`; the main thread copies it
// out, bumps `consumed`, and dispatches. A hand-off costs a few microseconds (Atomics) instead of
// the tens a postMessage takes, and each of a FUSE operation's several requests pays it.
//
// A WRITE's copy goes into a reused buffer, given back once its handler is done: a fresh MiB per
// write cost a page fault per 4 KiB on this kind of VM, more than the rest of the write. Only
// WRITE: its handler copies the data into the file's body before it returns, where another
// handler may keep a view of its request (an xattr value, say).

/** Control words: [produced, consumed, then one length per slot]. */
const PRODUCED = 0;
const CONSUMED = 1;
const LENGTHS = 2;
/** fuse_in_header: the opcode is the u32 after the length. */
const OPCODE_OFFSET = 4;

export interface RingMemory {
  control: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  slotCount: number;
  slotBytes: number;
}

export function newRingMemory(slotCount: number, slotBytes: number): RingMemory {
  return {
    control: new SharedArrayBuffer(4 * (LENGTHS + slotCount)),
    slots: new SharedArrayBuffer(slotCount * slotBytes),
    slotCount,
    slotBytes,
  };
}

/** The reader thread's side. */
export class RingProducer {
  private readonly control: Int32Array;
  private produced = 0;

  constructor(private readonly memory: RingMemory) {
    this.control = new Int32Array(memory.control);
  }

  /** The next free slot, blocking (Atomics.wait) while the consumer has every slot in use. */
  nextSlot(): Uint8Array {
    for (;;) {
      const consumed = Atomics.load(this.control, CONSUMED);
      if (this.produced - consumed < this.memory.slotCount) break;
      Atomics.wait(this.control, CONSUMED, consumed);
    }
    const slot = this.produced % this.memory.slotCount;
    return new Uint8Array(this.memory.slots, slot * this.memory.slotBytes, this.memory.slotBytes);
  }

  /** Publishes the slot nextSlot returned, holding `lengthBytes` of request. */
  commit(lengthBytes: number): void {
    Atomics.store(this.control, LENGTHS + (this.produced % this.memory.slotCount), lengthBytes);
    this.produced++;
    Atomics.store(this.control, PRODUCED, this.produced);
    Atomics.notify(this.control, PRODUCED);
  }
}

/** The main thread's side: never blocks, waits with Atomics.waitAsync. */
export class RingConsumer {
  private readonly control: Int32Array;
  private readonly slots: Uint8Array;
  private readonly slotsView: DataView;
  private consumed = 0;
  private stopped = false;
  private readonly spareWriteBuffers: Uint8Array[] = [];

  constructor(private readonly memory: RingMemory) {
    this.control = new Int32Array(memory.control);
    this.slots = new Uint8Array(memory.slots);
    this.slotsView = new DataView(memory.slots);
  }

  /** Calls `take` with a copy of each request, in order, until stop(); `done` must be called once the request is handled. */
  async run(take: (request: Uint8Array, done: () => void) => void): Promise<void> {
    while (!this.stopped) {
      const produced = Atomics.load(this.control, PRODUCED);
      if (produced === this.consumed) {
        const wait = Atomics.waitAsync(this.control, PRODUCED, produced);
        if (wait.async) await wait.value;
        continue;
      }
      while (this.consumed < produced) {
        const slot = this.consumed % this.memory.slotCount;
        const at = slot * this.memory.slotBytes;
        // A copy, so the slot is free again at once while the handler runs as long as it needs.
        const bytes = this.slots.subarray(at, at + Atomics.load(this.control, LENGTHS + slot));
        const isWrite = bytes.byteLength >= OPCODE_OFFSET + 4 && this.slotsView.getUint32(at + OPCODE_OFFSET, true) === OPCODE.WRITE;
        const buffer = isWrite ? (this.spareWriteBuffers.pop() ?? new Uint8Array(this.memory.slotBytes)) : null;
        let request: Uint8Array;
        if (buffer) {
          buffer.set(bytes);
          request = buffer.subarray(0, bytes.byteLength);
        } else request = bytes.slice();
        this.consumed++;
        Atomics.store(this.control, CONSUMED, this.consumed);
        Atomics.notify(this.control, CONSUMED);
        take(request, () => {
          if (buffer && this.spareWriteBuffers.length < LIMITS.fuseWriteRequestBuffersKept) this.spareWriteBuffers.push(buffer);
        });
      }
    }
  }

  stop(): void {
    this.stopped = true;
    Atomics.notify(this.control, PRODUCED);
  }
}
