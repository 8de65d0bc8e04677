import { FsError, LIMITS, ROOT_INODE, splitPath, type InodeAttrs, type InodeId, type MountId, type Version } from "../types/index.ts";
import type { ServiceCore } from "./core.ts";

// Subtree walks shared by clone, diff and rollback: a directory's children in name order, live or
// as of a snapshot's version, a page of the store at a time (never a whole directory in memory).

/** Which state of a mount a walk reads: current, or as of a snapshot's read version. */
export interface TreeView {
  mount: MountId;
  at?: Version;
}

export interface Child {
  name: string;
  attrs: InodeAttrs;
}

/** A directory's entries with their attributes, in the store's name order, after `after`. */
export function* children(core: ServiceCore, view: TreeView, dir: InodeId, after = ""): Generator<Child> {
  const pageEntries = LIMITS.readdirPageMaxEntries;
  for (let cursor = after; ; ) {
    let page: Child[];
    if (view.at === undefined) {
      page = core.store.scanDentriesPlus(view.mount, dir, { after: cursor, limit: pageEntries });
    } else {
      const at = view.at;
      page = core.store.scanDentries(view.mount, dir, { after: cursor, limit: pageEntries, at }).map((d) => ({ name: d.name, attrs: core.getInode(view.mount, d.inode, at) }));
    }
    yield* page;
    if (page.length < pageEntries) return;
    cursor = page[page.length - 1]!.name;
  }
}

/** One entry of a view, or null. */
export function childAt(core: ServiceCore, view: TreeView, dir: InodeId, name: string): InodeAttrs | null {
  const dentry = core.store.getDentry({ mount: view.mount, parent: dir, name }, view.at);
  return dentry ? core.getInode(view.mount, dentry.inode, view.at) : null;
}

/**
 * Names in the store's order: SQLite compares TEXT as UTF-8 bytes, which is code point order.
 * JavaScript's `<` compares UTF-16 units and disagrees above U+E000, so merges use this.
 */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Names of inodes by directory, filled as parent chains are followed (one listing per directory). */
export type NameMemo = Map<InodeId, Map<InodeId, string>>;

/** The path of `inode` below `root` as of the view, by its parent chain, or null when it is not below it. */
export function pathBelow(core: ServiceCore, view: TreeView, root: InodeId, inode: InodeId, memo: NameMemo): string[] | null {
  const names: string[] = [];
  const seen = new Set<InodeId>();
  for (let cursor = inode; cursor !== root; ) {
    const attrs = core.store.getInode({ mount: view.mount, inode: cursor }, view.at);
    if (!attrs || attrs.parent === cursor || seen.has(cursor)) return null;
    seen.add(cursor);
    const name = nameIn(core, view, attrs.parent, cursor, memo);
    if (name === null) return null;
    names.push(name);
    cursor = attrs.parent;
  }
  return names.reverse();
}

/** The name `inode` has in directory `dir`: inodes record their parent, not their name. */
function nameIn(core: ServiceCore, view: TreeView, dir: InodeId, inode: InodeId, memo: NameMemo): string | null {
  let names = memo.get(dir);
  if (!names) {
    names = new Map();
    for (const d of scanAll(core, view, dir)) if (!names.has(d.inode)) names.set(d.inode, d.name);
    memo.set(dir, names);
  }
  return names.get(inode) ?? null;
}

function* scanAll(core: ServiceCore, view: TreeView, dir: InodeId): Generator<{ name: string; inode: InodeId }> {
  const limit = LIMITS.readdirPageMaxEntries;
  for (let after = ""; ; ) {
    const page = core.store.scanDentries(view.mount, dir, { after, limit, ...(view.at === undefined ? {} : { at: view.at }) });
    yield* page;
    if (page.length < limit) return;
    after = page[page.length - 1]!.name;
  }
}

/** Whether `dir` is `inode` or lies beneath it (live). */
export function isWithin(core: ServiceCore, mount: MountId, dir: InodeId, inode: InodeId): boolean {
  const seen = new Set<InodeId>();
  for (let cursor = dir; ; ) {
    if (cursor === inode) return true;
    if (cursor === ROOT_INODE || seen.has(cursor)) return false;
    seen.add(cursor);
    cursor = core.getInode(mount, cursor).parent;
  }
}

/** The live directory a new entry at `path` goes into, and its name. */
export function parentOfPath(resolve: (path: string) => InodeAttrs, path: string): { dir: InodeAttrs; name: string } {
  const parts = splitPath(path);
  const name = parts.pop();
  if (name === undefined) throw new FsError("EEXIST", "the root already exists");
  if (name === "..") throw new FsError("EINVAL", `path ends in '..': ${path}`);
  const dir = resolve("/" + parts.join("/"));
  if (dir.type !== "dir") throw new FsError("ENOTDIR", `parent of '${name}' is not a directory`);
  return { dir, name };
}

/** One name visited by a merged walk of two trees: what each side holds there (null: nothing). */
export interface Visit {
  names: string[];
  /** The directories the name is looked up in on each side. */
  dirA: InodeId;
  dirB: InodeId;
  a: InodeAttrs | null;
  b: InodeAttrs | null;
}

/**
 * Both trees in one pre-order walk by name: each name once, then, when both sides hold a
 * directory there, the names below it. A directory only one side holds is visited but not
 * entered, nor is a pair `enter` refuses. `resume` (a visited path) restarts the walk just after
 * that name.
 */
export function* mergeWalk(
  core: ServiceCore,
  views: { a: TreeView; b: TreeView },
  dirA: InodeId,
  dirB: InodeId,
  prefix: string[],
  resume: readonly string[],
  enter: (a: InodeAttrs, b: InodeAttrs) => boolean = () => true,
): Generator<Visit> {
  let after = "";
  if (resume.length > 0) {
    const first = resume[0]!;
    const a = childAt(core, views.a, dirA, first);
    const b = childAt(core, views.b, dirB, first);
    if (a?.type === "dir" && b?.type === "dir" && enter(a, b)) yield* mergeWalk(core, views, a.inode, b.inode, [...prefix, first], resume.slice(1), enter);
    after = first;
  }
  const left = children(core, views.a, dirA, after);
  const right = children(core, views.b, dirB, after);
  let x = left.next();
  let y = right.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareNames(x.value.name, y.value.name);
    const name = order <= 0 ? x.value!.name : y.value!.name;
    const a = order <= 0 ? x.value!.attrs : null;
    const b = order >= 0 ? y.value!.attrs : null;
    if (order <= 0) x = left.next();
    if (order >= 0) y = right.next();
    const names = [...prefix, name];
    yield { names, dirA, dirB, a, b };
    if (a?.type === "dir" && b?.type === "dir" && enter(a, b)) yield* mergeWalk(core, views, a.inode, b.inode, names, [], enter);
  }
}
