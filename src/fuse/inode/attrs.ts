import { LIMITS, blocks512, statMode, type InodeAttrs } from "../../types/index.ts";
import type { EntryOut, FuseAttr } from "../kernel/index.ts";
import type { NodeTable } from "./node-table.ts";

// NoKV attributes as the kernel wants them, and entry replies with the mount's cache timeouts.

/** st_blksize: large, so cp and friends move data in big writes (one kernel WRITE each). */
const IO_BLOCK_BYTES = LIMITS.fuseMaxWriteBytes;

/** What an open, unpublished body changes about a file's attributes until it is published. */
export interface AttrOverlay {
  sizeBytes: number;
  /** Of sizeBytes, what no block will hold once published (st_blocks leaves it out). */
  holeBytes: number;
  mtimeNs: bigint;
  /** A write or truncate changes the inode: ctime moves with it (the publish stamps it again). */
  ctimeNs: bigint;
  /** A setattr waiting for the publish (Bodies.defer). */
  mode?: number;
  uid?: number;
  gid?: number;
  atimeNs?: bigint;
}

export function toFuseAttr(nodes: NodeTable, attrs: InodeAttrs, overlay?: AttrOverlay): FuseAttr {
  const sizeBytes = overlay?.sizeBytes ?? attrs.sizeBytes;
  return {
    ino: nodes.nodeidOf(attrs.inode),
    sizeBytes,
    blocks512: blocks512({ sizeBytes, holeBytes: overlay?.holeBytes ?? attrs.holeBytes }),
    atimeNs: overlay?.atimeNs ?? BigInt(attrs.atimeNs),
    mtimeNs: overlay?.mtimeNs ?? BigInt(attrs.mtimeNs),
    ctimeNs: overlay?.ctimeNs ?? BigInt(attrs.ctimeNs),
    mode: statMode(overlay?.mode === undefined ? attrs : { ...attrs, mode: overlay.mode }),
    nlink: attrs.nlink,
    uid: overlay?.uid ?? attrs.uid,
    gid: overlay?.gid ?? attrs.gid,
    blockSizeBytes: IO_BLOCK_BYTES,
    rdev: attrs.rdev,
  };
}

export function entryOut(nodes: NodeTable, attrs: InodeAttrs, cacheTimeoutMs: number, overlay?: AttrOverlay): EntryOut {
  return { nodeid: nodes.nodeidOf(attrs.inode), entryValidMs: cacheTimeoutMs, attrValidMs: cacheTimeoutMs, attr: toFuseAttr(nodes, attrs, overlay) };
}

/** "No such name", cached like a positive entry: watch events invalidate it when one appears. */
export function negativeEntry(cacheTimeoutMs: number): EntryOut {
  const attr: FuseAttr = { ino: 0, sizeBytes: 0, blocks512: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, mode: 0, nlink: 0, uid: 0, gid: 0, blockSizeBytes: 0, rdev: 0 };
  return { nodeid: 0, entryValidMs: cacheTimeoutMs, attrValidMs: 0, attr };
}
