import { LIMITS, typeBits, type DirEntryPlus, type DirPage, type InodeAttrs } from "../../types/index.ts";
import { DT_DIR, DT_LNK, DT_REG, FOPEN, FUSE_ROOT_ID, type DirentSink, type RawFileSystem } from "../kernel/index.ts";
import { entryOut } from "./attrs.ts";
import { COOKIE_DOT, COOKIE_DOTDOT, newDirHandle, type DirHandle } from "./dir-handle.ts";
import { splitLinkKey } from "./node-table.ts";
import type { FsState } from "./state.ts";
import type { PageToken } from "./xattr-pages.ts";

// OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR.

/** d_type values (DT_FIFO 1, DT_CHR 2, DT_BLK 6, DT_SOCK 12): st_mode's type bits shifted down. */
export function direntType(type: InodeAttrs["type"]): number {
  if (type === "dir") return DT_DIR;
  if (type === "symlink") return DT_LNK;
  if (type === "file") return DT_REG;
  return typeBits(type) >> 12;
}

export function dirOps(state: FsState): Pick<RawFileSystem, "opendir" | "readdir" | "releasedir" | "fsyncdir"> {
  return {
    async opendir(_ctx, nodeid) {
      const node = state.nodes.require(nodeid);
      // The kernel may keep the listing (a second find, du after find, git status) when every
      // change to the directory reaches it: its own, and others' as watch invalidations; so the
      // watch is made live first (the first readdir would wait for it anyway). A snapshot never
      // changes.
      await state.listingDir(nodeid);
      const handle = state.dirs.add((fh) => newDirHandle(fh, node));
      const cacheable = !state.source.watch || state.local.watched(nodeid);
      return { fh: handle.fh, openFlags: cacheable ? FOPEN.CACHE_DIR | FOPEN.KEEP_CACHE : 0 };
    },
    async readdir(_ctx, nodeid, fh, offset, sink) {
      const handle = state.dirs.get(fh);
      // A listing read while the directory is not yet watched would reach the kernel uncacheable
      // (timeout 0) and cost a LOOKUP per entry right after (ls -l, find, du, tar): one wait for
      // the subscription instead.
      if (offset === 0) await state.listingDir(nodeid);
      else state.sawDir(nodeid);
      if (offset < COOKIE_DOTDOT && !addDots(state, handle, offset, sink)) return;
      const after = offset <= COOKIE_DOTDOT ? undefined : handle.cookies.get(offset);
      // The kernel only passes back cookies we gave; an unknown one ends the listing.
      if (offset > COOKIE_DOTDOT && after === undefined) return;
      await addEntries(state, handle, after, sink);
    },
    async releasedir(_ctx, _nodeid, fh) {
      const handle = state.dirs.take(fh);
      if (handle) state.nodes.release(handle.node);
    },
    // Metadata commits before each reply, so there is nothing left to sync.
    async fsyncdir() {},
  };
}

/** "." and ".." (no lookup counted for them, so their entries carry node id 0). */
function addDots(state: FsState, handle: DirHandle, offset: number, sink: DirentSink): boolean {
  const self = handle.node;
  const parent = self.nodeid === FUSE_ROOT_ID || self.primary === null ? FUSE_ROOT_ID : splitLinkKey(self.primary).parent;
  const dots = [
    { name: ".", ino: self.nodeid, nextOffset: COOKIE_DOT },
    { name: "..", ino: parent, nextOffset: COOKIE_DOTDOT },
  ];
  for (const dot of dots.slice(offset)) {
    const entry = { ...entryOut(state.nodes, self.attrs, 0), nodeid: 0 };
    if (!sink.add({ ...dot, type: DT_DIR, entry })) return false;
  }
  return true;
}

async function addEntries(state: FsState, handle: DirHandle, after: string | undefined, sink: DirentSink): Promise<void> {
  if (after === undefined && sink.plus) state.prefetch.listingStarted(handle.node.nodeid);
  // The kernel asks once more past the last entry: the listing is known to end there.
  if (after !== undefined && after === handle.lastName) return;
  let cursor = after;
  for (;;) {
    const page = await pageAfter(state, handle, cursor);
    for (let i = 0; i < page.entries.length; i++) {
      const e = page.entries[i]!;
      if (!addEntry(state, handle, e, sink)) {
        handle.pending = { after: cursor, entries: page.entries.slice(i), nextAfter: page.nextAfter };
        return;
      }
      cursor = e.name;
    }
    handle.pending = null;
    if (page.nextAfter === null) {
      handle.lastName = cursor ?? null;
      return;
    }
  }
}

function addEntry(state: FsState, handle: DirHandle, e: DirEntryPlus, sink: DirentSink): boolean {
  const cookie = handle.nextCookie;
  const known = state.nodes.get(state.nodes.nodeidOf(e.attrs.inode));
  const overlay = known ? state.bodies.overlay(known) : undefined;
  const entry = sink.plus ? entryOut(state.nodes, e.attrs, state.timeoutFor(handle.node.nodeid), overlay) : undefined;
  const ino = state.nodes.nodeidOf(e.attrs.inode);
  if (!sink.add({ name: e.name, ino, type: direntType(e.attrs.type), nextOffset: cookie, ...(entry ? { entry } : {}) })) return false;
  handle.nextCookie++;
  handle.cookies.set(cookie, e.name);
  // READDIRPLUS: the kernel counts a lookup for every entry it took.
  if (sink.plus) {
    const node = state.nodes.remember(handle.node.nodeid, e.name, e.attrs);
    if (node.type === "file") state.local.fileFresh(node.nodeid);
    state.prefetch.listed(handle.node.nodeid, node);
    const page = pageOf.get(e);
    if (page) state.xattrPages.taken(page, node.nodeid, node.inode);
  }
  return true;
}

/** The entries after `cursor`: what the kernel did not take last time, or a new page. */
async function pageAfter(state: FsState, handle: DirHandle, cursor: string | undefined): Promise<DirPage<DirEntryPlus>> {
  const pending = handle.pending;
  if (pending && pending.after === cursor) return { entries: pending.entries, nextAfter: pending.nextAfter };
  const limit = LIMITS.readdirPageDefaultEntries;
  const page = await state.source.readdirPlus(handle.node.inode, cursor === undefined ? { limit } : { after: cursor, limit });
  const token: PageToken = {};
  for (const e of page.entries) pageOf.set(e, token);
  return page;
}

/** The page each listed entry came in: its files' attribute names are fetched together (xattr-pages.ts). */
const pageOf = new WeakMap<DirEntryPlus, PageToken>();
