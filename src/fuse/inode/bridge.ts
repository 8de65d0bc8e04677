import { FsError, LIMITS } from "../../types/index.ts";
import type { Notifier, RawFileSystem } from "../kernel/index.ts";
import { Bodies } from "./bodies.ts";
import type { DirHandle } from "./dir-handle.ts";
import { dirOps } from "./dir-ops.ts";
import { entryOps } from "./entry-ops.ts";
import { fileOps } from "./file-ops.ts";
import { Invalidator } from "./invalidator.ts";
import { LocalAnswers } from "./local-answers.ts";
import { miscOps } from "./misc-ops.ts";
import { NodeTable } from "./node-table.ts";
import { Handles, type FileHandle } from "./open-files.ts";
import { SiblingPrefetch } from "./sibling-prefetch.ts";
import { BufferPool, BufferPools } from "./buffer-pool.ts";
import { PublishedBodies } from "./published-bodies.ts";
import { XattrPages } from "./xattr-pages.ts";
import type { NodeSource } from "./source.ts";
import { staleOnChange } from "./stale-on-change.ts";
import { childCommitted, type FsState } from "./state.ts";

// The one place the kernel layer meets the inode layer: builds the RawFileSystem the session
// dispatches to, from the handler areas and their shared state.

export interface NoKVFs {
  readonly fs: RawFileSystem;
  readonly state: FsState;
  /** Null for snapshot mounts: nothing changes, so nothing is watched. */
  readonly invalidator: Invalidator | null;
  /** Connects invalidation, and stores of fetched bytes, to the mounted device. */
  attach(notifier: Notifier): void;
  close(): Promise<void>;
}

export async function createNoKVFs(source: NodeSource): Promise<NoKVFs> {
  const rootAttrs = await source.getattr(source.rootInode);
  if (rootAttrs.type !== "dir") throw new FsError("ENOTDIR", `inode ${source.rootInode} is not a directory`);
  const nodes = new NodeTable(source.rootInode, rootAttrs);
  source.usePaths?.((inode) => nodes.pathOf(nodes.nodeidOf(inode)));
  const files = new Handles<FileHandle>();
  const watchable = source.watch ? (source as NodeSource & Required<Pick<NodeSource, "watch">>) : null;
  let invalidator: Invalidator | null = null;
  let notifier: Notifier | null = null;
  const bodies = new Bodies(source, nodes, new BufferPools([LIMITS.fuseWriteBlockBytes, LIMITS.fuseWideBlockBytes], LIMITS.fuseWriteBufferPoolBytes));
  const prefetch = new SiblingPrefetch(
    (node, sizeBytes, generation) => source.read(node.inode, { offsetBytes: 0, lengthBytes: sizeBytes, generation }),
    (nodeid) => nodes.get(nodeid),
    // Only a file nothing in this mount has open (see Notifier.notifyStore): no READ of it waits
    // on this thread, and no writer's pages are in the kernel.
    (node, bytes) => notifier !== null && node.handles === 0 && !bodies.openForWrite(node) && !bodies.loaded(node) && notifier.notifyStore(node.nodeid, 0, bytes),
  );
  const published = new PublishedBodies();
  const local = new LocalAnswers((nodeid) => invalidator?.isLive(nodeid) ?? false, nodes);
  invalidator = watchable
    ? new Invalidator(
        watchable,
        nodes,
        (nodeid) => {
          for (const handle of files.forNode(nodeid)) handle.readahead?.drop();
          prefetch.changed(nodeid);
        },
        (inval) => {
          local.invalidated(inval);
          // Bytes kept from our own publish are stale once the body changed elsewhere.
          if (inval.kind === "inode" && inval.offsetBytes === 0) published.forget(inval.nodeid);
          // A name moved or went elsewhere: the file behind it (ctime, links) changed too.
          const child = inval.kind === "entry" ? nodes.childOf(inval.parent, inval.name) : undefined;
          if (child !== undefined) local.fileStale(child);
        },
      )
    : null;
  const state: FsState = {
    source,
    nodes,
    files,
    dirs: new Handles<DirHandle>(),
    bodies,
    orphans: new Set(),
    prefetch,
    published,
    readBuffers: new BufferPool(LIMITS.fuseReadaheadBytes, LIMITS.fuseReadaheadPoolBytes),
    xattrPages: new XattrPages(source, local),
    local,
    timeoutFor: (dirNodeid) => (invalidator ? invalidator.timeoutFor(dirNodeid) : LIMITS.fuseSnapshotCacheTimeoutMs),
    sawDir: (nodeid) => invalidator?.watchDir(nodeid),
    listingDir: async (nodeid) => await invalidator?.watchDirReady(nodeid),
    madeDir: (nodeid, version) => invalidator?.watchNewDir(nodeid, version),
  };
  state.bodies.afterPublish = (parent, attrs) => {
    nodes.ownCommit(attrs);
    childCommitted(state, parent, attrs, 0);
  };
  state.bodies.afterClose = (node, generation, bytes) => published.remember(node, generation, bytes);
  state.bodies.onLost = (node) => {
    published.forget(node.nodeid);
    for (const handle of files.forNode(node.nodeid)) handle.readahead?.drop();
    invalidator?.dropPages(node.nodeid);
  };
  nodes.onDrop = (node) => {
    if (node.type === "dir") invalidator?.unwatch(node.nodeid);
    local.dropped(node.nodeid);
    prefetch.dropped(node.nodeid);
    published.forget(node.nodeid);
  };
  const fs = staleOnChange(
    {
      init: () => state.sawDir(1),
      ...entryOps(state),
      ...fileOps(state),
      ...dirOps(state),
      ...miscOps(state),
    },
    state,
  );
  return {
    fs,
    state,
    invalidator,
    attach: (attached) => {
      notifier = attached;
      invalidator?.attach(attached);
    },
    close: async () => {
      await invalidator?.close();
      await source.close?.();
    },
  };
}
