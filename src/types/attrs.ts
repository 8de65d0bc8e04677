import type { InodeId, Version } from "./ids.ts";

/** fifo, chardev, blockdev and socket are special files: names with attributes and no body. */
export type InodeType = "file" | "dir" | "symlink" | "fifo" | "chardev" | "blockdev" | "socket";

export const SPECIAL_TYPES: readonly InodeType[] = ["fifo", "chardev", "blockdev", "socket"];

export function isSpecialType(type: InodeType): boolean {
  return type === "fifo" || type === "chardev" || type === "blockdev" || type === "socket";
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFSOCK = 0o140000;

const TYPE_BITS: Readonly<Record<InodeType, number>> = {
  file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK, fifo: S_IFIFO, chardev: S_IFCHR, blockdev: S_IFBLK, socket: S_IFSOCK,
};

/** The inode type of st_mode's S_IFMT bits, or null for bits that name no type. */
export function typeOfModeBits(mode: number): InodeType | null {
  const bits = mode & S_IFMT;
  for (const [type, b] of Object.entries(TYPE_BITS)) if (b === bits) return type as InodeType;
  return null;
}

/** The attributes of one inode. Times are nanoseconds since the epoch (bigint, exact). */
export interface InodeAttrs {
  inode: InodeId;
  type: InodeType;
  /** Permission bits only (0o7777); the type lives in `type`. */
  mode: number;
  uid: number;
  gid: number;
  sizeBytes: number;
  /** Body generation: bumped by every body change, so cached read plans can detect staleness. */
  generation: number;
  nlink: number;
  /** Directories: the one parent (root: itself). Files: the directory of the first link. */
  parent: InodeId;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Symlink target; empty for other types. */
  target: string;
  /** Device number (Linux encoding) of a chardev or blockdev; 0 for every other type. */
  rdev: number;
  /**
   * Bytes of a file's body that no block holds (they read as zeros: a truncate-extend or a write
   * past the end). st_blocks counts the rest; 0 for every other type.
   */
  holeBytes: number;
  /** The commit version that wrote these attributes. */
  version: Version;
}

export function typeBits(type: InodeType): number {
  return TYPE_BITS[type];
}

/** st_blocks: 512-byte units of the bytes that blocks hold (a sparse file's holes are not counted). */
export function blocks512(attrs: Pick<InodeAttrs, "sizeBytes" | "holeBytes">): number {
  return Math.ceil(Math.max(0, attrs.sizeBytes - attrs.holeBytes) / 512);
}

/** The st_mode a stat() caller expects: type bits plus permission bits. */
export function statMode(attrs: Pick<InodeAttrs, "type" | "mode">): number {
  return typeBits(attrs.type) | (attrs.mode & 0o7777);
}

/** Wall-clock time in nanoseconds, at microsecond resolution (what performance.now() offers). */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** Changes setattr may make; absent fields stay as they are. */
export interface AttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  sizeBytes?: number;
  atimeNs?: bigint;
  mtimeNs?: bigint;
}

/** The changes a publish can carry with its body (mode, owner, times): its manifest is the size. */
export type MetaChanges = Omit<AttrChanges, "sizeBytes">;
