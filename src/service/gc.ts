import { LIMITS, type MountId, type Version } from "../types/index.ts";
import { decodeCommand, type GcRecord, type HistoryBand, type MetadataCommand, type Mutation, type ShardState } from "../schema/index.ts";
import type { ServiceCore } from "./core.ts";
import type { Orphans } from "./orphans.ts";

// Garbage collection decides; the caller's object store deletes. Every pass is bounded
// (gcPassMaxRows per family) and walks indexes only, and every removal is a command in its
// shard's log, so replicas and replays remove exactly the same rows. An object is deleted only
// when no snapshot pin can still read it; its queue record goes only after the delete succeeded,
// so a failed delete is retried by the next pass and nothing is ever forgotten.

/** What GC needs of an object store. */
export interface GcObjectTarget {
  deleteObject(key: string): Promise<void>;
  /** Every key under a prefix (staged uploads of an abandoned prepare). */
  listObjects(prefix: string): Promise<string[]>;
  /** Deletes temp files a killed writer left (older than LIMITS.tempFileMinAgeMs); returns how many. */
  sweepTempFiles?(): Promise<number>;
}

export interface GcReport {
  objectRecordsScanned: number;
  objectsDeleted: number;
  /** Mounts whose older GC records wait for a snapshot that can still read them. */
  mountsWaitingForSnapshots: number;
  objectDeleteErrors: number;
  stagedExpired: number;
  stagedObjectsDeleted: number;
  historyRowsDeleted: number;
  watchEventsTrimmedBefore: number;
  dedupeRecordsDeleted: number;
  logEntriesTrimmed: number;
  tempFilesDeleted: number;
  /** Orphans (unlinked files held open) whose session's lease ran out. */
  orphansCollected: number;
}

export function emptyGcReport(): GcReport {
  return {
    objectRecordsScanned: 0, objectsDeleted: 0, mountsWaitingForSnapshots: 0, objectDeleteErrors: 0, stagedExpired: 0,
    stagedObjectsDeleted: 0, historyRowsDeleted: 0, watchEventsTrimmedBefore: 0, dedupeRecordsDeleted: 0, logEntriesTrimmed: 0,
    tempFilesDeleted: 0,
    orphansCollected: 0,
  };
}

/** How much of each log GC keeps; tests shorten them. */
export interface GcRetention {
  /** Watch events kept per mount, in versions behind its clock; older cursors get ESTALE. */
  watchRetainVersions: number;
  /** Exactly-once records kept this long; a retry after it may apply twice. */
  dedupeRetainMs: number;
  /** Command log entries kept per shard, in versions behind its clock. */
  logRetainVersions: number;
}

export const DEFAULT_GC_RETENTION: GcRetention = {
  watchRetainVersions: LIMITS.watchRetainVersions,
  dedupeRetainMs: LIMITS.dedupeRetainMs,
  logRetainVersions: LIMITS.logRetainVersions,
};

export class Collector {
  /** Where the next object pass starts, so many mounts share the pass limit round-robin. */
  private nextObjectMount: MountId = 0;

  constructor(
    private readonly core: ServiceCore,
    private readonly retention: GcRetention = DEFAULT_GC_RETENTION,
    private readonly orphans: Orphans | null = null,
  ) {}

  /** One full pass: objects, expired prepares, history, watch log, dedupe records, command log. */
  async collect(target: GcObjectTarget): Promise<GcReport> {
    const report = emptyGcReport();
    await this.collectObjects(target, report);
    await this.collectStaged(target, report);
    report.tempFilesDeleted += (await target.sweepTempFiles?.()) ?? 0;
    this.collectMetadata(report);
    return report;
  }

  /** Metadata-only collection (no object store needed). */
  collectMetadata(report: GcReport = emptyGcReport()): GcReport {
    const now = this.core.nowMs();
    // First: an expired orphan's blocks then join this pass's history and object queues.
    if (this.orphans) report.orphansCollected += this.orphans.collectExpired(now);
    this.collectHistory(report);
    for (const shard of this.core.store.shards()) {
      // Events are read from the command log: a watch trim only raises the floor cursors must
      // stand on (one small command), and the log's trim below deletes the entries.
      const bound = shard.version - this.retention.watchRetainVersions;
      if (bound > shard.watchFloor) {
        this.commitRemoval("trim_watch", shard.shard, [{ family: "watch", op: "trim", key: { mount: shard.shard, beforeVersion: bound } }]);
        report.watchEventsTrimmedBefore = Math.max(report.watchEventsTrimmedBefore, bound);
      }
      const expired = this.expiredDedupe(shard, now - this.retention.dedupeRetainMs);
      if (expired.keys.length > 0 || expired.floor - shard.dedupeFloor >= LIMITS.dedupeFloorMinAdvance) {
        // The floor goes last: it rises only once every record below it is deleted.
        this.commitRemoval("trim_dedupe", shard.shard, [
          ...expired.keys.map((requestKey): Mutation => ({ family: "dedupe", op: "delete", key: { requestKey } })),
          { family: "dedupe", op: "floor", key: { mount: shard.shard, beforeVersion: expired.floor } },
        ]);
        report.dedupeRecordsDeleted += expired.keys.length;
      }
      const logBefore = this.core.version(shard.shard) - this.retention.logRetainVersions;
      if (logBefore > shard.logFloor) report.logEntriesTrimmed += this.core.store.trimLog(shard.shard, logBefore, LIMITS.gcPassMaxRows);
    }
    return report;
  }

  /**
   * Dedupe records older than `beforeMs`, found by walking the shard's log from its dedupe floor:
   * each entry carries its request keys and when it was built, so no age index is written by every
   * commit. Stops at the first entry young enough to keep, or after gcPassMaxRows entries or keys;
   * `floor` is the version after the last entry walked.
   */
  private expiredDedupe(shard: ShardState, beforeMs: number): { keys: string[]; floor: Version } {
    const keys: string[] = [];
    let floor = Math.max(shard.dedupeFloor, shard.logFloor);
    for (let walked = 0; walked < LIMITS.gcPassMaxRows && keys.length < LIMITS.gcPassMaxRows; ) {
      const page = this.core.store.readLog(shard.shard, floor, Math.min(LIMITS.gcDedupeLogPageEntries, LIMITS.gcPassMaxRows - walked));
      if (page.length === 0) break;
      for (const entry of page) {
        const command = decodeCommand(entry.bytes);
        if (command.timestampMs >= beforeMs) return { keys, floor };
        if (command.requestKey !== undefined) keys.push(command.requestKey);
        for (const d of command.dedupe ?? []) keys.push(d.requestKey);
        floor = entry.version + 1;
        walked++;
      }
    }
    return { keys, floor };
  }

  /**
   * A history row serves only pins in [version, replaced). With a mount's pins sorted, the rows no
   * pin needs fall in bands between consecutive pins, each one index range (see HistoryBand).
   */
  private collectHistory(report: GcReport): void {
    let budget = LIMITS.gcPassMaxRows;
    for (const mount of this.core.store.historyMounts(0, LIMITS.gcMountsPerPass)) {
      const pins = this.core.pinnedVersions(mount);
      const doomed: Mutation[] = [];
      for (const band of historyBands(mount, pins)) {
        if (budget - doomed.length <= 0) break;
        for (const key of this.core.store.scanHistoryBand(band, budget - doomed.length)) doomed.push({ family: "history", op: "delete", key });
      }
      budget -= doomed.length;
      this.commitRemoval("trim_history", mount, doomed);
      report.historyRowsDeleted += doomed.length;
      if (budget <= 0) return;
    }
  }

  private async collectObjects(target: GcObjectTarget, report: GcReport): Promise<void> {
    let budget = LIMITS.gcPassMaxRows;
    const mounts = this.core.store.gcMounts(this.nextObjectMount, LIMITS.gcMountsPerPass);
    if (mounts.length < LIMITS.gcMountsPerPass) mounts.push(...this.core.store.gcMounts(0, LIMITS.gcMountsPerPass - mounts.length).filter((m) => m <= this.nextObjectMount));
    for (const mount of mounts) {
      if (budget <= 0) break;
      this.nextObjectMount = mount;
      // A record enqueued at e is readable by pins older than e: only records at or below the
      // oldest pin may go now. They are first in the index, so kept records are never re-read.
      const pins = this.core.pinnedVersions(mount);
      const through = pins.length > 0 ? pins[0]! : Number.MAX_SAFE_INTEGER;
      const records = this.core.store.scanGc(mount, through, budget);
      if (pins.length > 0) report.mountsWaitingForSnapshots++;
      budget -= records.length;
      report.objectRecordsScanned += records.length;
      const deleted = await deleteAll(records, (r) => target.deleteObject(r.objectKey), report);
      report.objectsDeleted += deleted.length;
      this.commitRemoval("cleanup_objects", mount, deleted.map((r: GcRecord) => ({ family: "gc", op: "delete", key: r })));
    }
  }

  private async collectStaged(target: GcObjectTarget, report: GcReport): Promise<void> {
    for (const staged of this.core.store.scanStagedExpired(this.core.nowMs(), LIMITS.gcPassMaxRows)) {
      const keys = await target.listObjects(staged.keyPrefix + "/");
      const deleted = await deleteAll(keys, (key) => target.deleteObject(key), report);
      report.stagedObjectsDeleted += deleted.length;
      if (deleted.length < keys.length) continue;
      // Re-read: a publish may have consumed the prepare while the deletes ran (it cannot once
      // expired, but the row is the truth, not the list read before the awaits).
      if (!this.core.store.getStaged(staged.mount, staged.prepareId)) continue;
      this.commitRemoval("cleanup_objects", staged.mount, [{ family: "staged", op: "delete", key: { mount: staged.mount, prepareId: staged.prepareId } }]);
      report.stagedExpired++;
    }
  }

  /** Removals as commands in the shard's log, split to the command size limit. */
  private commitRemoval(kind: MetadataCommand["kind"], shard: MountId, mutations: Mutation[]): void {
    for (let i = 0; i < mutations.length; i += LIMITS.commandMaxMutations) {
      const command = this.core.command(kind, shard);
      command.keepHistory = false;
      command.mutations.push(...mutations.slice(i, i + LIMITS.commandMaxMutations));
      this.core.commit(command);
    }
  }
}

/** The index ranges of a mount's history that no pin reads: below the first pin, between pins, above the last. */
export function historyBands(mount: MountId, pins: readonly Version[]): HistoryBand[] {
  const bands: HistoryBand[] = [];
  let lower = -1;
  for (const pin of pins) {
    if (pin === lower) continue;
    bands.push({ mount, replacedAfter: lower, replacedThrough: pin, versionAbove: lower });
    lower = pin;
  }
  bands.push({ mount, replacedAfter: lower, replacedThrough: Number.MAX_SAFE_INTEGER, versionAbove: lower });
  return bands;
}

/** Runs `del` over `items` with bounded concurrency; returns the items whose delete succeeded. */
async function deleteAll<T>(items: readonly T[], del: (item: T) => Promise<void>, report: GcReport): Promise<T[]> {
  const done: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await del(item);
        done.push(item);
      } catch {
        // Counted here, reported once per pass by the host (metad: /stats gc.lastError, the log).
        report.objectDeleteErrors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIMITS.gcDeleteConcurrency, items.length) }, worker));
  return done;
}
