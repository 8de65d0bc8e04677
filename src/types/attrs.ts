import type { InodeId, Version } from "./ids.ts";

export type InodeType = "file" | "dir" | "symlink";

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

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
  /** The commit version that wrote these attributes. */
  version: Version;
}

export function typeBits(type: InodeType): number {
  return type === "dir" ? S_IFDIR : type === "symlink" ? S_IFLNK : S_IFREG;
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
