import type { InodeAttrs, InodeType } from "./attrs.ts";
import type { InodeId, Version } from "./ids.ts";

/** A directory entry as stored: the child and its type (the type of an inode never changes). */
export interface Dentry {
  name: string;
  inode: InodeId;
  type: InodeType;
  version: Version;
}

/** A readdir-plus entry: the name with the child's attributes. */
export interface DirEntryPlus {
  name: string;
  attrs: InodeAttrs;
}

/** One page of a directory listing; pass `nextAfter` back as `after` to resume. */
export interface DirPage<T> {
  entries: T[];
  /** The last name of this page when more may follow, else null. */
  nextAfter: string | null;
}
