import { FsError, type InodeAttrs } from "../../types/index.ts";
import type { EntryOut, RequestContext } from "../kernel/index.ts";
import { entryOut } from "./attrs.ts";
import type { Bodies } from "./bodies.ts";
import type { BufferPool } from "./buffer-pool.ts";
import { LocalAnswers } from "./local-answers.ts";
import type { Node, NodeTable } from "./node-table.ts";
import type { FileHandle, Handles } from "./open-files.ts";
import type { DirHandle } from "./dir-handle.ts";
import type { PublishedBodies } from "./published-bodies.ts";
import type { SiblingPrefetch } from "./sibling-prefetch.ts";
import type { XattrPages } from "./xattr-pages.ts";
import type { NodeSource, OwnerArgs } from "./source.ts";

// What every handler of the inode layer shares.

export interface FsState {
  source: NodeSource;
  nodes: NodeTable;
  files: Handles<FileHandle>;
  dirs: Handles<DirHandle>;
  bodies: Bodies;
  /** What the mount answers without a round trip (see local-answers.ts). */
  local: LocalAnswers;
  /** Attribute names of listed files, fetched a page at a time when first asked. */
  xattrPages: XattrPages;
  /** Small files of a listing fetched ahead of a program reading them in order. */
  prefetch: SiblingPrefetch;
  /** Small files this mount published, kept for reads after the last close. */
  published: PublishedBodies;
  /** Buffers readahead windows are read into, reused across handles. */
  readBuffers: BufferPool;
  /** Nodes unlinked (or renamed over) while open: metad keeps them until their last handle closes. */
  orphans: Set<number>;
  /** How long the kernel may trust names in directory `dirNodeid` and their attributes. */
  timeoutFor(dirNodeid: number): number;
  /** The kernel looked into this directory: a live mount starts watching it. */
  sawDir(nodeid: number): void;
  /** Like sawDir, once the watch is live: what is answered next may be cached for long. */
  listingDir(nodeid: number): Promise<void>;
  /** This mount made the directory, committed at `version`: a live mount watches it from there. */
  madeDir(nodeid: number, version: number): void;
}

export function checkWritable(state: FsState): void {
  if (state.source.readOnly) throw new FsError("EROFS", "the mount is read-only");
}

export const S_ISUID_ISGID = 0o6000;

/**
 * Drops setuid/setgid when the kernel says a write, truncate or chown must (HANDLE_KILLPRIV_V2
 * leaves it to us). Rare: only files that carry the bits pay a request.
 */
export async function killSuidGid(state: FsState, node: Node, kill: boolean): Promise<void> {
  if (!kill || (node.attrs.mode & S_ISUID_ISGID) === 0) return;
  state.nodes.update(node, await state.source.setattr(node.inode, { mode: node.attrs.mode & ~S_ISUID_ISGID }));
}

export function ownerOf(ctx: RequestContext, mode?: number): OwnerArgs {
  return mode === undefined ? { uid: ctx.uid, gid: ctx.gid } : { mode: mode & 0o7777, uid: ctx.uid, gid: ctx.gid };
}

/**
 * A command of ours made `name` (with `attrs`) in directory `parent`: the parent's listing gains
 * it, its attributes follow from the child's, and a new inode has no extended attributes.
 */
export function madeEntry(state: FsState, parent: number, name: string, attrs: InodeAttrs): EntryOut {
  state.nodes.ownCommit(attrs);
  const entry = replyEntry(state, parent, name, attrs);
  const subdirs = attrs.type === "dir" ? 1 : 0;
  state.local.added(parent, name);
  childCommitted(state, parent, attrs, subdirs);
  if (attrs.nlink <= 1 || attrs.type === "dir") state.local.setXattrNames(entry.nodeid, []);
  if (attrs.type === "dir") {
    // Empty, and its attributes are the reply's: both ours to answer once it is watched.
    state.local.listed(entry.nodeid, []);
    state.local.dirFresh(entry.nodeid);
    state.madeDir(entry.nodeid, attrs.version);
  }
  return entry;
}

/** Our command in `parent` committed with `child`'s attributes: the parent's follow (see LocalAnswers.parentAfter). */
export function childCommitted(state: FsState, parent: number, child: InodeAttrs, newSubdirs: number): void {
  const dir = state.nodes.get(parent);
  if (dir && state.local.isFresh(parent)) state.nodes.update(dir, LocalAnswers.parentAfter(dir.attrs, child, newSubdirs));
}

/**
 * Records `name` in `parent` as a new kernel reference and builds its entry reply. The kernel now
 * caches an entry of `parent`, so a live mount watches `parent` for changes to it.
 */
export function replyEntry(state: FsState, parent: number, name: string, attrs: InodeAttrs): EntryOut {
  const node = state.nodes.remember(parent, name, attrs);
  state.sawDir(parent);
  return entryOut(state.nodes, node.attrs, state.timeoutFor(parent), state.bodies.overlay(node));
}

/** The timeout for a node's attributes: its changes are logged in its parent's watch scope. */
export function attrTimeoutFor(state: FsState, node: Node): number {
  const link = state.nodes.linkOf(node);
  return state.timeoutFor(link === null ? node.nodeid : link.parent);
}
