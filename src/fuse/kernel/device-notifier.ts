import { sysWrite } from "./libc.ts";

// The notification thread: writes FUSE_NOTIFY_* frames to /dev/fuse. An invalidation can block
// in the kernel until a directory lock is free, and that lock may be held by a caller waiting
// for a reply the main thread is about to send; writing from here keeps that from deadlocking.

declare const self: Worker;

export type NotifierMessage = { kind: "start"; fd: number } | { kind: "notify"; bytes: ArrayBuffer };
/** Sent back after each write, so the main thread can bound what is queued here. */
export interface NotifierAck {
  kind: "written";
  errno: number;
}

let fd = -1;

self.onmessage = (event: MessageEvent<NotifierMessage>) => {
  const message = event.data;
  if (message.kind === "start") {
    fd = message.fd;
    return;
  }
  // Failures are expected and harmless: ENOENT when the kernel no longer caches the entry or
  // inode, ENODEV after unmount. The kernel's timeouts cover anything lost.
  const { errno } = sysWrite(fd, new Uint8Array(message.bytes));
  self.postMessage({ kind: "written", errno } satisfies NotifierAck);
};
