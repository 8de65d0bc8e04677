import { FsError, LIMITS, type DiffChange, type DiffEntry, type DiffPage, type InodeAttrs, type InodeId, type MountId, type Version } from "../types/index.ts";
import type { ServiceCore } from "./core.ts";
import type { Resolver } from "./clone.ts";
import { mergeWalk, pathBelow, type NameMemo, type TreeView, type Visit } from "./tree.ts";

// diff of two subtrees (two live directories, a clone and its source, or a directory and a
// snapshot of it): what was added, removed, changed or renamed, from metadata alone. A file's
// content changed when its generation differs and its block lists do too (a clone keeps its
// source's generation, so an untouched copy costs one comparison). Renames are told by inode
// number, so only between two states of the same directory (same root inode). Pages resume
// after the last name visited; a live side is read afresh each page (diff a snapshot for a
// stable answer). A different inode number alone is no change: a rollback's copies come back
// under new numbers with the same content.

export interface DiffSide {
  path: string;
  /** A snapshot's read version and root (paths resolve below it); absent: live. */
  at?: Version;
  root?: InodeId;
}

export interface DiffArgs {
  mount: MountId;
  a: DiffSide;
  b: DiffSide;
  /** Where the previous page stopped (its nextCursor). */
  cursor?: string;
  limit?: number;
}

export class Differ {
  constructor(
    private readonly core: ServiceCore,
    private readonly resolve: Resolver,
  ) {}

  diff(args: DiffArgs): DiffPage {
    const limit = args.limit ?? LIMITS.diffPageMaxEntries;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.diffPageMaxEntries) {
      throw new FsError("EINVAL", `diff limit must be 1..${LIMITS.diffPageMaxEntries}, got ${limit}`);
    }
    const views = { a: viewOf(args.mount, args.a), b: viewOf(args.mount, args.b) };
    const rootA = this.root(args.mount, args.a);
    const rootB = this.root(args.mount, args.b);
    const resume = args.cursor === undefined || args.cursor === "" ? [] : args.cursor.split("/");
    const compare = new Comparer(this.core, views, rootA.inode === rootB.inode ? rootA.inode : null);
    const entries: DiffEntry[] = [];
    let visited = 0;
    for (const visit of mergeWalk(this.core, views, rootA.inode, rootB.inode, [], resume)) {
      entries.push(...compare.entries(visit));
      if (entries.length >= limit || ++visited >= LIMITS.diffPageMaxVisited) return { entries, nextCursor: visit.names.join("/") };
    }
    return { entries, nextCursor: null };
  }

  private root(mount: MountId, side: DiffSide): InodeAttrs {
    const view = { mount, ...(side.at === undefined ? {} : { at: side.at }), ...(side.root === undefined ? {} : { root: side.root }) };
    const attrs = this.resolve(view, side.path, true);
    if (attrs.type !== "dir") throw new FsError("ENOTDIR", `'${side.path}' is not a directory; diff compares directories`);
    return attrs;
  }
}

function viewOf(mount: MountId, side: DiffSide): TreeView {
  return side.at === undefined ? { mount } : { mount, at: side.at };
}

/** Turns visits into entries; `sameRoot` is set when both sides are states of one directory (renames count). */
export class Comparer {
  private readonly memoA: NameMemo = new Map();
  private readonly memoB: NameMemo = new Map();

  constructor(
    private readonly core: ServiceCore,
    private readonly views: { a: TreeView; b: TreeView },
    private readonly sameRoot: InodeId | null,
  ) {}

  entries(visit: Visit): DiffEntry[] {
    const { a, b } = visit;
    const path = visit.names.join("/");
    const movedA = a && (!b || a.inode !== b.inode) ? this.whereIs(this.views.b, this.memoB, a.inode) : null;
    const movedB = b && (!a || a.inode !== b.inode) ? this.whereIs(this.views.a, this.memoA, b.inode) : null;
    if (a && b && movedA === null && movedB === null) {
      const changes = this.changes(a, b);
      return changes.length === 0 ? [] : [{ kind: "changed", path, type: b.type, changes, ...sides(a, b) }];
    }
    const out: DiffEntry[] = [];
    if (a && movedA !== null) {
      const renamed: DiffEntry = { kind: "renamed", path, toPath: movedA, type: a.type, inodeA: a.inode };
      const moved = this.core.store.getInode({ mount: this.views.b.mount, inode: a.inode }, this.views.b.at);
      const changes = moved ? this.changes(a, moved) : [];
      if (moved && changes.length > 0) Object.assign(renamed, { changes, ...sides(a, moved) });
      out.push(renamed);
    } else if (a) out.push({ kind: "removed", path, type: a.type, inodeA: a.inode, ...(a.type === "file" ? { generationA: a.generation, sizeA: a.sizeBytes } : {}) });
    if (b && movedB === null) out.push({ kind: "added", path, type: b.type, inodeB: b.inode, ...(b.type === "file" ? { generationB: b.generation, sizeB: b.sizeBytes } : {}) });
    return out;
  }

  /** Where an inode is below the shared root in `view`, or null (never when the roots differ). */
  private whereIs(view: TreeView, memo: NameMemo, inode: InodeId): string | null {
    if (this.sameRoot === null) return null;
    return pathBelow(this.core, view, this.sameRoot, inode, memo)?.join("/") ?? null;
  }

  changes(a: InodeAttrs, b: InodeAttrs): DiffChange[] {
    const out: DiffChange[] = [];
    if (a.type !== b.type) return ["type"];
    if (a.type === "file" && a.generation !== b.generation && !this.sameBody(a, b)) out.push("content");
    if (a.type === "symlink" && a.target !== b.target) out.push("target");
    if (a.mode !== b.mode) out.push("mode");
    if (a.uid !== b.uid || a.gid !== b.gid) out.push("owner");
    return out;
  }

  /** Two generations hold the same bytes when their sizes and block lists agree (no byte is read). */
  private sameBody(a: InodeAttrs, b: InodeAttrs): boolean {
    if (a.sizeBytes !== b.sizeBytes) return false;
    const rows = (view: TreeView, x: InodeAttrs) =>
      JSON.stringify(this.core.store.scanManifests(view.mount, x.inode, x.generation, view.at).filter((r) => r.value.kind === "chunk"));
    return rows(this.views.a, a) === rows(this.views.b, b);
  }
}

function sides(a: InodeAttrs, b: InodeAttrs): Partial<DiffEntry> {
  const out: Partial<DiffEntry> = { inodeA: a.inode, inodeB: b.inode };
  if (a.type === "file" && b.type === "file") Object.assign(out, { generationA: a.generation, generationB: b.generation, sizeA: a.sizeBytes, sizeB: b.sizeBytes });
  return out;
}
