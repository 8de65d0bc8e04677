import { LIMITS } from "../../types/index.ts";
import { OPCODE } from "./abi.ts";
import { EAGAIN, EINTR, ENOENT, sysRead, sysSetAsync } from "./libc.ts";

// Requests are read on the main thread, when the kernel says one waits: /dev/fuse is made
// non-blocking and O_ASYNC, so queuing a request sends SIGIO to this thread, whose handler reads
// until EAGAIN. A reader thread blocked in read(2) cost each request two wake-ups (kernel to
// reader, reader to main through Atomics.waitAsync, about 70 us round trip on a 2-vCPU VM where a
// signal's measured about 9 us), and creating a small file is 7 requests: a request answered
// without metad cost the mount 78-100 us of CPU that way, 54-74 us this way. The main thread
// still never waits on the device.
//
// Signals coalesce, so one drains everything waiting, and the device is read once more after the
// handler returns (a request queued meanwhile may have had its signal merged into the one being
// handled); one queued later raises a signal of its own. A slow poll backs the signals up (one
// lost would delay a request at most fuseDevicePollMs) and notices the end of the session
// (ENODEV) by itself too. SIGIO's default action ends the process: the handler is installed
// before any fd is made O_ASYNC and is never removed; a reader leaves the set, and clears
// O_ASYNC, before its fd closes.

const OPCODE_OFFSET = 4;

const readers = new Set<SignalReader>();
let handlerInstalled = false;

let recheckScheduled = false;

function onSignal(): void {
  for (const reader of readers) reader.drain(false);
  // Signals are not queued: one raised for a request queued while this handler runs can merge
  // into the one being handled. So the device is read once more after the handler returned
  // (without it, 6 processes making files in parallel left a request for the poll to find).
  if (recheckScheduled) return;
  recheckScheduled = true;
  setImmediate(() => {
    recheckScheduled = false;
    for (const reader of readers) reader.drain(false);
  });
}

export interface SignalReaderCounts {
  /** Requests read, and of them those a poll found (a signal not yet handled, or lost). */
  requests: number;
  polled: number;
}

export class SignalReader {
  private buffer: Uint8Array = new Uint8Array(LIMITS.fuseReadBufferBytes);
  private readonly spareWriteBuffers: Uint8Array[] = [];
  private poll: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private draining = false;
  readonly counts: SignalReaderCounts = { requests: 0, polled: 0 };

  constructor(
    private readonly fd: number,
    /** Handles one request; `done` once nothing reads the request's bytes any more. */
    private readonly take: (request: Uint8Array, done: () => void) => void,
    /** The session ended (ENODEV: unmounted, ECONNABORTED: aborted) or the device failed. */
    private readonly onClosed: (errno: number) => void,
  ) {}

  start(): void {
    if (!handlerInstalled) {
      process.on("SIGIO", onSignal);
      handlerInstalled = true;
    }
    readers.add(this);
    const set = sysSetAsync(this.fd, true);
    if (set.value < 0) return this.end(set.errno);
    this.poll = setInterval(() => this.drain(true), LIMITS.fuseDevicePollMs);
    this.drain(false);
  }

  /** Stops reading; the caller closes the fd afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    readers.delete(this);
    if (this.poll) clearInterval(this.poll);
    sysSetAsync(this.fd, false);
  }

  /** Reads and hands over every waiting request (a turn's worth; the rest on the next turn). */
  drain(fromPoll: boolean): void {
    if (this.stopped || this.draining) return;
    this.draining = true;
    try {
      for (let n = 0; n < LIMITS.fuseRequestsPerTurnMax; n++) {
        const { value, errno } = sysRead(this.fd, this.buffer);
        // /dev/fuse never reads 0 bytes; another fd that does has reached its end.
        if (value === 0) return this.end(0);
        if (value > 0) {
          this.counts.requests++;
          if (fromPoll) this.counts.polled++;
          this.hand(value);
          continue;
        }
        if (errno === EAGAIN) return;
        // EINTR: a signal; ENOENT: the request was interrupted before we read it.
        if (errno === EINTR || errno === ENOENT) continue;
        return this.end(errno);
      }
      setImmediate(() => this.drain(fromPoll));
    } finally {
      this.draining = false;
    }
  }

  private hand(lengthBytes: number): void {
    const buffer = this.buffer;
    const opcode = lengthBytes >= OPCODE_OFFSET + 4 ? buffer[OPCODE_OFFSET]! | (buffer[OPCODE_OFFSET + 1]! << 8) | (buffer[OPCODE_OFFSET + 2]! << 16) | (buffer[OPCODE_OFFSET + 3]! << 24) : -1;
    if (opcode !== OPCODE.WRITE) return this.take(buffer.slice(0, lengthBytes), () => undefined);
    // A WRITE (up to a MiB) keeps the buffer it was read into instead of a copy; the next read
    // gets a spare one, and this one becomes a spare once the write is handled.
    this.buffer = this.spareWriteBuffers.pop() ?? new Uint8Array(LIMITS.fuseReadBufferBytes);
    this.take(buffer.subarray(0, lengthBytes), () => {
      if (this.spareWriteBuffers.length < LIMITS.fuseWriteRequestBuffersKept) this.spareWriteBuffers.push(buffer);
    });
  }

  private end(errno: number): void {
    this.stop();
    this.onClosed(errno);
  }
}
