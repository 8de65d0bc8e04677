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
  InodeKey,
  ManifestKey,
  ManifestValue,
  MetadataCommand,
  PinValue,
  StagedValue,
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
  groupCommits: number;
}

export type Durability = "normal" | "full";

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

export interface HistoryGcResult {
  scanned: number;
  deleted: number;
  /** More rows may remain past the pass limit. */
  more: boolean;
}

export interface MetadataStore {
  readonly counters: Readonly<WriteCounters>;
  /** The newest committed version. */
  currentVersion(): Version;
  /** A fresh id for an inode, a body generation or a snapshot: never handed out before, reserved ahead in blocks. */
  allocateId(): InodeId;

  /** Applies a command atomically; throws an FsError carrying the failed predicate's errno. */
  commit(command: MetadataCommand): CommitResult;
  /** Runs `fn` in one transaction; each commit inside stays atomic on its own (group commit). */
  group<T>(fn: () => T): T;

  getInode(key: InodeKey, at?: Version): InodeAttrs | null;
  getDentry(key: DentryKey, at?: Version): Dentry | null;
  scanDentries(mount: MountId, parent: InodeId, options: ScanOptions): Dentry[];
  /** Current entries with the child's attributes, in one ordered walk. */
  scanDentriesPlus(mount: MountId, parent: InodeId, options: Omit<ScanOptions, "at">): DirEntryPlus[];
  getManifest(key: ManifestKey, at?: Version): ManifestValue | null;
  /** Every manifest row of one body generation, summary last. */
  scanManifests(mount: MountId, inode: InodeId, generation: number, at?: Version): Array<{ chunkIndex: number; value: ManifestValue }>;

  getPath(mount: MountId, path: string): { inode: InodeId; topologyEpoch: number } | null;
  getSystem(name: string): { int: number | null; text: string | null } | null;
  scanSystem(prefix: string): Array<{ name: string; int: number | null; text: string | null }>;
  listPins(mount?: MountId): StoredPin[];
  getStaged(mount: MountId, prepareId: string): StoredStaged | null;
  scanStagedExpired(nowMs: number, limit: number): StoredStaged[];
  scanGc(beforeVersion: Version, limit: number): GcRecord[];
  /** Events of one scope strictly after the cursor, in commit order. */
  scanWatch(mount: MountId, scope: InodeId, after: WatchCursor, limit: number): WatchEvent[];
  /** The oldest version still in the watch log (cursors before it have lost events). */
  watchFloor(): Version;
  /** The recorded result of an earlier command with this key, or null: the exactly-once check. */
  replay(requestKey: string): CommitResult | null;

  /** Drops history rows no pinned version can read: row [version, replaced) holds no pin. */
  gcHistory(pinnedVersions: ReadonlyMap<MountId, readonly Version[]>, limit: number): HistoryGcResult;
  /** Drops watch events older than `beforeVersion`; returns how many. */
  gcWatch(beforeVersion: Version, limit: number): number;
  /** Drops dedupe records created before `beforeMs`; returns how many. */
  gcDedupe(beforeMs: number, limit: number): number;

  /** Bytes of the store on disk after a WAL checkpoint. */
  footprintBytes(): number;
  close(): void;
}

/** An inode row as fsck sees it: `type` is null when the stored type code is unknown. */
export interface ScannedInode {
  mount: MountId;
  inode: InodeId;
  version: Version;
  type: InodeAttrs["type"] | null;
  sizeBytes: number;
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
  dentries(): Iterable<ScannedDentry>;
  manifests(): Iterable<ScannedManifest>;
  history(): Iterable<ScannedHistory>;
  staged(): Array<{ mount: MountId; prepareId: string; inode: InodeId; generation: number; keyPrefix: string; expiresAtMs: number }>;
  gcKeys(): Iterable<string>;
  /** The highest version each family stores (0 when empty). */
  maxVersions(): Record<string, number>;
  /** The highest inode number and body generation in use (inodes and staged prepares). */
  maxIds(): { inode: InodeId; generation: number };
}
