import { Database } from "bun:sqlite";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import {
  FIRST_ALLOCATED_INODE,
  FsError,
  LIMITS,
  type Dentry,
  type DirEntryPlus,
  type InodeAttrs,
  type InodeId,
  type MountId,
  type Version,
  type WatchCursor,
} from "../../types/index.ts";
import type { CommitResult, DentryKey, HistoryKey, InodeKey, ManifestKey, ManifestValue, MetadataCommand } from "../command.ts";
import { encodeCommand } from "../command-codec.ts";
import { WalCheckpointer } from "./wal-checkpointer.ts";
import { SUMMARY_CHUNK_INDEX } from "../ddl.ts";
import { expiredRange, expiryRangeEnd } from "../staged-id.ts";
import { decodeManifest, dentryFromHistory, dentryFromRow, inodeFromHistory, inodeFromRow } from "../rows.ts";
import type {
  Durability,
  GcRecord,
  HistoryBand,
  LogEntry,
  MetadataStore,
  ScanOptions,
  ShardState,
  StoredPin,
  StoredStaged,
  StoredOrphan,
  WatchScan,
  WriteCounters,
} from "../store.ts";
import { applyMutations } from "./apply.ts";
import { CommandInserts } from "./bulk-insert.ts";
import { checkPredicates } from "./predicates.ts";
import { needsSavepoint } from "./savepoints.ts";
import { storedDedupeKey } from "./dedupe-key.ts";
import { migrateSchema } from "./migrate.ts";
import { scanWatchEvents } from "./watch-scan.ts";
import { floorsOf, readShardStates } from "./shard-rows.ts";
import { orphanFromRow, skipScan, stagedFromRow } from "./row-readers.ts";
import { SqliteFullScan } from "./full-scan.ts";
import { prepareStatements, type Statements } from "./statements.ts";

export interface SqliteStoreOptions {
  /** Database file; ":memory:" for a throwaway store. */
  path: string;
  durability?: Durability;
  /**
   * Checkpoint the WAL from a worker thread instead of inside commits (metad: its event loop should
   * not copy pages or wait on fsync). Off by default: tools and tests open stores briefly.
   */
  backgroundCheckpoints?: boolean;
}


function newCounters(): WriteCounters {
  return {
    commits: 0, commandsReplayed: 0, commandsRejected: 0, predicatesChecked: 0, currentPuts: 0,
    currentDeletes: 0, historyWrites: 0, watchWrites: 0, dedupeWrites: 0, logWrites: 0, groupCommits: 0,
  };
}

export class SqliteStore implements MetadataStore {
  readonly counters: WriteCounters = newCounters();
  private readonly db: Database;
  private readonly s: Statements;
  private readonly bulk: CommandInserts;
  private readonly tx: Record<"begin" | "commit" | "rollback" | "savepoint" | "release" | "rollbackTo", { run(): unknown }>;
  private depth = 0;
  /** Set when a failure inside a group took the group's transaction with it. */
  private groupFailure: Error | null = null;
  /** Whether the open group's transaction holds writes: until then a failed command rolls it all back. */
  private groupWritten = false;
  /** Each shard's clocks as applied; a projection of the `shard` rows, rebuilt after a rollback. */
  private readonly shardStates = new Map<number, ShardState>();
  /** Shards whose state changed in the open transaction. */
  private readonly dirtyShards = new Set<number>();
  /** The floors each shard's row holds: a row is written when its shard appears or a floor moves. */
  private readonly shardRowFloors = new Map<number, string>();
  private closed = false;
  private checkpointer: WalCheckpointer | null = null;
  private commitsSinceWalCheck = 0;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { create: true, strict: false });
    this.configure(options.durability ?? "normal");
    migrateSchema(this.db);
    if (options.backgroundCheckpoints && options.path !== ":memory:") {
      this.db.run("PRAGMA wal_autocheckpoint = 0");
      this.db.run(`PRAGMA journal_size_limit = ${LIMITS.walRestartFrames * 4096}`);
      this.checkpointer = new WalCheckpointer(options.path);
    }
    this.s = prepareStatements(this.db);
    this.bulk = new CommandInserts(this.db);
    this.tx = {
      begin: this.db.prepare("BEGIN IMMEDIATE"),
      commit: this.db.prepare("COMMIT"),
      rollback: this.db.prepare("ROLLBACK"),
      savepoint: this.db.prepare("SAVEPOINT command"),
      release: this.db.prepare("RELEASE command"),
      rollbackTo: this.db.prepare("ROLLBACK TO command"),
    };
    this.loadShards();
  }

  private configure(durability: Durability): void {
    this.db.run("PRAGMA journal_mode = WAL");
    // NORMAL in WAL mode: a process crash loses nothing acknowledged; power loss may lose the tail.
    this.db.run(`PRAGMA synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
    this.db.run("PRAGMA busy_timeout = 5000");
    this.db.run("PRAGMA cache_size = -65536");
    this.db.run("PRAGMA temp_store = MEMORY");
    this.db.run("PRAGMA foreign_keys = OFF");
  }

  private loadShards(): void {
    this.shardStates.clear();
    this.dirtyShards.clear();
    this.shardRowFloors.clear();
    for (const { state, rowFloors } of readShardStates(this.s)) {
      this.shardRowFloors.set(state.shard, rowFloors);
      this.shardStates.set(state.shard, state);
    }
  }

  shardState(shard: number): ShardState {
    return this.shardStates.get(shard) ?? { shard, version: 0, nextId: FIRST_ALLOCATED_INODE, watchFloor: 0, logFloor: 0, dedupeFloor: 0 };
  }

  shards(): ShardState[] {
    return [...this.shardStates.values()].sort((a, b) => a.shard - b.shard).map((s) => ({ ...s }));
  }

  replay(requestKey: string): CommitResult | null {
    const row = this.s.dedupeGet.values(storedDedupeKey(requestKey))[0];
    if (!row) return null;
    this.counters.commandsReplayed++;
    return { commitVersion: row[0] as number, replayed: true, result: (row[1] as Uint8Array | null) ?? null };
  }

  group<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.tx.begin.run();
    this.depth++;
    this.groupFailure = null;
    this.groupWritten = false;
    try {
      const out = fn();
      // A commit inside lost the whole transaction (SQLite rolled it back, e.g. on a full disk):
      // the commands before it are gone too, so none of them may be acknowledged.
      if (this.groupFailure) throw this.groupFailure;
      this.flushShards();
      this.tx.commit.run();
      this.counters.groupCommits++;
      this.finishCheckpointIfDue();
      return out;
    } catch (err) {
      this.rollbackIfOpen();
      this.loadShards();
      throw err;
    } finally {
      this.depth--;
      this.groupFailure = null;
    }
  }

  /** See WalCheckpointer: the writer completes a checkpoint the worker nearly finished, so the WAL restarts. */
  private finishCheckpointIfDue(): void {
    const checkpointer = this.checkpointer;
    if (!checkpointer) return;
    let due = checkpointer.writerShouldFinish();
    if (!due && ++this.commitsSinceWalCheck >= LIMITS.walSizeCheckCommits) {
      this.commitsSinceWalCheck = 0;
      // Writes outran the worker: bound the WAL here, whatever it costs this commit.
      due = walSizeBytes(this.db.filename) > LIMITS.walMaxBytes;
    }
    if (!due) return;
    this.db.run("PRAGMA wal_checkpoint(PASSIVE)");
    checkpointer.finished();
  }

  /** SQLite rolls some failures back by itself (SQLITE_FULL, I/O errors); a second ROLLBACK would mask them. */
  private rollbackIfOpen(): void {
    if (this.db.inTransaction) this.tx.rollback.run();
  }

  commit(command: MetadataCommand): CommitResult {
    return this.apply(command, null);
  }

  applyLogged(command: MetadataCommand, bytes: Uint8Array): CommitResult {
    return this.apply(command, bytes);
  }

  /** Checks, then writes one command in its own transaction or savepoint. `encoded`: its log bytes when known. */
  private apply(command: MetadataCommand, encoded: Uint8Array | null): CommitResult {
    if (this.closed) throw new FsError("EIO", "metadata store is closed");
    if (this.groupFailure) throw this.groupFailure;
    const state = this.shardState(command.shard);
    if (command.version !== state.version + 1) {
      throw new Error(`command ${command.kind} has version ${command.version}, shard ${command.shard} is at ${state.version}`);
    }
    if (command.version > LIMITS.shardVersionMax || command.nextId > Number.MAX_SAFE_INTEGER) {
      throw new FsError("EOVERFLOW", `shard ${command.shard} has run out of versions or ids`);
    }
    if (!Number.isSafeInteger(command.shard) || command.shard < 0 || command.shard > LIMITS.mountIdMax) {
      throw new FsError("EINVAL", `shard ${command.shard} is outside 0..${LIMITS.mountIdMax}`);
    }
    if (command.mutations.length > LIMITS.commandMaxMutations) {
      throw new FsError("EINVAL", `command has ${command.mutations.length} mutations, limit ${LIMITS.commandMaxMutations}`);
    }
    // Predicates read before anything is written, so a failed one needs no rollback.
    checkPredicates(this.s, this.counters, command.predicates);
    const bytes = encoded ?? encodeCommand(command);
    const outer = this.depth === 0;
    // The first writer of a group needs no savepoint: rolling back the transaction undoes only it.
    const guarded = !outer && this.groupWritten && needsSavepoint(command, state);
    if (outer) this.tx.begin.run();
    else if (guarded) this.tx.savepoint.run();
    this.depth++;
    const next: ShardState = { ...state, version: command.version, nextId: Math.max(state.nextId, command.nextId) };
    try {
      const version = command.version;
      applyMutations(this.s, this.bulk, command.mutations, version, command.keepHistory, this.counters, next);
      // Watch events are not written apart: they are read back from this command's log entry.
      this.counters.watchWrites += command.watchEvents.length;
      // A merged command answers many requests: their records go in a few statements.
      if (command.requestKey !== undefined) this.bulk.dedupe.add([storedDedupeKey(command.requestKey), command.shard, version, command.timestampMs, command.result ?? null]);
      for (const d of command.dedupe ?? []) this.bulk.dedupe.add([storedDedupeKey(d.requestKey), command.shard, version, command.timestampMs, d.result]);
      this.bulk.dedupe.flush();
      this.counters.dedupeWrites += (command.requestKey !== undefined ? 1 : 0) + (command.dedupe?.length ?? 0);
      this.s.logInsert.run(command.shard, version, command.kind, bytes);
      this.counters.logWrites++;
      this.shardStates.set(command.shard, next);
      this.dirtyShards.add(command.shard);
      if (outer) {
        this.flushShards();
        this.tx.commit.run();
        this.finishCheckpointIfDue();
      } else {
        if (guarded) this.tx.release.run();
        this.groupWritten = true;
      }
      this.counters.commits++;
      return { commitVersion: version, replayed: false, result: command.result ?? null };
    } catch (err) {
      this.bulk.discard();
      this.shardStates.set(command.shard, state);
      if (outer) {
        this.rollbackIfOpen();
        this.loadShards();
      } else if (guarded && this.db.inTransaction) {
        this.tx.rollbackTo.run();
        this.tx.release.run();
      } else if (!this.groupWritten && this.db.inTransaction) {
        this.restartGroupTransaction();
      } else {
        // Writes of earlier commands share the transaction with this one's half: all of it goes.
        this.groupFailure = err instanceof Error ? err : new Error(String(err));
      }
      throw err;
    } finally {
      this.depth--;
    }
  }

  /** A group's first writer failed: its writes are all the transaction holds, so start it afresh. */
  private restartGroupTransaction(): void {
    try {
      this.tx.rollback.run();
      this.tx.begin.run();
    } catch (err) {
      this.groupFailure = err instanceof Error ? err : new Error(String(err));
    }
  }

  /** Rows of shards whose floors moved or that are new (see shard-rows.ts: not one per commit). */
  private flushShards(): void {
    for (const shard of this.dirtyShards) {
      const st = this.shardStates.get(shard)!;
      if (this.shardRowFloors.get(shard) !== floorsOf(st)) this.writeShardRow(st);
    }
    this.dirtyShards.clear();
  }

  private writeShardRow(st: ShardState): void {
    this.s.shardUpsert.run(st.shard, st.version, st.nextId, st.watchFloor, st.logFloor, st.dedupeFloor);
    this.shardRowFloors.set(st.shard, floorsOf(st));
  }

  getInode(key: InodeKey, at?: Version): InodeAttrs | null {
    const row = this.s.inodeGet.values(key.mount, key.inode)[0];
    const current = row ? inodeFromRow(row) : null;
    if (at === undefined || (current && current.version <= at)) return current;
    const h = this.s.inodeHistory.values(key.mount, key.inode, at)[0];
    if (!h || (h[1] as number) <= at) return null;
    return inodeFromHistory(key.inode, h[0] as number, h[2] as string);
  }

  getDentry(key: DentryKey, at?: Version): Dentry | null {
    const row = this.s.dentryGet.values(key.mount, key.parent, key.name)[0];
    const current = row ? dentryFromRow(row) : null;
    if (at === undefined || (current && current.version <= at)) return current;
    const h = this.s.dentryHistory.values(key.mount, key.parent, key.name, at)[0];
    if (!h || (h[1] as number) <= at) return null;
    return dentryFromHistory(key.name, h[0] as number, h[2] as string);
  }

  scanDentries(mount: MountId, parent: InodeId, options: ScanOptions): Dentry[] {
    const after = options.after ?? "";
    const { at, limit } = options;
    if (at === undefined) return this.s.dentryScan.values(mount, parent, after, limit).map(dentryFromRow);
    // As of `at`: current rows written at or before it, plus history rows valid at it (entries
    // since deleted or replaced). Both walks are ordered by name and a name is valid in at most one.
    const out: Dentry[] = [];
    const current = this.s.dentryScan.iterate(mount, parent, after, Number.MAX_SAFE_INTEGER) as Iterator<Record<string, unknown>>;
    const past = this.s.dentryHistoryScan.values(mount, parent, after, at) as unknown[][];
    let pastIndex = 0;
    let c = current.next();
    while (out.length < limit) {
      const cur = c.done ? null : dentryFromRow(Object.values(c.value));
      if (cur && cur.version > at) {
        c = current.next();
        continue;
      }
      const h = past[pastIndex];
      if (!cur && !h) break;
      if (h && (!cur || (h[0] as string) < cur.name)) {
        out.push(dentryFromHistory(h[0] as string, h[1] as number, h[3] as string));
        pastIndex++;
      } else if (cur) {
        out.push(cur);
        c = current.next();
      }
    }
    current.return?.();
    return out;
  }

  scanDentriesPlus(mount: MountId, parent: InodeId, options: Omit<ScanOptions, "at">): DirEntryPlus[] {
    const rows = this.s.dentryScanPlus.values(mount, parent, options.after ?? "", options.limit);
    return rows.map((row) => ({ name: row[0] as string, attrs: inodeFromRow(row, 1) }));
  }

  getManifest(key: ManifestKey, at?: Version): ManifestValue | null {
    const { mount, inode, generation, chunkIndex } = key;
    const row = this.s.manifestGet.values(mount, inode, generation, chunkIndex)[0];
    if (row && (at === undefined || (row[0] as number) <= at)) return decodeManifest(row[1] as string);
    if (at === undefined) return null;
    const h = this.s.manifestHistory.values(mount, inode, generation, chunkIndex, at)[0];
    if (!h || (h[1] as number) <= at) return null;
    return decodeManifest(h[2] as string);
  }

  scanManifests(mount: MountId, inode: InodeId, generation: number, at?: Version): Array<{ chunkIndex: number; value: ManifestValue }> {
    const byChunk = new Map<number, string>();
    for (const row of this.s.manifestScan.values(mount, inode, generation)) {
      if (at === undefined || (row[1] as number) <= at) byChunk.set(row[0] as number, row[2] as string);
    }
    if (at !== undefined) {
      for (const row of this.s.manifestHistoryScan.values(mount, inode, generation, at)) {
        byChunk.set(row[0] as number, row[3] as string);
      }
    }
    return [...byChunk.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([chunkIndex, text]) => ({ chunkIndex, value: decodeManifest(text) }));
  }

  scanChunks(
    key: { mount: MountId; inode: InodeId; generation: number },
    fromChunk: number,
    toChunk: number,
    limit: number,
    at?: Version,
  ): Array<{ chunkIndex: number; value: ManifestValue }> {
    const { mount, inode, generation } = key;
    const last = Math.min(toChunk, SUMMARY_CHUNK_INDEX - 1);
    const byChunk = new Map<number, string>();
    for (const row of this.s.chunkScan.values(mount, inode, generation, fromChunk, last, limit)) {
      if (at === undefined || (row[1] as number) <= at) byChunk.set(row[0] as number, row[2] as string);
    }
    if (at !== undefined) {
      for (const row of this.s.chunkHistoryScan.values(mount, inode, generation, fromChunk, last, at, limit)) {
        byChunk.set(row[0] as number, row[3] as string);
      }
    }
    return [...byChunk.entries()]
      .sort((a, b) => a[0] - b[0])
      .slice(0, limit)
      .map(([chunkIndex, text]) => ({ chunkIndex, value: decodeManifest(text) }));
  }

  getSystem(name: string): { int: number | null; text: string | null } | null {
    const row = this.s.systemGet.values(name)[0];
    return row ? { int: row[0] as number | null, text: row[1] as string | null } : null;
  }

  scanSystem(prefix: string): Array<{ name: string; int: number | null; text: string | null }> {
    return this.s.systemScan
      .values(prefix, prefix + "\uffff")
      .map((row) => ({ name: row[0] as string, int: row[1] as number | null, text: row[2] as string | null }));
  }

  listPins(mount?: MountId): StoredPin[] {
    const pins = this.s.pinList.values().map((row) => ({
      mount: row[0] as number,
      snapshotId: row[1] as number,
      rootInode: row[2] as number,
      readVersion: row[3] as number,
      createdVersion: row[4] as number,
    }));
    return mount === undefined ? pins : pins.filter((p) => p.mount === mount);
  }

  getStaged(mount: MountId, prepareId: string): StoredStaged | null {
    const row = this.s.stagedGet.values(mount, prepareId)[0];
    return row ? stagedFromRow(row) : null;
  }

  scanStagedExpired(nowMs: number, limit: number): StoredStaged[] {
    const out: StoredStaged[] = [];
    const take = (rows: unknown[][]) => {
      for (const row of rows) out.push(stagedFromRow(row));
    };
    for (const shard of this.shardStates.keys()) {
      const { low, high } = expiredRange(shard, nowMs);
      if (out.length < limit) take(this.s.stagedExpiredOrdered.values(shard, low, high, nowMs, limit - out.length));
      if (out.length < limit) take(this.s.stagedExpiredBelow.values(shard, low, nowMs, limit - out.length));
      if (out.length < limit) take(this.s.stagedExpiredAbove.values(shard, expiryRangeEnd(shard), nowMs, limit - out.length));
      if (out.length >= limit) break;
    }
    return out;
  }

  getOrphan(mount: MountId, inode: InodeId): StoredOrphan | null {
    const row = this.s.orphanGet.values(mount, inode)[0];
    return row ? orphanFromRow(row) : null;
  }

  scanOrphansOfSession(mount: MountId, session: string, limit: number): StoredOrphan[] {
    return this.s.orphanOfSession.values(mount, session, limit).map(orphanFromRow);
  }

  scanOrphansExpired(nowMs: number, limit: number): StoredOrphan[] {
    return this.s.orphanExpired.values(nowMs, limit).map(orphanFromRow);
  }

  getXattr(mount: MountId, inode: InodeId, name: string): Uint8Array | null {
    const row = this.s.xattrGet.values(mount, inode, name)[0];
    return row ? new Uint8Array(row[0] as Uint8Array) : null;
  }

  listXattrs(mount: MountId, inode: InodeId): Array<{ name: string; sizeBytes: number }> {
    return this.s.xattrList.values(mount, inode).map((row) => ({ name: row[0] as string, sizeBytes: Number(row[1]) }));
  }

  blockRefCount(mount: MountId, objectKey: string): number {
    const row = this.s.refGet.values(mount, objectKey)[0];
    return row ? (row[0] as number) : 0;
  }

  scanGc(mount: MountId, throughVersion: Version, limit: number): GcRecord[] {
    return this.s.gcScan.values(mount, throughVersion, limit).map((row) => ({
      mount: row[0] as number,
      enqueueVersion: row[1] as number,
      objectKey: row[2] as string,
    }));
  }

  gcMounts(after: MountId, limit: number): MountId[] {
    return skipScan(this.s.gcNextMount, after, limit);
  }

  scanWatch(mount: MountId, scope: InodeId, after: WatchCursor, limit: number, maxCommands = LIMITS.watchPageMaxCommands): WatchScan {
    return scanWatchEvents(this.s, mount, scope, after, limit, maxCommands);
  }

  scanHistoryBand(band: HistoryBand, limit: number): HistoryKey[] {
    return this.s.historyBand.values(band.mount, band.replacedAfter, band.replacedThrough, band.versionAbove, limit).map((r) => ({
      family: r[0] as number, mount: r[1] as number, k1: r[2] as number, k2: r[3] as number, k3: r[4] as number, name: r[5] as string, version: r[6] as number,
    }));
  }

  historyMounts(after: MountId, limit: number): MountId[] {
    return skipScan(this.s.historyNextMount, after, limit);
  }

  readLog(shard: MountId, fromVersion: Version, limit: number): LogEntry[] {
    return this.s.logRead.values(shard, fromVersion, limit).map((r) => ({
      shard, version: r[0] as number, kind: r[1] as string, bytes: r[2] as Uint8Array,
    }));
  }

  trimLog(shard: MountId, beforeVersion: Version, limit: number): number {
    // Dedupe GC finds expired records through the entries from its floor on: none trimmed before it.
    const { dedupeFloor, logFloor } = this.shardState(shard);
    const before = Math.min(beforeVersion, dedupeFloor);
    if (before <= logFloor) return 0;
    const atLimit = this.s.logVersionAt.values(shard, before, limit)[0];
    const bound = atLimit ? (atLimit[0] as number) : before;
    // Log trimming is upkeep of the log itself, not a command in it: replicas trim on their own.
    const run = () => {
      this.groupWritten = true;
      const deleted = this.s.logTrim.run(shard, bound).changes;
      const state = this.shardStates.get(shard);
      if (state && bound > state.logFloor) {
        state.logFloor = bound;
        this.writeShardRow(state);
      }
      return deleted;
    };
    return this.depth > 0 ? run() : this.group(run);
  }

  /**
   * A consistent copy of the whole database at `path` (VACUUM INTO: one read transaction, so every
   * shard's rows and clock agree), and each shard's applied position in it. A replica uploads it
   * as a checkpoint; a new replica starts from one and replays the logs past those positions.
   */
  checkpointTo(path: string): Record<number, number> {
    if (this.depth > 0) throw new Error("checkpointTo inside an open transaction");
    this.db.run("VACUUM INTO ?", [path]);
    const positions: Record<number, number> = {};
    for (const s of this.shardStates.values()) positions[s.shard] = s.version;
    return positions;
  }

  /** Whole-table read-only walks for fsck (never on a request path). */
  fullScan(): SqliteFullScan {
    return new SqliteFullScan(this.db);
  }

  /** What SQLite reports it is doing: the journal mode and sync level this store runs with. */
  settings(): { journalMode: string; synchronous: "normal" | "full" | "other" } {
    const journal = this.db.query("PRAGMA journal_mode").get() as { journal_mode: string };
    const sync = (this.db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
    return { journalMode: journal.journal_mode, synchronous: sync === 1 ? "normal" : sync === 2 ? "full" : "other" };
  }

  footprintBytes(): number {
    this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const file = this.db.filename;
    if (!file || file === ":memory:") {
      const row = this.db.query("SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()").get() as { bytes: number };
      return row.bytes;
    }
    return statSync(file).size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.checkpointer?.stop();
    // Rows current again, so a stopped store's `shard` table says where each shard is.
    try {
      if (this.depth === 0) this.db.transaction(() => this.shardStates.forEach((st) => this.writeShardRow(st)))();
    } catch {
      // A store closing after an I/O error: the next open reads the clocks from the log.
    }
    // Everything into the database file and the WAL emptied, so a stopped store is one file (for
    // backups and copies) and the next open has no WAL to recover.
    if (this.db.filename && this.db.filename !== ":memory:") {
      try {
        this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // A store closing after an I/O error: SQLite recovers the WAL at the next open.
      }
    }
    this.db.close(false);
  }
}

function walSizeBytes(dbPath: string): number {
  try {
    return statSync(`${dbPath}-wal`).size;
  } catch {
    return 0;
  }
}
