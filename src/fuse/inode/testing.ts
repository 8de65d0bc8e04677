import type { InodeAttrs } from "../../types/index.ts";

/** Attributes for tests of the inode layer's bookkeeping. */
export function attrsOf(inode: number, type: InodeAttrs["type"] = "file", more: Partial<InodeAttrs> = {}): InodeAttrs {
  return { inode, type, mode: 0o644, uid: 0, gid: 0, sizeBytes: 0, generation: 0, nlink: 1, parent: 1, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, target: "", rdev: 0, holeBytes: 0, version: 1, ...more };
}
