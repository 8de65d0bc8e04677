import type { InodeType } from "./attrs.ts";
import type { InodeId } from "./ids.ts";

// What diff and clone answer, as the service builds them and clients read them.

export type DiffKind = "added" | "removed" | "changed" | "renamed";
export type DiffChange = "content" | "type" | "mode" | "owner" | "target";

export interface DiffEntry {
  kind: DiffKind;
  /** Relative to the compared directories, "/"-separated; `a`'s path for removed and renamed. */
  path: string;
  /** For renamed: where it is in `b`. */
  toPath?: string;
  type: InodeType;
  /** For changed (and a renamed file whose content changed too): what differs. */
  changes?: DiffChange[];
  inodeA?: InodeId;
  inodeB?: InodeId;
  generationA?: number;
  generationB?: number;
  sizeA?: number;
  sizeB?: number;
}

export interface DiffPage {
  entries: DiffEntry[];
  /** Pass back as `cursor` for the next page; null when the walk is done. */
  nextCursor: string | null;
}


/** What a clone made. */
export interface CloneResult {
  /** The copy's root inode. */
  inode: InodeId;
  /** Entries copied (the root included). */
  entries: number;
  version: number;
}

/** What a rollback changed. */
export interface RollbackResult {
  /** Entries whose state changed (the watch events sent). */
  changed: number;
  version: number;
}
