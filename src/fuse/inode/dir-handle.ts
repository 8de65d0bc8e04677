import type { DirEntryPlus } from "../../types/index.ts";
import type { Node } from "./node-table.ts";

// An open directory. The kernel resumes a listing by the offset cookie of the last entry it
// took; we hand out cookies 1, 2, 3... and remember which name each stands for, then resume
// with that name as the cursor of the next readdir-plus page. A name cursor stays valid when
// entries are added or removed meanwhile, so a concurrent change never skips or repeats one.

/** Cookies of "." and ".."; entries start after them. */
export const COOKIE_DOT = 1;
export const COOKIE_DOTDOT = 2;

export interface DirHandle {
  readonly fh: number;
  readonly node: Node;
  /** Cookie -> the name of the entry it follows. */
  readonly cookies: Map<number, string>;
  nextCookie: number;
  /** Entries fetched but not yet taken by the kernel (its buffer was full), after `after`. */
  pending: { after: string | undefined; entries: DirEntryPlus[]; nextAfter: string | null } | null;
  /** The last entry's name once a page said the listing ends there; null until then. */
  lastName: string | null;
}

export function newDirHandle(fh: number, node: Node): DirHandle {
  return { fh, node, cookies: new Map(), nextCookie: COOKIE_DOTDOT + 1, pending: null, lastName: null };
}
