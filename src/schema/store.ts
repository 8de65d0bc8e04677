import type {
  BodySummary,
  ChunkManifest,
  Dentry,
  DirEntryPlus,
  InodeAttrs,
  InodeId,
  MountId,
  Version,
  WatchCursor,
  WatchEvent,
} from "../types/index.ts";
import type {
  CommitResult,
  DentryKey,
  HistoryKey,
  InodeKey,
  ManifestKey,
  ManifestValue,
  MetadataCommand,
  PinValue,
  StagedValue,
  OrphanValue,
} from "./command.ts";

// The metadata store contract: commit a command, versioned point reads, versioned ordered scans.
// Every filesystem rule lives above it in src/service; an engine only keeps keys, versions and
// atomicity. runStoreSuite (store-conformance.ts) is the definition of "an engine".

/** Where writes go, so a benchmark can attribute cost (DESIGN.md section 4, /stats). */
export interface WriteCounters {
  commits: number;
  commandsReplayed: number;
  commandsRejected: number;
  predicatesChecked: number;
  currentPuts: number;
  currentDeletes: number;
  historyWrites: number;
  watchWrites: number;
  dedupeWrites: number;
  logWrites: number;
  groupCommits: number;
}

export type Durability = "normal" | "full";

/** One page of a scope's events. */
export interface WatchScan {
  events: WatchEvent[];
  /** Every event up to here was read: resume after it (past the last event when commands had none). */
  through: WatchCursor;
  /** The page stopped at a limit: more may follow at once. */
  more: boolean;
}

export interface StoredPin extends PinValue {
  mount: MountId;
  snapshotId: number;
  createdVersion: Version;
}

export interface StoredStaged extends StagedValue {
  mount: MountId;
  prepareId: string;
  createdVersion: Version;
}

export interface StoredOrphan extends OrphanValue {
  mount: MountId;
  inode: InodeId;
  createdVersion: Version;
}

export interface GcRecord {
  mount: MountId;
  enqueueVersion: Version;
  objectKey: string;
}

export interface ScanOptions {
  /** Resume strictly after this name. */
  after?: string;
  limit: number;
  /** Read as of this version; current state when absent. */
  at?: Version;
}

/** A shard's clocks: where its log stands, its id allocator, and how far its logs were trimmed. */
export interface ShardState {
  shard: MountId;
  /** The newest applied version (= log position). */
  version: Version;
  /** The next id the shard's allocator hands out (inodes, generations, snapshot ids). */
  nextId: number;
  /** The oldest version still in the watch log: cursors before it have lost events. */
  watchFloor: Version;
  /** The oldest version still in the command log. */
  logFloor: Version;
  /**
   * Dedupe records of log entries below this version are gone: GC finds expired records by
   * walking the log from here (so the log is never trimmed past it), not through an age index.
   */
  dedupeFloor: Version;
}

/** One entry of the command log as stored. */
export interface LogEntry {
  shard: MountId;
  version: Version;
  kind: string;
  /** The command, msgpack-encoded (decodeCommand reads it). */
  bytes: Uint8Array;
}

export interface MetadataStore {
  readonly counters: Readonly<WriteCounters>;
  /** A shard's clocks; a shard no command has reached reads as empty. */
  shardState(shard: MountId): ShardState;
  /** Every shard with applied commands, in id order. */
  shards(): ShardState[];

  /**
   * Applies a command atomically: checks its version is the shard's next, its predicates, then
   * writes every mutation, history copy, watch event, dedupe record and its log entry. Throws an
   * FsError carrying a failed predicate's errno; applies nothing then. The caller has looked the
   * request key up with replay() first (once per request); a key recorded twice is an error.
   */
  commit(command: MetadataCommand): CommitResult;
  /** Runs `fn` in one transaction; each commit inside stays atomic on its own (group commit). */
  group<T>(fn: () => T): T;
  /** Applies a command read from a log (replay, followers) with its log bytes: commit without the dedupe check. */
  applyLogged(command: MetadataCommand, bytes: Uint8Array): CommitResult;

  getInode(key: InodeKey, at?: Version): InodeAttrs | null;
  getDentry(key: DentryKey, at?: Version): Dentry | null;
  scanDentries(mount: MountId, parent: InodeId, options: ScanOptions): Dentry[];
  /** Current entries with the child's attributes, in one ordered walk. */
  scanDentriesPlus(mount: MountId, parent: InodeId, options: Omit<ScanOptions, "at">): DirEntryPlus[];
  getManifest(key: ManifestKey, at?: Version): ManifestValue | null;
  /** Every manifest row of one body generation, summary last. */
  scanManifests(mount: MountId, inode: InodeId, generation: number, at?: Version): Array<{ chunkIndex: number; value: ManifestValue }>;
  /** Chunk rows of a body generation with fromChunk <= chunkIndex <= toChunk, in order (summary excluded). */
  scanChunks(key: { mount: MountId; inode: InodeId; generation: number }, fromChunk: number, toChunk: number, limit: number, at?: Version): Array<{ chunkIndex: number; value: ManifestValue }>;

  getSystem(name: string): { int: number | null; text: string | null } | null;
  scanSystem(prefix: string): Array<{ name: string; int: number | null; text: string | null }>;
  listPins(mount?: MountId): StoredPin[];
  getStaged(mount: MountId, prepareId: string): StoredStaged | null;
  /** Expired prepares, oldest expiry first (indexed). */
  scanStagedExpired(nowMs: number, limit: number): StoredStaged[];
  getOrphan(mount: MountId, inode: InodeId): StoredOrphan | null;
  /** Orphans a session holds in a mount, by inode (indexed). */
  scanOrphansOfSession(mount: MountId, session: string, limit: number): StoredOrphan[];
  /** Orphans whose lease ran out before `nowMs`, oldest expiry first (indexed). */
  scanOrphansExpired(nowMs: number, limit: number): StoredOrphan[];
  /** One extended attribute's value, or null. */
  getXattr(mount: MountId, inode: InodeId, name: string): Uint8Array | null;
  /** An inode's extended attributes: names in order with their value sizes. */
  listXattrs(mount: MountId, inode: InodeId): Array<{ name: string; sizeBytes: number }>;
  /** How many current body generations of a mount name this block key (0: none). */
  blockRefCount(mount: MountId, objectKey: string): number;
  /** GC records of one mount enqueued at or before `throughVersion`, oldest first (indexed). */
  scanGc(mount: MountId, throughVersion: Version, limit: number): GcRecord[];
  /** Mounts with GC records, in id order after `after` (a skip scan over the queue's key). */
  gcMounts(after: MountId, limit: number): MountId[];
  /**
   * Events of one scope strictly after the cursor, in commit order, read from the command log:
   * at most `limit` events from at most `maxCommands` commands (LIMITS.watchPageMaxCommands).
   */
  scanWatch(mount: MountId, scope: InodeId, after: WatchCursor, limit: number, maxCommands?: number): WatchScan;
  /** Deletable history rows of one band, by index range: see HistoryBand. */
  scanHistoryBand(band: HistoryBand, limit: number): HistoryKey[];
  /** Mounts with history rows, in id order after `after` (a skip scan). */
  historyMounts(after: MountId, limit: number): MountId[];
  /** Dedupe records of a shard created before `beforeMs`, oldest first (indexed). */
  /** The recorded result of an earlier command with this key, or null: the exactly-once check. */
  replay(requestKey: string): CommitResult | null;

  /** Log entries of a shard from `fromVersion` on, in order. */
  readLog(shard: MountId, fromVersion: Version, limit: number): LogEntry[];
  /** Drops a shard's log entries below `beforeVersion` (behind a checkpoint); returns how many. */
  trimLog(shard: MountId, beforeVersion: Version, limit: number): number;

  /** Bytes of the store on disk after a WAL checkpoint. */
  footprintBytes(): number;
  close(): void;
}

/**
 * A range of one mount's history that GC walks by index. A row is needed only by a pin in
 * [version, replaced): rows replaced at or before the oldest pin, or written after the newest,
 * are never needed; rows between two pins are needed only if written at or before the lower.
 */
export interface HistoryBand {
  mount: MountId;
  /** Rows with replacedVersion in (replacedAfter, replacedThrough] ... */
  replacedAfter: Version;
  replacedThrough: Version;
  /** ... and version strictly above this (-1: any). */
  versionAbove: Version;
}

/** An inode row as fsck sees it: `type` is null when the stored type code is unknown. */
export interface ScannedInode {
  mount: MountId;
  inode: InodeId;
  version: Version;
  type: InodeAttrs["type"] | null;
  sizeBytes: number;
  holeBytes: number;
  generation: number;
  nlink: number;
  parent: InodeId;
}

export interface ScannedDentry {
  mount: MountId;
  parent: InodeId;
  name: string;
  version: Version;
  child: InodeId;
  type: InodeAttrs["type"] | null;
}

/** A manifest row: exactly one of summary, chunk or error (a value that does not decode) is set. */
export interface ScannedManifest {
  mount: MountId;
  inode: InodeId;
  generation: number;
  chunkIndex: number;
  version: Version;
  summary: BodySummary | null;
  chunk: ChunkManifest | null;
  error: string | null;
}

export interface ScannedHistory {
  family: number;
  mount: MountId;
  k1: number;
  k2: number;
  k3: number;
  name: string;
  version: Version;
  replacedVersion: Version;
}

/**
 * Whole-family, unversioned, read-only walks for the consistency checker (fsck). Not part of
 * MetadataStore: nothing on a request path may walk a whole family.
 */
export interface FullScan {
  inodes(): Iterable<ScannedInode>;
  /** Unlinked files a mount session still holds open: nameless on purpose. */
  orphans(): Array<{ mount: MountId; inode: InodeId }>;
  dentries(): Iterable<ScannedDentry>;
  manifests(): Iterable<ScannedManifest>;
  history(): Iterable<ScannedHistory>;
  staged(): Array<{ mount: MountId; prepareId: string; inode: InodeId; generation: number; keyPrefix: string; expiresAtMs: number }>;
  gcKeys(): Iterable<string>;
  /** Every GC queue record, with its mount. */
  gcRecords(): Iterable<{ mount: MountId; objectKey: string }>;
  /** Every block reference count as stored. */
  blockRefs(): Iterable<{ mount: MountId; objectKey: string; count: number }>;
  /** Per mount: the highest version its rows store, and the highest id (inode, generation, snapshot) in use. */
  maxPerMount(): Map<MountId, { version: Version; id: number }>;
}
