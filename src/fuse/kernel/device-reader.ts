import { EAGAIN, EINTR, ENOENT, sysRead } from "./libc.ts";
import { RingProducer, type RingMemory } from "./request-ring.ts";

// The reader thread: blocks in read(2) on /dev/fuse, each request landing in a slot of the
// shared ring the main thread drains. Blocking here is the point: the main thread never waits
// on the device, so it keeps serving while a caller of the mount is stuck in the kernel.

declare const self: Worker;

export interface ReaderStart {
  fd: number;
  ring: RingMemory;
}

/** Posted once, when the session is over. */
export interface ReaderClosed {
  kind: "closed";
  errno: number;
}

function loop({ fd, ring }: ReaderStart): void {
  const producer = new RingProducer(ring);
  for (;;) {
    const slot = producer.nextSlot();
    const { value, errno } = sysRead(fd, slot);
    if (value >= 0) {
      producer.commit(value);
      continue;
    }
    // EINTR: a signal; EAGAIN: spurious wakeup; ENOENT: the request was interrupted before we read it.
    if (errno === EINTR || errno === EAGAIN || errno === ENOENT) continue;
    // ENODEV: unmounted; ECONNABORTED: aborted through fusectl. Either way the session is over.
    self.postMessage({ kind: "closed", errno } satisfies ReaderClosed);
    return;
  }
}

self.onmessage = (event: MessageEvent<ReaderStart>) => loop(event.data);
