import { Database } from "bun:sqlite";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { Packr } from "msgpackr";
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
  type WatchEvent,
} from "../../types/index.ts";
import type { CommitResult, DentryKey, InodeKey, ManifestKey, ManifestValue, MetadataCommand, Predicate } from "../command.ts";
import { DDL_V1, MIGRATIONS, SCHEMA_VERSION } from "../ddl.ts";
import { decodeManifest, dentryFromHistory, dentryFromRow, inodeFromHistory, inodeFromRow, watchFromRow } from "../rows.ts";
import type {
  Durability,
  GcRecord,
  HistoryGcResult,
  MetadataStore,
  ScanOptions,
  StoredPin,
  StoredStaged,
  WriteCounters,
} from "../store.ts";
import { applyMutation, applyWatchEvents } from "./apply.ts";
import { SqliteFullScan } from "./full-scan.ts";
import { prepareStatements, type Statements } from "./statements.ts";

export interface SqliteStoreOptions {
  /** Database file; ":memory:" for a throwaway store. */
  path: string;
  durability?: Durability;
  /** Clock for dedupe ages, injectable for tests. */
  nowMs?: () => number;
}

const SYS_SCHEMA = "schema_version";
export const SYS_VERSION_RESERVED = "version_reserved";
export const SYS_INODE_RESERVED = "inode_reserved";
export const SYS_WATCH_FLOOR = "watch_floor";

/** Dedupe results carry bigint times; one packer configured for them. */
const resultPackr = new Packr({ int64AsType: "bigint" });

function newCounters(): WriteCounters {
  return {
    commits: 0, commandsReplayed: 0, commandsRejected: 0, predicatesChecked: 0, currentPuts: 0,
    currentDeletes: 0, historyWrites: 0, watchWrites: 0, dedupeWrites: 0, groupCommits: 0,
  };
}

/** A predicate failure: the command applied nothing. The errno is the caller's to report. */
export class PredicateFailed extends FsError {
  constructor(readonly predicate: Predicate, readonly index: number) {
    super(predicate.errno, predicate.detail ?? `${predicate.kind} failed on ${predicate.target.family}`);
  }
}

export class SqliteStore implements MetadataStore {
  readonly counters: WriteCounters = newCounters();
  private readonly db: Database;
  private readonly s: Statements;
  private readonly nowMs: () => number;
  private readonly tx: Record<"begin" | "commit" | "rollback" | "savepoint" | "release" | "rollbackTo", { run(): unknown }>;
  private depth = 0;
  /** Set when a failure inside a group took the group's transaction with it. */
  private groupFailure: Error | null = null;
  private version: Version;
  private nextInode: InodeId;
  /** Reservations in memory run ahead of what is persisted; a commit writes them before it ends. */
  private versionReservedHi: Version;
  private inodeReservedHi: InodeId;
  private persistedVersionHi: Version;
  private persistedInodeHi: InodeId;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { create: true, strict: false });
    this.nowMs = options.nowMs ?? Date.now;
    this.configure(options.durability ?? "normal");
    this.migrate();
    this.s = prepareStatements(this.db);
    this.tx = {
      begin: this.db.prepare("BEGIN IMMEDIATE"),
      commit: this.db.prepare("COMMIT"),
      rollback: this.db.prepare("ROLLBACK"),
      savepoint: this.db.prepare("SAVEPOINT command"),
      release: this.db.prepare("RELEASE command"),
      rollbackTo: this.db.prepare("ROLLBACK TO command"),
    };
    // Every version and inode number ever handed out is at or below its persisted reservation, so
    // starting just above it can never reuse one, whatever the previous process did before it died.
    this.persistedVersionHi = this.versionReservedHi = this.readSystemInt(SYS_VERSION_RESERVED) ?? 0;
    this.version = this.persistedVersionHi;
    this.persistedInodeHi = this.inodeReservedHi = this.readSystemInt(SYS_INODE_RESERVED) ?? FIRST_ALLOCATED_INODE - 1;
    this.nextInode = this.persistedInodeHi + 1;
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

  private migrate(): void {
    this.db.transaction(() => {
      this.db.run(DDL_V1);
      const row = this.db.query("SELECT int_value FROM system WHERE name = ?").get(SYS_SCHEMA) as { int_value: number } | null;
      let current = row?.int_value ?? SCHEMA_VERSION;
      if (current > SCHEMA_VERSION) {
        throw new FsError("EINVAL", `metadata schema version ${current} is newer than this build (${SCHEMA_VERSION})`);
      }
      for (; current < SCHEMA_VERSION; current++) this.db.run(MIGRATIONS[current - 1]!);
      this.db.run("INSERT OR REPLACE INTO system (name, int_value) VALUES (?, ?)", [SYS_SCHEMA, SCHEMA_VERSION]);
    })();
  }

  private readSystemInt(name: string): number | null {
    const row = this.s.systemGet.values(name)[0];
    return row ? (row[0] as number | null) : null;
  }

  currentVersion(): Version {
    return this.version;
  }

  allocateId(): InodeId {
    const inode = this.nextInode++;
    if (inode > Number.MAX_SAFE_INTEGER - LIMITS.inodeReserveBlock) throw new Error("inode numbers exhausted");
    if (inode > this.inodeReservedHi) this.inodeReservedHi = inode + LIMITS.inodeReserveBlock - 1;
    return inode;
  }

  replay(requestKey: string): CommitResult | null {
    const row = this.s.dedupeGet.values(requestKey)[0];
    if (!row) return null;
    this.counters.commandsReplayed++;
    const bytes = row[1] as Uint8Array | null;
    return { commitVersion: row[0] as number, replayed: true, result: bytes ? resultPackr.unpack(bytes) : undefined };
  }

  group<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.tx.begin.run();
    this.depth++;
    this.groupFailure = null;
    const marks = this.marks();
    try {
      const out = fn();
      // A commit inside lost the whole transaction (SQLite rolled it back, e.g. on a full disk):
      // the commands before it are gone too, so none of them may be acknowledged.
      if (this.groupFailure) throw this.groupFailure;
      this.tx.commit.run();
      this.counters.groupCommits++;
      return out;
    } catch (err) {
      this.rollbackIfOpen();
      this.restore(marks);
      throw err;
    } finally {
      this.depth--;
      this.groupFailure = null;
    }
  }

  /** SQLite rolls some failures back by itself (SQLITE_FULL, I/O errors); a second ROLLBACK would mask them. */
  private rollbackIfOpen(): void {
    if (this.db.inTransaction) this.tx.rollback.run();
  }

  commit(command: MetadataCommand): CommitResult {
    if (this.closed) throw new FsError("EIO", "metadata store is closed");
    if (command.requestKey !== undefined) {
      const earlier = this.replay(command.requestKey);
      if (earlier) return earlier;
    }
    if (command.mutations.length > LIMITS.commandMaxMutations) {
      throw new FsError("EINVAL", `command has ${command.mutations.length} mutations, limit ${LIMITS.commandMaxMutations}`);
    }
    if (this.groupFailure) throw this.groupFailure;
    // Predicates read before anything is written, so a failed one needs no rollback.
    this.checkPredicates(command.predicates);
    const outer = this.depth === 0;
    (outer ? this.tx.begin : this.tx.savepoint).run();
    this.depth++;
    const marks = this.marks();
    try {
      const version = this.nextVersion();
      for (const m of command.mutations) applyMutation(this.s, m, version, command.keepHistory, this.counters);
      if (command.watchEvents.length > 0) applyWatchEvents(this.s, command.watchEvents, version, this.counters);
      this.persistReservations();
      const result = command.result?.(version);
      if (command.requestKey !== undefined) {
        const packed = result === undefined ? null : resultPackr.pack(result);
        this.s.dedupeInsert.run(command.requestKey, version, this.nowMs(), packed);
        this.counters.dedupeWrites++;
      }
      if (outer) this.tx.commit.run();
      else this.tx.release.run();
      this.counters.commits++;
      return { commitVersion: version, replayed: false, result };
    } catch (err) {
      if (outer) this.rollbackIfOpen();
      else if (this.db.inTransaction) {
        this.tx.rollbackTo.run();
        this.tx.release.run();
      } else {
        this.groupFailure = err instanceof Error ? err : new Error(String(err));
      }
      this.restore(marks);
      throw err;
    } finally {
      this.depth--;
    }
  }

  private nextVersion(): Version {
    const version = ++this.version;
    if (version > this.versionReservedHi) this.versionReservedHi = version + LIMITS.versionReserveBlock - 1;
    return version;
  }

  private marks(): [Version, InodeId] {
    return [this.persistedVersionHi, this.persistedInodeHi];
  }

  private restore([versionHi, inodeHi]: [Version, InodeId]): void {
    // The numbers stay burnt in memory; only the persisted marks go back, so the next commit
    // re-persists reservations the rolled-back transaction had written.
    this.persistedVersionHi = versionHi;
    this.persistedInodeHi = inodeHi;
  }

  private persistReservations(): void {
    if (this.versionReservedHi > this.persistedVersionHi) {
      this.s.systemUpsert.run(SYS_VERSION_RESERVED, this.versionReservedHi, null);
      this.persistedVersionHi = this.versionReservedHi;
    }
    if (this.inodeReservedHi > this.persistedInodeHi) {
      this.s.systemUpsert.run(SYS_INODE_RESERVED, this.inodeReservedHi, null);
      this.persistedInodeHi = this.inodeReservedHi;
    }
  }

  private checkPredicates(predicates: readonly Predicate[]): void {
    for (let i = 0; i < predicates.length; i++) {
      const p = predicates[i]!;
      this.counters.predicatesChecked++;
      if (!this.predicateHolds(p)) {
        this.counters.commandsRejected++;
        throw new PredicateFailed(p, i);
      }
    }
  }

  private predicateHolds(p: Predicate): boolean {
    if (p.kind === "prefixEmpty") return this.s.dentryAny.values(p.target.key.mount, p.target.key.inode).length === 0;
    const version = this.targetVersion(p.target);
    switch (p.kind) {
      case "exists":
        return version !== null;
      case "notExists":
        return version === null;
      case "versionEquals":
        return version === p.version;
    }
  }

  private targetVersion(target: Predicate["target"]): Version | null {
    if (target.family === "dentry") {
      const row = this.s.dentryGet.values(target.key.mount, target.key.parent, target.key.name)[0];
      return row ? (row[1] as number) : null;
    }
    const row = this.s.inodeGet.values(target.key.mount, target.key.inode)[0];
    if (!row) return null;
    if (target.family === "dir" && Number(row[2]) !== 1) return null;
    return Number(row[1]);
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

  getPath(mount: MountId, path: string): { inode: InodeId; topologyEpoch: number } | null {
    const row = this.s.pathGet.values(mount, path)[0];
    return row ? { inode: row[0] as number, topologyEpoch: row[1] as number } : null;
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
    return this.s.stagedExpired.values(nowMs, limit).map(stagedFromRow);
  }

  scanGc(beforeVersion: Version, limit: number): GcRecord[] {
    return this.s.gcScan.values(beforeVersion, limit).map((row) => ({
      mount: row[0] as number,
      enqueueVersion: row[1] as number,
      objectKey: row[2] as string,
    }));
  }

  scanWatch(mount: MountId, scope: InodeId, after: WatchCursor, limit: number): WatchEvent[] {
    return this.s.watchScan.values(mount, scope, after.version, after.ordinal, limit).map(watchFromRow);
  }

  watchFloor(): Version {
    return this.readSystemInt(SYS_WATCH_FLOOR) ?? 0;
  }

  gcHistory(pinnedVersions: ReadonlyMap<MountId, readonly Version[]>, limit: number): HistoryGcResult {
    const doomed: unknown[][] = [];
    let scanned = 0;
    let more = false;
    for (const row of this.s.historyScanAll.values()) {
      scanned++;
      const pins = pinnedVersions.get(row[1] as number) ?? [];
      const from = row[6] as number;
      const to = row[7] as number;
      if (pins.some((p) => p >= from && p < to)) continue;
      if (doomed.length >= limit) {
        more = true;
        break;
      }
      doomed.push(row);
    }
    if (doomed.length > 0) {
      this.group(() => {
        for (const r of doomed) this.s.historyDelete.run(r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
      });
    }
    return { scanned, deleted: doomed.length, more };
  }

  gcWatch(beforeVersion: Version, limit: number): number {
    return this.group(() => {
      const deleted = this.s.watchGc.run(beforeVersion, limit).changes;
      // The floor moves only once every older event is gone, so a cursor at or above it is whole.
      if (deleted < limit && beforeVersion > this.watchFloor()) this.s.systemUpsert.run(SYS_WATCH_FLOOR, beforeVersion, null);
      return deleted;
    });
  }

  gcDedupe(beforeMs: number, limit: number): number {
    return this.group(() => this.s.dedupeGc.run(beforeMs, limit).changes);
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
    this.db.close(false);
  }
}

function stagedFromRow(row: unknown[]): StoredStaged {
  return {
    mount: row[0] as number,
    prepareId: row[1] as string,
    inode: row[2] as number,
    generation: row[3] as number,
    keyPrefix: row[4] as string,
    expiresAtMs: row[5] as number,
    createdVersion: row[6] as number,
  };
}
