import { LIMITS } from "../../types/index.ts";
import { NOTIFY, SIZE } from "./abi.ts";
import { notifyFrame } from "./reply.ts";

// Notifications: explicit calls, checked against the minor negotiated at INIT. Invalidations go
// through the notifier thread, bounded in how many may wait for it (one can block on a directory
// lock). A store is written at once from the calling thread, so it lands before this mount
// answers another request: see notifyStore. Each returns whether it was sent.

const encoder = new TextEncoder();

/** INVAL_INODE and INVAL_ENTRY arrived in 7.12; we accept 7.31+, but check rather than assume. */
const NOTIFY_INVAL_MIN_MINOR = 12;
/** NOTIFY_STORE arrived in 7.15. */
const NOTIFY_STORE_MIN_MINOR = 15;

export class Notifier {
  private queued = 0;
  dropped = 0;

  constructor(
    private readonly post: (frame: Uint8Array) => void,
    private readonly negotiatedMinor: () => number | null,
    /** Writes a frame to the device now; returns the write's errno (0: taken). */
    private readonly writeNow: (frame: Uint8Array) => number = () => -1,
  ) {}

  /** The notifier thread finished one write. */
  written(): void {
    this.queued = Math.max(0, this.queued - 1);
  }

  /** Drops the kernel's cached entry `name` in directory `parentIno` (and a negative entry). */
  notifyInvalEntry(parentIno: number, name: string): boolean {
    const nameBytes = encoder.encode(name);
    const body = new Uint8Array(SIZE.notifyInvalEntry + nameBytes.byteLength + 1);
    const v = new DataView(body.buffer);
    v.setBigUint64(0, BigInt(parentIno), true);
    v.setUint32(8, nameBytes.byteLength, true);
    body.set(nameBytes, SIZE.notifyInvalEntry);
    return this.send(NOTIFY.INVAL_ENTRY, body);
  }

  /**
   * Drops cached attributes of `ino` and, when offsetBytes >= 0, its cached pages from there for
   * lengthBytes (0: to the end). offsetBytes < 0 drops attributes only.
   */
  notifyInvalInode(ino: number, offsetBytes: number, lengthBytes: number): boolean {
    const body = new Uint8Array(SIZE.notifyInvalInode);
    const v = new DataView(body.buffer);
    v.setBigUint64(0, BigInt(ino), true);
    v.setBigInt64(8, BigInt(offsetBytes), true);
    v.setBigInt64(16, BigInt(lengthBytes), true);
    return this.send(NOTIFY.INVAL_INODE, body);
  }

  /**
   * Puts `bytes` into the kernel's page cache of `ino` from offsetBytes, so reads of them send no
   * READ (files open with FOPEN_KEEP_CACHE keep them); false if the kernel did not take them
   * (it no longer caches the inode). Written from the calling thread, not queued: the kernel has
   * the pages before this mount answers anything else, so no later change it answers (a write, a
   * truncate) can land before them. Call it only for a file with no open handle in this mount:
   * then no READ of it is in flight, none holds a page lock that only this thread's reply would
   * release, and the write cannot block on one. The kernel grows its idea of the file's size when
   * the bytes end past it: store only bytes of the size it was told.
   */
  notifyStore(ino: number, offsetBytes: number, bytes: Uint8Array): boolean {
    const minor = this.negotiatedMinor();
    if (minor === null || minor < NOTIFY_STORE_MIN_MINOR) return false;
    const body = new Uint8Array(SIZE.notifyStore + bytes.byteLength);
    const v = new DataView(body.buffer);
    v.setBigUint64(0, BigInt(ino), true);
    v.setBigUint64(8, BigInt(offsetBytes), true);
    v.setUint32(16, bytes.byteLength, true);
    body.set(bytes, SIZE.notifyStore);
    return this.writeNow(notifyFrame(NOTIFY.STORE, body)) === 0;
  }

  private send(code: number, body: Uint8Array): boolean {
    const minor = this.negotiatedMinor();
    if (minor === null || minor < NOTIFY_INVAL_MIN_MINOR) return false;
    if (this.queued >= LIMITS.fuseNotifyQueueMax) {
      this.dropped++;
      return false;
    }
    this.queued++;
    this.post(notifyFrame(code, body));
    return true;
  }
}
