import { LIMITS } from "../../types/index.ts";
import { NOTIFY, SIZE } from "./abi.ts";
import { notifyFrame } from "./reply.ts";

// Notifications: invalidations and stores of a file's bytes into the kernel's page cache. Explicit calls, checked against the minor negotiated at INIT and
// bounded in how many may wait for the notifier thread. Each returns whether it was sent.

const encoder = new TextEncoder();

/** INVAL_INODE and INVAL_ENTRY arrived in 7.12; we accept 7.31+, but check rather than assume. */
const NOTIFY_INVAL_MIN_MINOR = 12;
/** NOTIFY_STORE arrived in 7.15. */
const NOTIFY_STORE_MIN_MINOR = 15;

export class Notifier {
  private queued = 0;
  /** Sizes of the frames queued, oldest first (acks come in order), and the bytes of stores among them. */
  private storeSizes: number[] = [];
  private storeSizesHead = 0;
  private queuedStoreBytes = 0;
  dropped = 0;

  constructor(
    private readonly post: (frame: Uint8Array) => void,
    private readonly negotiatedMinor: () => number | null,
  ) {}

  /** The notifier thread finished one write. */
  written(): void {
    this.queued = Math.max(0, this.queued - 1);
    if (this.storeSizesHead < this.storeSizes.length) this.queuedStoreBytes -= this.storeSizes[this.storeSizesHead++]!;
    if (this.storeSizesHead > 1024 && this.storeSizesHead * 2 > this.storeSizes.length) {
      this.storeSizes = this.storeSizes.slice(this.storeSizesHead);
      this.storeSizesHead = 0;
    }
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
   * READ (files open with FOPEN_KEEP_CACHE keep them). The kernel grows its idea of the file's
   * size if the bytes end past it: callers store only bytes of the size the kernel was told.
   */
  notifyStore(ino: number, offsetBytes: number, bytes: Uint8Array): boolean {
    if (this.queuedStoreBytes + bytes.byteLength > LIMITS.fuseNotifyStoreQueuedMaxBytes) return false;
    const body = new Uint8Array(SIZE.notifyStore + bytes.byteLength);
    const v = new DataView(body.buffer);
    v.setBigUint64(0, BigInt(ino), true);
    v.setBigUint64(8, BigInt(offsetBytes), true);
    v.setUint32(16, bytes.byteLength, true);
    body.set(bytes, SIZE.notifyStore);
    if (!this.send(NOTIFY.STORE, body, NOTIFY_STORE_MIN_MINOR)) return false;
    this.queuedStoreBytes += bytes.byteLength;
    return true;
  }

  private send(code: number, body: Uint8Array, minMinor = NOTIFY_INVAL_MIN_MINOR): boolean {
    const minor = this.negotiatedMinor();
    if (minor === null || minor < minMinor) return false;
    if (this.queued >= LIMITS.fuseNotifyQueueMax) {
      this.dropped++;
      return false;
    }
    this.queued++;
    this.storeSizes.push(code === NOTIFY.STORE ? body.byteLength - SIZE.notifyStore : 0);
    this.post(notifyFrame(code, body));
    return true;
  }
}
