import { LIMITS } from "../../types/index.ts";
import { NOTIFY, SIZE } from "./abi.ts";
import { notifyFrame } from "./reply.ts";

// Invalidation notifications: explicit calls, checked against the minor negotiated at INIT and
// bounded in how many may wait for the notifier thread. Each returns whether it was sent.

const encoder = new TextEncoder();

/** INVAL_INODE and INVAL_ENTRY arrived in 7.12; we accept 7.31+, but check rather than assume. */
const NOTIFY_INVAL_MIN_MINOR = 12;

export class Notifier {
  private queued = 0;
  dropped = 0;

  constructor(
    private readonly post: (frame: Uint8Array) => void,
    private readonly negotiatedMinor: () => number | null,
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
