import type { AttrChanges, BodyManifest, MetaChanges, DirEntryPlus, DirPage, InodeAttrs, InodeId, InodeType, PreparedPublish, Version, WatchEvent } from "../../types/index.ts";
import type { StoredBodyManifest } from "../../sdk/body-patch.ts";
import type { ReadPlans } from "../../sdk/read-plans.ts";

// What the inode layer needs from NoKV, by inode: the SDK's inode API for a live mount, or a
// snapshot's read-only view. The bridge never sees which one it has, except through readOnly.

export type PublishSource = Uint8Array | AsyncIterable<Uint8Array>;

export interface OwnerArgs {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** A subscription to one directory's events. */
export interface DirWatch extends AsyncIterable<WatchEvent> {
  close(): Promise<void>;
}

/** What patch writes need (live mounts): a body's blocks, prepares, block puts, patch publishes. */
export interface PatchIo {
  bodyManifest(inode: InodeId, generation?: number): Promise<StoredBodyManifest>;
  /**
   * A prepare for a new body of `inode` under `name` in `parent` (one made at its create may
   * serve); without a link (an open orphan), by inode alone.
   */
  prepare(link: { parent: InodeId; name: string } | null, inode: InodeId): Promise<PreparedPublish>;
  /** `prepareNext`: the reply carries the prepare of the file's next body (the writer keeps writing). */
  publishManifest(parent: InodeId, name: string, prepareId: string, manifest: BodyManifest, options: { ifGeneration: number; mode?: number; prepareNext?: boolean; changes?: MetaChanges }): Promise<{ attrs: InodeAttrs; next: PreparedPublish | null }>;
  putBlock(key: string, bytes: Uint8Array): Promise<void>;
  /** A block put for a publish that has not happened yet. */
  getBlock(key: string, lengthBytes: number): Promise<Uint8Array>;
}

export interface NodeSource {
  /** Live mounts: how writes reach the object store and metad. */
  readonly patches?: PatchIo;
  readonly readOnly: boolean;
  /** The directory shown as the mount root. */
  readonly rootInode: InodeId;
  lookup(parent: InodeId, name: string): Promise<InodeAttrs>;
  getattr(inode: InodeId): Promise<InodeAttrs>;
  readdirPlus(inode: InodeId, page: { after?: string; limit: number }): Promise<DirPage<DirEntryPlus>>;
  readlink(inode: InodeId): Promise<string>;
  /**
   * Bytes of one generation; ESTALE when `generation` is given and the body moved past it.
   * `into`: read into this buffer (at least as long as the read); the result is then a view of it.
   */
  read(inode: InodeId, range: { offsetBytes: number; lengthBytes: number; generation?: number; into?: Uint8Array; plans?: ReadPlans }): Promise<Uint8Array>;

  mkdir(parent: InodeId, name: string, owner: OwnerArgs): Promise<InodeAttrs>;
  /** `forWriting`: the creator will write a body (open with O_CREAT): a live source prepares it alongside. */
  create(parent: InodeId, name: string, owner: OwnerArgs, options?: { forWriting?: boolean }): Promise<InodeAttrs>;
  symlink(parent: InodeId, name: string, target: string, owner: OwnerArgs): Promise<InodeAttrs>;
  /** A fifo, socket, or device node (with its number). */
  mknod(parent: InodeId, name: string, node: { type: InodeType; rdev: number }, owner: OwnerArgs): Promise<InodeAttrs>;
  link(inode: InodeId, newParent: InodeId, newName: string): Promise<InodeAttrs>;
  /** `keepOpen`: this mount holds the file open; if it loses its last name it stays until releaseOrphan. */
  /** Both answer with the directory's attributes after the remove (null when the source cannot say). */
  unlink(parent: InodeId, name: string, options?: { keepOpen?: boolean }): Promise<InodeAttrs | null>;
  rmdir(parent: InodeId, name: string): Promise<InodeAttrs | null>;
  /** `keepOpen`: this mount holds the file being replaced open (kept like an unlinked open file). */
  rename(args: { parent: InodeId; name: string; newParent: InodeId; newName: string; noReplace?: boolean; exchange?: boolean; keepOpen?: boolean }): Promise<void>;
  setattr(inode: InodeId, changes: AttrChanges): Promise<InodeAttrs>;
  /** Replaces (or creates) `name` in `parent` with `source`, atomically. */
  /** `inode`: the file being published (a prepare made at its create may serve). */
  publish(parent: InodeId, name: string, source: PublishSource, options: { mode?: number; ifGeneration?: number; inode?: InodeId }): Promise<InodeAttrs>;

  /** The last handle of a file kept by `keepOpen` closed: metad may free it now. */
  releaseOrphan?(inode: InodeId): Promise<void>;
  /** Extended attributes; sources without them (snapshots) leave these out. */
  getxattr?(inode: InodeId, name: string): Promise<Uint8Array>;
  listxattr?(inode: InodeId): Promise<string[]>;
  /** Attribute names of many inodes at once (those with none left out). */
  xattrNames?(inodes: InodeId[]): Promise<Array<[InodeId, string[]]>>;
  setxattr?(inode: InodeId, name: string, value: Uint8Array, flags: number): Promise<void>;
  removexattr?(inode: InodeId, name: string): Promise<void>;
  /** The mount is ending: release what the session holds (orphans) and stop its timers. */
  close?(): Promise<void>;

  /** Path-based sources (snapshot views): how to name an inode the kernel has looked up. */
  usePaths?(pathOf: (inode: InodeId) => string | null): void;
  /**
   * Live mounts: events in directory `inode` (at `path` now) from this moment on, or, with
   * `afterVersion`, every event committed after that version (replayed first if need be).
   */
  watch?(inode: InodeId, path: string, afterVersion?: Version): Promise<DirWatch>;
}
