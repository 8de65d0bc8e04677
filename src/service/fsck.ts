import { LIMITS } from "../types/index.ts";
import type { FullScan, MetadataStore } from "../schema/index.ts";
import { checkBodies, checkObjects, type BodyFacts } from "./fsck-bodies.ts";
import { verifyData } from "./fsck-data.ts";
import { checkNamespace, loadNamespace } from "./fsck-namespace.ts";
import { checkBlockRefs } from "./fsck-refs.ts";

// fsck: every invariant the service keeps, checked over a whole store at rest (metad stopped).
// Each broken one is reported with the keys that locate it. Only leaked objects are repaired:
// metadata problems need a person, since guessing wrong loses data for good.

export type FsckKind =
  | "unknown-mount" | "missing-root" | "bad-inode-type" | "dentry-bad-name" | "dentry-parent-missing" | "dentry-parent-not-dir"
  | "dentry-dangling" | "dentry-type-mismatch" | "nlink-mismatch" | "dir-links" | "dir-parent-mismatch" | "dir-cycle"
  | "unreachable-inode" | "manifest-orphan" | "manifest-undecodable" | "body-no-summary" | "body-bad-summary" | "body-bad-chunk"
  | "staged-bad-prefix" | "block-missing" | "block-short" | "object-leak" | "version-clock-behind" | "id-clock-behind"
  | "history-order" | "block-corrupt" | "block-replaced" | "block-unreadable" | "block-ref-mismatch" | "gc-queued-referenced";

export interface FsckViolation {
  kind: FsckKind;
  message: string;
  /** What locates the problem: mount, inode, parent, name, generation, chunkIndex, objectKey, ... */
  keys: Record<string, string | number>;
}

/** What fsck needs of an object store; without it, block and leak checks are skipped. */
export interface FsckObjectSource {
  /** Every key under a prefix. */
  listObjects(prefix: string): Promise<string[]>;
  /** Size of one object, or null when it is missing; without it block sizes go unchecked. */
  headObject?(key: string): Promise<{ sizeBytes: number } | null>;
  /** Needed for repair. */
  deleteObject?(key: string): Promise<void>;
  /** A whole object's bytes; needed for verifyData. */
  readObject?(key: string): Promise<Uint8Array>;
  /** Temp files a killed writer left (file:// stores), deleted unless `dryRun` when at least `minAgeMs` old. */
  tempFiles?(options: { minAgeMs: number; dryRun: boolean }): Promise<{ found: Leftover["tempFiles"]; deleted: number }>;
}

export interface FsckProgress {
  blocksVerified: number;
  blocksTotal: number;
  bytesVerified: number;
  bytesTotal: number;
}

/** Garbage GC collects on its own: reported, and removed by repair, but no broken invariant. */
export interface Leftover {
  /** Temp files of writes that never finished (`.nokv-tmp-*`), path relative to the store. */
  tempFiles: Array<{ path: string; sizeBytes: number; ageMs: number }>;
  /** Prepares past their expiry, with the blocks their uploads left. */
  expiredPrepares: Array<{ mount: number; prepareId: string; keyPrefix: string; expiredAgoMs: number; blocks: number }>;
}

export interface FsckOptions {
  objects?: FsckObjectSource;
  /** Deletes leaked objects, old temp files and the blocks of expired prepares (nothing else is repaired). */
  repair?: boolean;
  /** Reads every referenced block and checks it against its checksums. */
  verifyData?: boolean;
  onProgress?: (progress: FsckProgress) => void;
  nowMs?: number;
}

export interface FsckReport {
  ok: boolean;
  violations: FsckViolation[];
  /** Violations found past LIMITS.fsckViolationsMax are counted, not listed. */
  violationsOmitted: number;
  counts: {
    mounts: number; inodes: number; dentries: number; bodies: number; blocksReferenced: number; objectsListed: number; historyRows: number;
    blocksVerified: number; bytesVerified: number; blocksWithoutChecksum: number;
  };
  leftovers: Leftover;
  repaired: { objectsDeleted: number; objectDeleteErrors: number; tempFilesDeleted: number; expiredBlocksDeleted: number };
}

/** Collects violations up to the listing limit. */
export class ViolationSink {
  readonly list: FsckViolation[] = [];
  omitted = 0;
  add(kind: FsckKind, message: string, keys: FsckViolation["keys"]): void {
    if (this.list.length < LIMITS.fsckViolationsMax) this.list.push({ kind, message, keys });
    else this.omitted++;
  }
  get count(): number {
    return this.list.length + this.omitted;
  }
}

export async function fsck(store: MetadataStore, scan: FullScan, options: FsckOptions = {}): Promise<FsckReport> {
  const sink = new ViolationSink();
  const ns = loadNamespace(store, scan, sink);
  checkNamespace(ns, sink);
  const bodies: BodyFacts = checkBodies(ns, scan, sink);
  const repair = options.repair === true;
  const objects = options.objects ? await checkObjects(bodies, options.objects, repair, sink) : null;
  const verified = options.objects && options.verifyData ? await verifyData(bodies.checksums, options.objects, sink, options.onProgress) : null;
  const leftovers = options.objects ? await findLeftovers(scan, options.objects, repair, options.nowMs ?? Date.now()) : null;
  const historyRows = checkClocks(store, scan, sink);
  checkBlockRefs(scan, sink);
  return {
    ok: sink.count === 0,
    violations: sink.list,
    violationsOmitted: sink.omitted,
    counts: {
      mounts: ns.mounts.size,
      inodes: ns.inodes.size,
      dentries: ns.dentryCount,
      bodies: bodies.bodyCount,
      blocksReferenced: bodies.referenced.size,
      objectsListed: objects?.listed ?? 0,
      historyRows,
      blocksVerified: verified?.blocksVerified ?? 0,
      bytesVerified: verified?.bytesVerified ?? 0,
      blocksWithoutChecksum: verified?.blocksWithoutChecksum ?? 0,
    },
    leftovers: leftovers?.found ?? { tempFiles: [], expiredPrepares: [] },
    repaired: {
      objectsDeleted: objects?.deleted ?? 0,
      objectDeleteErrors: (objects?.deleteErrors ?? 0) + (leftovers?.deleteErrors ?? 0),
      tempFilesDeleted: leftovers?.tempFilesDeleted ?? 0,
      expiredBlocksDeleted: leftovers?.expiredBlocksDeleted ?? 0,
    },
  };
}

/** Temp files and expired prepares' blocks; repair removes old temp files and those blocks. */
async function findLeftovers(scan: FullScan, source: FsckObjectSource, repair: boolean, nowMs: number) {
  const found: Leftover = { tempFiles: [], expiredPrepares: [] };
  let tempFilesDeleted = 0;
  let expiredBlocksDeleted = 0;
  let deleteErrors = 0;
  if (source.tempFiles) {
    // Every temp file is reported; repair removes only those too old to be a write in progress.
    found.tempFiles = (await source.tempFiles({ minAgeMs: 0, dryRun: true })).found;
    if (repair) tempFilesDeleted = (await source.tempFiles({ minAgeMs: LIMITS.tempFileMinAgeMs, dryRun: false })).deleted;
  }
  for (const staged of scan.staged()) {
    if (staged.expiresAtMs >= nowMs) continue;
    const keys = await source.listObjects(staged.keyPrefix + "/");
    found.expiredPrepares.push({ mount: staged.mount, prepareId: staged.prepareId, keyPrefix: staged.keyPrefix, expiredAgoMs: nowMs - staged.expiresAtMs, blocks: keys.length });
    if (!repair || !source.deleteObject) continue;
    for (const key of keys) {
      try {
        await source.deleteObject(key);
        expiredBlocksDeleted++;
      } catch {
        deleteErrors++;
      }
    }
  }
  return { found, tempFilesDeleted, expiredBlocksDeleted, deleteErrors };
}



/** Each shard's clocks must be ahead of everything it stores, or a restart would hand a number out twice. */
function checkClocks(store: MetadataStore, scan: FullScan, sink: ViolationSink): number {
  for (const [mount, max] of scan.maxPerMount()) {
    const shard = store.shardState(mount);
    if (max.version > shard.version) {
      sink.add("version-clock-behind", `mount ${mount} holds version ${max.version}, its clock is at ${shard.version}`, { mount, version: max.version, clock: shard.version });
    }
    if (max.id >= shard.nextId) {
      sink.add("id-clock-behind", `mount ${mount} uses id ${max.id}, its allocator would hand out ${shard.nextId} next`, { mount, id: max.id, nextId: shard.nextId });
    }
  }
  let rows = 0;
  for (const h of scan.history()) {
    rows++;
    if (h.version >= h.replacedVersion) {
      sink.add("history-order", `history row written at ${h.version} replaced at ${h.replacedVersion}`, {
        family: h.family, mount: h.mount, k1: h.k1, k2: h.k2, k3: h.k3, name: h.name, version: h.version, replacedVersion: h.replacedVersion,
      });
    }
  }
  return rows;
}
