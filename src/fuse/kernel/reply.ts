import { LIMITS } from "../../types/index.ts";
import { SIZE, direntAlign } from "./abi.ts";
import type { AttrOut, ConnectionInfo, DirEntryOut, DirentSink, EntryOut, FuseAttr, OpenOut, StatfsOut } from "./types.ts";

// Reply encoding: each function writes one out-struct of <linux/fuse.h> little-endian. A reply
// on the wire is struct fuse_out_header followed by one of these bodies.

const encoder = new TextEncoder();
const NS_PER_SEC = 1_000_000_000n;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A reply frame: header (len, -errno, unique) then the body. */
export function frame(unique: bigint, errno: number, body: Uint8Array | null): Uint8Array {
  const bodyBytes = body?.byteLength ?? 0;
  const out = new Uint8Array(SIZE.outHeader + bodyBytes);
  writeHeader(out, unique, errno, bodyBytes);
  if (body) out.set(body, SIZE.outHeader);
  return out;
}

/**
 * A reply frame as the parts one writev sends, in order: a small body copied behind its header,
 * or a large one (READ data) left where it is behind a header of its own.
 */
export function frameParts(unique: bigint, errno: number, body: Uint8Array | null): Uint8Array[] {
  if (body === null || body.byteLength <= LIMITS.fuseReplyCopyMaxBytes) return [frame(unique, errno, body)];
  const header = new Uint8Array(SIZE.outHeader);
  writeHeader(header, unique, errno, body.byteLength);
  return [header, body];
}

function writeHeader(out: Uint8Array, unique: bigint, errno: number, bodyBytes: number): void {
  const v = view(out);
  v.setUint32(0, SIZE.outHeader + bodyBytes, true);
  v.setInt32(4, -errno, true);
  v.setBigUint64(8, unique, true);
}

/** A notification frame: unique 0, the notify code in the error field. */
export function notifyFrame(code: number, body: Uint8Array): Uint8Array {
  const out = frame(0n, 0, body);
  view(out).setInt32(4, code, true);
  return out;
}

function setTime(v: DataView, secAt: number, nsecAt: number, ns: bigint): void {
  const clamped = ns < 0n ? 0n : ns;
  v.setBigUint64(secAt, clamped / NS_PER_SEC, true);
  v.setUint32(nsecAt, Number(clamped % NS_PER_SEC), true);
}

function setValidity(v: DataView, secAt: number, nsecAt: number, ms: number): void {
  const wholeMs = Math.max(0, Math.floor(ms));
  v.setBigUint64(secAt, BigInt(Math.floor(wholeMs / 1000)), true);
  v.setUint32(nsecAt, (wholeMs % 1000) * 1_000_000, true);
}

/** struct fuse_attr at `at`. */
export function writeAttr(v: DataView, at: number, attr: FuseAttr): void {
  v.setBigUint64(at, BigInt(attr.ino), true);
  v.setBigUint64(at + 8, BigInt(attr.sizeBytes), true);
  v.setBigUint64(at + 16, BigInt(attr.blocks512), true);
  setTime(v, at + 24, at + 48, attr.atimeNs);
  setTime(v, at + 32, at + 52, attr.mtimeNs);
  setTime(v, at + 40, at + 56, attr.ctimeNs);
  v.setUint32(at + 60, attr.mode, true);
  v.setUint32(at + 64, attr.nlink, true);
  v.setUint32(at + 68, attr.uid, true);
  v.setUint32(at + 72, attr.gid, true);
  v.setUint32(at + 76, attr.rdev ?? 0, true);
  v.setUint32(at + 80, attr.blockSizeBytes, true);
  v.setUint32(at + 84, 0, true); // flags
}

/** struct fuse_entry_out at `at` (generation 0: NoKV never reuses an inode number). */
export function writeEntry(v: DataView, at: number, entry: EntryOut): void {
  v.setBigUint64(at, BigInt(entry.nodeid), true);
  v.setBigUint64(at + 8, 0n, true);
  setValidity(v, at + 16, at + 32, entry.entryValidMs);
  setValidity(v, at + 24, at + 36, entry.attrValidMs);
  writeAttr(v, at + 40, entry.attr);
}

export function encodeEntry(entry: EntryOut): Uint8Array {
  const out = new Uint8Array(SIZE.entryOut);
  writeEntry(view(out), 0, entry);
  return out;
}

export function encodeAttrOut(reply: AttrOut): Uint8Array {
  const out = new Uint8Array(SIZE.attrOut);
  const v = view(out);
  setValidity(v, 0, 8, reply.attrValidMs);
  writeAttr(v, 16, reply.attr);
  return out;
}

export function encodeOpen(reply: OpenOut): Uint8Array {
  const out = new Uint8Array(SIZE.openOut);
  const v = view(out);
  v.setBigUint64(0, BigInt(reply.fh), true);
  v.setUint32(8, reply.openFlags, true);
  return out;
}

export function encodeCreate(entry: EntryOut, open: OpenOut): Uint8Array {
  const out = new Uint8Array(SIZE.entryOut + SIZE.openOut);
  out.set(encodeEntry(entry), 0);
  out.set(encodeOpen(open), SIZE.entryOut);
  return out;
}

export function encodeWrite(sizeBytes: number): Uint8Array {
  const out = new Uint8Array(SIZE.writeOut);
  view(out).setUint32(0, sizeBytes, true);
  return out;
}

/** fuse_getxattr_out: the size a size-0 probe asks for. */
export function encodeXattrSize(sizeBytes: number): Uint8Array {
  return encodeWrite(sizeBytes);
}

export function encodeStatfs(s: StatfsOut): Uint8Array {
  const out = new Uint8Array(SIZE.statfsOut);
  const v = view(out);
  v.setBigUint64(0, BigInt(s.blocks), true);
  v.setBigUint64(8, BigInt(s.blocksFree), true);
  v.setBigUint64(16, BigInt(s.blocksAvailable), true);
  v.setBigUint64(24, BigInt(s.files), true);
  v.setBigUint64(32, BigInt(s.filesFree), true);
  v.setUint32(40, s.blockSizeBytes, true);
  v.setUint32(44, s.nameMaxBytes, true);
  v.setUint32(48, s.blockSizeBytes, true); // frsize
  return out;
}

export function encodeInit(conn: ConnectionInfo, maxBackground: number): Uint8Array {
  const out = new Uint8Array(SIZE.initOut);
  const v = view(out);
  v.setUint32(0, conn.major, true);
  v.setUint32(4, conn.minor, true);
  v.setUint32(8, conn.maxReadaheadBytes, true);
  v.setUint32(12, conn.flags, true);
  v.setUint16(16, maxBackground, true);
  v.setUint16(18, Math.floor((maxBackground * 3) / 4), true); // congestion_threshold
  v.setUint32(20, conn.maxWriteBytes, true);
  v.setUint32(24, 1, true); // time_gran: nanoseconds
  v.setUint16(28, Math.ceil(conn.maxWriteBytes / 4096), true); // max_pages
  return out;
}

/** NUL-separated names, as LISTXATTR returns them. */
export function encodeNameList(names: readonly string[]): Uint8Array {
  return encoder.encode(names.map((n) => `${n}\0`).join(""));
}

/**
 * A READDIR or READDIRPLUS reply being filled: fuse_dirent (or fuse_direntplus) records, each
 * 8-byte aligned, until the size the kernel asked for is reached.
 */
export class DirentBuffer implements DirentSink {
  private readonly bytes: Uint8Array;
  private readonly v: DataView;
  private usedBytes = 0;

  constructor(
    readonly plus: boolean,
    capacityBytes: number,
  ) {
    this.bytes = new Uint8Array(capacityBytes);
    this.v = view(this.bytes);
  }

  add(entry: DirEntryOut): boolean {
    const name = encoder.encode(entry.name);
    const fixedBytes = (this.plus ? SIZE.entryOut : 0) + SIZE.direntHeader;
    const recordBytes = direntAlign(fixedBytes + name.byteLength);
    if (this.usedBytes + recordBytes > this.bytes.byteLength) return false;
    let at = this.usedBytes;
    if (this.plus) {
      if (!entry.entry) throw new Error(`readdirplus entry '${entry.name}' has no entry_out`);
      writeEntry(this.v, at, entry.entry);
      at += SIZE.entryOut;
    }
    this.v.setBigUint64(at, BigInt(entry.ino), true);
    this.v.setBigUint64(at + 8, BigInt(entry.nextOffset), true);
    this.v.setUint32(at + 16, name.byteLength, true);
    this.v.setUint32(at + 20, entry.type, true);
    this.bytes.set(name, at + SIZE.direntHeader);
    this.usedBytes += recordBytes;
    return true;
  }

  /** The filled part; the padding bytes are zero because the buffer started zeroed. */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.usedBytes);
  }
}
