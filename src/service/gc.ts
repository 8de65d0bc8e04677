import { LIMITS, type MountId } from "../types/index.ts";
import type { GcRecord, Mutation } from "../schema/index.ts";
import type { ServiceCore } from "./core.ts";

// Garbage collection decides; the caller's object store deletes. An object is deleted only when
// no snapshot pin can still read it; its queue record goes only after the delete succeeded, so a
// failed delete is retried by the next pass and nothing is ever forgotten.

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
  objectsKeptForSnapshots: number;
  objectDeleteErrors: number;
  stagedExpired: number;
  stagedObjectsDeleted: number;
  historyRowsScanned: number;
  historyRowsDeleted: number;
  watchEventsDeleted: number;
  dedupeRecordsDeleted: number;
  tempFilesDeleted: number;
}

export function emptyGcReport(): GcReport {
  return {
    objectRecordsScanned: 0, objectsDeleted: 0, objectsKeptForSnapshots: 0, objectDeleteErrors: 0, stagedExpired: 0,
    stagedObjectsDeleted: 0, historyRowsScanned: 0, historyRowsDeleted: 0, watchEventsDeleted: 0, dedupeRecordsDeleted: 0,
    tempFilesDeleted: 0,
  };
}


export class Collector {
  constructor(
    private readonly core: ServiceCore,
    private readonly nowMs: () => number,
  ) {}

  /** One full pass: objects, expired prepares, history, watch log, dedupe records. */
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
    const history = this.core.store.gcHistory(this.core.pinnedVersions(), LIMITS.gcPassMaxRows);
    report.historyRowsScanned += history.scanned;
    report.historyRowsDeleted += history.deleted;
    const watchBefore = this.core.store.currentVersion() - LIMITS.watchRetainVersions;
    if (watchBefore > 0) report.watchEventsDeleted += this.core.store.gcWatch(watchBefore, LIMITS.gcPassMaxRows);
    report.dedupeRecordsDeleted += this.core.store.gcDedupe(this.nowMs() - LIMITS.dedupeRetainMs, LIMITS.gcPassMaxRows);
    return report;
  }

  private async collectObjects(target: GcObjectTarget, report: GcReport): Promise<void> {
    const records = this.core.store.scanGc(Number.MAX_SAFE_INTEGER, LIMITS.gcPassMaxRows);
    report.objectRecordsScanned += records.length;
    const doomed: GcRecord[] = [];
    for (const record of records) {
      if (this.visibleToSnapshot(record.mount, record.enqueueVersion)) report.objectsKeptForSnapshots++;
      else doomed.push(record);
    }
    const deleted = await deleteAll(doomed, (r) => target.deleteObject(r.objectKey), report);
    report.objectsDeleted += deleted.length;
    this.commitCleanup(deleted.map((r) => ({ family: "gc", op: "delete", key: r })));
  }

  /** A body removed at version `removedAt` may be read by any pin taken before it. */
  private visibleToSnapshot(mount: MountId, removedAt: number): boolean {
    for (const pin of this.core.pinsOf(mount).values()) if (pin.readVersion < removedAt) return true;
    return false;
  }

  private async collectStaged(target: GcObjectTarget, report: GcReport): Promise<void> {
    for (const staged of this.core.store.scanStagedExpired(this.nowMs(), LIMITS.gcPassMaxRows)) {
      const keys = await target.listObjects(staged.keyPrefix + "/");
      const deleted = await deleteAll(keys, (key) => target.deleteObject(key), report);
      report.stagedObjectsDeleted += deleted.length;
      if (deleted.length < keys.length) continue;
      // Re-read: a publish may have consumed the prepare while the deletes ran (it cannot once
      // expired, but the row is the truth, not the list read before the awaits).
      if (!this.core.store.getStaged(staged.mount, staged.prepareId)) continue;
      this.commitCleanup([{ family: "staged", op: "delete", key: { mount: staged.mount, prepareId: staged.prepareId } }]);
      report.stagedExpired++;
    }
  }

  private commitCleanup(mutations: Mutation[]): void {
    for (let i = 0; i < mutations.length; i += LIMITS.commandMaxMutations) {
      const command = this.core.command("cleanup_objects", 0);
      command.keepHistory = false;
      command.mutations.push(...mutations.slice(i, i + LIMITS.commandMaxMutations));
      this.core.commit(command);
    }
  }
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
      } catch (err) {
        report.objectDeleteErrors++;
        console.error("nokv gc: delete failed:", err instanceof Error ? err.message : err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIMITS.gcDeleteConcurrency, items.length) }, worker));
  return done;
}
