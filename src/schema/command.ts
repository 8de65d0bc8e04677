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
};

export type PinValue = { rootInode: InodeId; readVersion: Version };

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
  | { family: "path"; op: "put"; key: { mount: MountId; path: string }; value: { inode: InodeId; topologyEpoch: number } }
  | { family: "path"; op: "delete"; key: { mount: MountId; path: string } }
  | { family: "pin"; op: "put"; key: { mount: MountId; snapshotId: number }; value: PinValue }
  | { family: "pin"; op: "delete"; key: { mount: MountId; snapshotId: number } }
  | { family: "gc"; op: "put"; key: { mount: MountId; objectKey: string } }
  | { family: "gc"; op: "delete"; key: { mount: MountId; enqueueVersion: Version; objectKey: string } }
  | { family: "staged"; op: "put"; key: { mount: MountId; prepareId: string }; value: StagedValue }
  | { family: "staged"; op: "delete"; key: { mount: MountId; prepareId: string } }
  | { family: "system"; op: "put"; key: { name: string }; value: { int?: number; text?: string } }
  | { family: "system"; op: "delete"; key: { name: string } };

/** A watch event before its commit: the store stamps version and ordinal. */
export type WatchEventDraft = Omit<WatchEvent, "version" | "ordinal"> & { mount: MountId };

export type CommandKind =
  | "create_mount"
  | "create_file"
  | "create_dir"
  | "create_symlink"
  | "create_files"
  | "link"
  | "update_attrs"
  | "rename"
  | "remove_file"
  | "remove_dir"
  | "prepare_publish"
  | "publish_artifact"
  | "snapshot_subtree"
  | "retire_snapshot"
  | "cleanup_objects"
  | "reserve_allocator"
  | "token_create"
  | "token_revoke";

export interface MetadataCommand {
  /** Exactly-once key: a repeated key returns the first result and applies nothing. */
  requestKey?: string;
  kind: CommandKind;
  /** The version the builder read at; informational unless a versionEquals predicate uses it. */
  readVersion: Version;
  predicates: Predicate[];
  mutations: Mutation[];
  watchEvents: WatchEventDraft[];
  /** Whether replaced values are copied to history (false when no snapshot can read them). */
  keepHistory: boolean;
  /** Builds what the caller gets back once the commit version is known; recorded for dedupe. */
  result?: (commitVersion: Version) => unknown;
}

export interface CommitResult {
  commitVersion: Version;
  /** True when this was a dedupe replay: nothing was applied by this call. */
  replayed: boolean;
  result: unknown;
}
