import type {
  BodySummary,
  ChunkManifest,
  ErrnoCode,
  InodeAttrs,
  InodeId,
  InodeType,
  MountId,
  Version,
  WatchEvent,
} from "../types/index.ts";

// MetadataCommand: the one write path. A command's predicates all hold and every mutation,
// history copy, watch event and dedupe record commits in one transaction, or nothing does.

export type InodeKey = { mount: MountId; inode: InodeId };
export type DentryKey = { mount: MountId; parent: InodeId; name: string };
export type XattrKey = { mount: MountId; inode: InodeId; name: string };
export type ManifestKey = { mount: MountId; inode: InodeId; generation: number; chunkIndex: number };

/** What a predicate may look at; prefix predicates name a directory (its dentry prefix). */
export type PredicateTarget =
  | { family: "inode"; key: InodeKey }
  | { family: "dentry"; key: DentryKey }
  | { family: "dir"; key: InodeKey };

export type Predicate =
  | { kind: "exists"; target: PredicateTarget; errno: ErrnoCode; detail?: string }
  | { kind: "notExists"; target: PredicateTarget; errno: ErrnoCode; detail?: string }
  | { kind: "prefixEmpty"; target: { family: "dir"; key: InodeKey }; errno: ErrnoCode; detail?: string }
  | { kind: "versionEquals"; target: PredicateTarget; version: Version; errno: ErrnoCode; detail?: string };

/** Attributes as a mutation writes them: the store stamps `version` with the commit version. */
export type InodeValue = Omit<InodeAttrs, "version">;

export type DentryValue = { inode: InodeId; type: InodeType };

export type ManifestValue =
  | { kind: "summary"; summary: BodySummary }
  | { kind: "chunk"; chunk: ChunkManifest };

export type StagedValue = {
  inode: InodeId;
  generation: number;
  keyPrefix: string;
  expiresAtMs: number;
  /** The prepare allocated this inode number (a new name); false when it reuses an existing file's. */
  freshInode: boolean;
};

export type CloneValue = { inode: InodeValue; source: InodeId; at?: Version };

export type PinValue = { rootInode: InodeId; readVersion: Version };

/** An unlinked file a mount session still holds open, kept until `expiresAtMs` unless renewed. */
export type OrphanValue = { session: string; expiresAtMs: number };

/**
 * `insert` requires the key to be absent (the command's predicates must have proved it) and skips
 * the history copy; `put` replaces whatever is there and keeps the old value in history.
 */
export type Mutation =
  | { family: "inode"; op: "insert" | "put"; key: InodeKey; value: InodeValue }
  | { family: "inode"; op: "delete"; key: InodeKey }
  | { family: "dentry"; op: "insert" | "put"; key: DentryKey; value: DentryValue }
  | { family: "dentry"; op: "delete"; key: DentryKey }
  | { family: "manifest"; op: "insert" | "put"; key: ManifestKey; value: ManifestValue }
  | { family: "manifest"; op: "delete"; key: ManifestKey }
  | { family: "pin"; op: "put"; key: { mount: MountId; snapshotId: number }; value: PinValue }
  | { family: "pin"; op: "delete"; key: { mount: MountId; snapshotId: number } }
  | { family: "gc"; op: "put"; key: { mount: MountId; objectKey: string } }
  | { family: "gc"; op: "delete"; key: { mount: MountId; enqueueVersion: Version; objectKey: string } }
  | { family: "staged"; op: "put"; key: { mount: MountId; prepareId: string }; value: StagedValue }
  | { family: "staged"; op: "delete"; key: { mount: MountId; prepareId: string } }
  | { family: "system"; op: "put"; key: { name: string }; value: { int?: number; text?: string } }
  | { family: "system"; op: "delete"; key: { name: string } }
  | { family: "orphan"; op: "put"; key: InodeKey; value: OrphanValue }
  | { family: "orphan"; op: "delete"; key: InodeKey }
  /** Moves the lease of every orphan a session holds in a mount. */
  | { family: "orphan"; op: "renew"; key: { mount: MountId; session: string }; value: { expiresAtMs: number } }
  | { family: "xattr"; op: "put"; key: XattrKey; value: Uint8Array }
  | { family: "xattr"; op: "delete"; key: XattrKey }
  /** Every extended attribute of an inode: it is going away. */
  | { family: "xattr"; op: "deleteAll"; key: InodeKey }
  /**
   * A body's blocks gain or lose a referencing generation. The count reaching 0 queues the key
   * for GC at this version; rising from 0 (a clone of a snapshot) takes it off the queue.
   */
  | { family: "blockref"; op: "add"; key: { mount: MountId; objectKey: string }; value: { delta: number } }
  /**
   * One entry of a clone: the inode (a fresh number) and its dentry, and for a file the body of
   * `source` (its generation `value.inode.generation`, as of `at`, or current when absent) copied
   * row for row under the new inode, every block it names counted once more.
   */
  | { family: "clone"; op: "insert"; key: DentryKey; value: CloneValue }
  /** A body restored: the rows of `source`'s generation as of `at` copied under `key`, blocks counted. */
  | { family: "body"; op: "copy"; key: { mount: MountId; inode: InodeId; generation: number }; value: { source: InodeId; at?: Version } }
  /** GC: one history row that no pinned version can read any more. */
  | { family: "history"; op: "delete"; key: HistoryKey }
  /** GC: every watch event of the mount older than `beforeVersion`; the floor moves to it. */
  | { family: "watch"; op: "trim"; key: { mount: MountId; beforeVersion: Version } }
  /** GC: one exactly-once record whose retention ran out. */
  | { family: "dedupe"; op: "delete"; key: { requestKey: string } }
  /** Every dedupe record of the shard's log entries below `beforeVersion` is gone (GC walks the log from here). */
  | { family: "dedupe"; op: "floor"; key: { mount: MountId; beforeVersion: Version } };

/** A history row's full key, as GC names the rows it removes. */
export type HistoryKey = { family: number; mount: MountId; k1: number; k2: number; k3: number; name: string; version: Version };

/** A watch event before its commit: the store stamps version and ordinal. */
export type WatchEventDraft = Omit<WatchEvent, "version" | "ordinal"> & { mount: MountId };

export type CommandKind =
  | "create_mount"
  | "init_shard"
  | "create_file"
  | "create_dir"
  | "create_symlink"
  /** A special file: fifo, socket, character or block device. */
  | "create_node"
  /** Extended attributes: set or remove one. */
  | "set_xattr"
  | "remove_xattr"
  /** A mount session's lease on the orphans it holds moves on. */
  | "renew_orphans"
  /** Orphans go: their last holder closed them, their session closed, or its lease ran out. */
  | "collect_orphans"
  | "create_files"
  | "link"
  | "update_attrs"
  | "rename"
  | "remove_file"
  /** Many names (no directory among them) gone from one directory at once: remove_files, a batch's unlinks. */
  | "remove_files"
  | "remove_dir"
  | "prepare_publish"
  | "publish_artifact"
  | "snapshot_subtree"
  | "retire_snapshot"
  | "clone_subtree"
  | "rollback_subtree"
  | "cleanup_objects"
  | "trim_history"
  | "trim_watch"
  | "trim_dedupe"
  | "set_store_id"
  | "token_create"
  | "token_revoke";

/** The catalog shard: mount names and other process-wide records (system rows). */
export const CATALOG_SHARD = 0;

/**
 * One command: plain data (msgpack), everything apply needs inside it. Building a command reads
 * state, checks, allocates and decides; applying it is a pure function of the command and the
 * database, so a log of commands replays to the same rows on any replica.
 */
export interface MetadataCommand {
  /** The shard whose log this command is in: a mount id, or CATALOG_SHARD. */
  shard: MountId;
  /** Its position in the shard's log, which is also its commit version: the shard's clock + 1. */
  version: Version;
  kind: CommandKind;
  /** Exactly-once key: recorded with the result so a retry returns it instead of applying again. */
  requestKey?: string;
  /** The builder's wall clock: dedupe ages and staged expiries are measured against it, never apply's. */
  timestampMs: number;
  /** The shard's id allocator after this command: ids up to here were handed out by it. */
  nextId: number;
  /** Re-checked by apply before any write; a failure there means the builder raced (never on replay). */
  predicates: Predicate[];
  mutations: Mutation[];
  watchEvents: WatchEventDraft[];
  /** Whether replaced values are copied to history (false when no snapshot can read them). */
  keepHistory: boolean;
  /** What the caller gets back, encoded once: stored for dedupe and sent on the wire as is. */
  result?: Uint8Array;
  /** A command answering many requests (group commit's merged creates): each key's own result. */
  dedupe?: Array<{ requestKey: string; result: Uint8Array }>;
}

export interface CommitResult {
  commitVersion: Version;
  /** True when this was a dedupe replay: nothing was applied by this call. */
  replayed: boolean;
  /** The encoded result the command carried (null when it had none). */
  result: Uint8Array | null;
}
