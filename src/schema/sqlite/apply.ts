import type { Mutation } from "../command.ts";
import { SUMMARY_CHUNK_INDEX, TYPE_CODE } from "../ddl.ts";
import { decodeManifest, encodeManifest } from "../rows.ts";
import type { ShardState, WriteCounters } from "../store.ts";
import { storedDedupeKey } from "./dedupe-key.ts";
import type { Statements } from "./statements.ts";
import type { CommandInserts } from "./bulk-insert.ts";

// Applies one command's mutations at `version`: a function of the command and
// the rows, nothing else (no clock, no allocator, no cache). Replaced values are copied to history
// first (one INSERT ... SELECT, no round trip through JavaScript) when `keepHistory`. `shard` is the
// shard's next state, which a watch trim moves.
//
// Inserts of new inodes and names, and staged prepares (merged create_prepared requests stage one
// per file), are queued (`bulk`) and written many rows per statement, before the next mutation of
// any other kind and at the end of the command. Only their order among themselves changes: an
// insert copies nothing to history and each names a key of its own, staged rows keep no history
// and a later put of the same prepare still comes later, so the rows come out the same.

export function applyMutations(
  s: Statements,
  bulk: CommandInserts,
  mutations: readonly Mutation[],
  version: number,
  keepHistory: boolean,
  counters: WriteCounters,
  shard: ShardState,
): void {
  for (const m of mutations) {
    if (m.op === "insert" && (m.family === "inode" || m.family === "dentry")) {
      queueInsert(bulk, m, version);
      counters.currentPuts++;
      continue;
    }
    if (m.family === "staged" && m.op === "put") {
      const v = m.value;
      bulk.staged.add([m.key.mount, m.key.prepareId, v.inode, v.generation, v.keyPrefix, v.expiresAtMs, version, v.freshInode ? 1 : 0]);
      counters.currentPuts++;
      continue;
    }
    bulk.flushRows();
    applyMutation(s, m, version, keepHistory, counters, shard);
  }
  bulk.flushRows();
}

type RowInsert = Extract<Mutation, { family: "inode" | "dentry"; value: unknown }>;

function queueInsert(bulk: CommandInserts, m: RowInsert, version: number): void {
  if (m.family === "dentry") {
    bulk.dentries.add([m.key.mount, m.key.parent, m.key.name, version, m.value.inode, TYPE_CODE[m.value.type]]);
    return;
  }
  const v = m.value;
  bulk.inodes.add([
    m.key.mount, m.key.inode, version, TYPE_CODE[v.type], v.mode, v.uid, v.gid, v.sizeBytes, v.generation, v.nlink,
    v.parent, v.atimeNs, v.mtimeNs, v.ctimeNs, v.target === "" ? null : v.target, v.rdev ?? 0, v.holeBytes ?? 0,
  ]);
}

function applyMutation(
  s: Statements,
  m: Mutation,
  version: number,
  keepHistory: boolean,
  counters: WriteCounters,
  shard: ShardState,
): void {
  switch (m.family) {
    case "inode": {
      const { mount, inode } = m.key;
      if (m.op !== "insert" && keepHistory) counters.historyWrites += s.inodeCopy.run(mount, inode, version).changes;
      if (m.op === "delete") {
        counters.currentDeletes += s.inodeDelete.run(mount, inode).changes;
        return;
      }
      const v = m.value;
      (m.op === "insert" ? s.inodeInsert : s.inodeUpsert).run(
        mount, inode, version, TYPE_CODE[v.type], v.mode, v.uid, v.gid, v.sizeBytes, v.generation, v.nlink,
        v.parent, v.atimeNs, v.mtimeNs, v.ctimeNs, v.target === "" ? null : v.target, v.rdev ?? 0, v.holeBytes ?? 0,
      );
      counters.currentPuts++;
      return;
    }
    case "dentry": {
      const { mount, parent, name } = m.key;
      if (m.op !== "insert" && keepHistory) counters.historyWrites += s.dentryCopy.run(mount, parent, name, version).changes;
      if (m.op === "delete") {
        counters.currentDeletes += s.dentryDelete.run(mount, parent, name).changes;
        return;
      }
      (m.op === "insert" ? s.dentryInsert : s.dentryUpsert).run(mount, parent, name, version, m.value.inode, TYPE_CODE[m.value.type]);
      counters.currentPuts++;
      return;
    }
    case "manifest": {
      const { mount, inode, generation, chunkIndex } = m.key;
      if (m.op !== "insert" && keepHistory) {
        counters.historyWrites += s.manifestCopy.run(mount, inode, generation, chunkIndex, version).changes;
      }
      if (m.op === "delete") {
        counters.currentDeletes += s.manifestDelete.run(mount, inode, generation, chunkIndex).changes;
        return;
      }
      (m.op === "insert" ? s.manifestInsert : s.manifestUpsert).run(mount, inode, generation, chunkIndex, version, encodeManifest(m.value));
      counters.currentPuts++;
      return;
    }
    case "pin":
      if (m.op === "delete") counters.currentDeletes += s.pinDelete.run(m.key.mount, m.key.snapshotId).changes;
      else {
        s.pinUpsert.run(m.key.mount, m.key.snapshotId, m.value.rootInode, m.value.readVersion, version);
        counters.currentPuts++;
      }
      return;
    case "gc":
      if (m.op === "delete") counters.currentDeletes += s.gcDelete.run(m.key.mount, m.key.enqueueVersion, m.key.objectKey).changes;
      else counters.currentPuts += s.gcInsert.run(m.key.mount, version, m.key.objectKey).changes;
      return;
    case "staged":
      if (m.op === "delete") counters.currentDeletes += s.stagedDelete.run(m.key.mount, m.key.prepareId).changes;
      else {
        const v = m.value;
        s.stagedUpsert.run(m.key.mount, m.key.prepareId, v.inode, v.generation, v.keyPrefix, v.expiresAtMs, version, v.freshInode ? 1 : 0);
        counters.currentPuts++;
      }
      return;
    case "system":
      if (m.op === "delete") counters.currentDeletes += s.systemDelete.run(m.key.name).changes;
      else {
        s.systemUpsert.run(m.key.name, m.value.int ?? null, m.value.text ?? null);
        counters.currentPuts++;
      }
      return;
    case "orphan":
      if (m.op === "delete") counters.currentDeletes += s.orphanDelete.run(m.key.mount, m.key.inode).changes;
      else if (m.op === "renew") counters.currentPuts += s.orphanRenew.run(m.key.mount, m.key.session, m.value.expiresAtMs).changes;
      else {
        s.orphanUpsert.run(m.key.mount, m.key.inode, m.value.session, m.value.expiresAtMs, version);
        counters.currentPuts++;
      }
      return;
    case "xattr":
      if (m.op === "delete") counters.currentDeletes += s.xattrDelete.run(m.key.mount, m.key.inode, m.key.name).changes;
      else if (m.op === "deleteAll") counters.currentDeletes += s.xattrDeleteAll.run(m.key.mount, m.key.inode).changes;
      else {
        s.xattrUpsert.run(m.key.mount, m.key.inode, m.key.name, version, m.value);
        counters.currentPuts++;
      }
      return;
    case "blockref":
      addBlockRef(s, m.key.mount, m.key.objectKey, m.value.delta, version, counters);
      return;
    case "clone": {
      const { mount, parent, name } = m.key;
      const v = m.value.inode;
      s.inodeInsert.run(
        mount, v.inode, version, TYPE_CODE[v.type], v.mode, v.uid, v.gid, v.sizeBytes, v.generation, v.nlink,
        v.parent, v.atimeNs, v.mtimeNs, v.ctimeNs, v.target === "" ? null : v.target, v.rdev ?? 0, v.holeBytes ?? 0,
      );
      s.dentryInsert.run(mount, parent, name, version, v.inode, TYPE_CODE[v.type]);
      counters.currentPuts += 2;
      if (v.type === "file" && v.generation !== 0) copyBody(s, mount, v.inode, v.generation, m.value.source, m.value.at, version, counters);
      return;
    }
    case "body":
      copyBody(s, m.key.mount, m.key.inode, m.key.generation, m.value.source, m.value.at, version, counters);
      return;
    case "history": {
      const k = m.key;
      counters.currentDeletes += s.historyDelete.run(k.family, k.mount, k.k1, k.k2, k.k3, k.name, k.version).changes;
      return;
    }
    case "watch":
      // Events are read from the command log (schema version 6): a trim only moves the floor
      // below which cursors are refused; the log's own trim deletes.
      if (m.key.beforeVersion > shard.watchFloor) shard.watchFloor = m.key.beforeVersion;
      return;
    case "dedupe":
      if (m.op === "floor") {
        if (m.key.beforeVersion > shard.dedupeFloor) shard.dedupeFloor = m.key.beforeVersion;
        return;
      }
      counters.currentDeletes += s.dedupeDelete.run(storedDedupeKey(m.key.requestKey)).changes;
      return;
  }
}

/**
 * Copies the rows of `source`'s body generation as they were at `at` (current when absent) under
 * `inode`, and counts each block key they name once more. Keys of a current body already have a
 * count, so only a copy from the past can bring a key back from 0 (and off the GC queue).
 */
function copyBody(
  s: Statements,
  mount: number,
  inode: number,
  generation: number,
  source: number,
  at: number | undefined,
  version: number,
  counters: WriteCounters,
): void {
  const copied = at === undefined
    ? s.bodyCopy.run(mount, inode, generation, source, version).changes
    : s.bodyCopyAt.run(mount, inode, generation, source, version, at).changes;
  if (copied === 0) throw new Error(`metadata corrupt: inode ${source} generation ${generation} has no body rows to copy`);
  counters.currentPuts += copied;
  if (at !== undefined) counters.currentDeletes += s.bodyUnqueue.run(mount, inode, generation).changes;
  // The keys are read back in JavaScript: JSON.parse is several times cheaper than json_each.
  const keys = new Set<string>();
  for (const row of s.manifestScan.values(mount, inode, generation)) {
    if ((row[0] as number) === SUMMARY_CHUNK_INDEX) continue;
    const value = decodeManifest(row[2] as string);
    if (value.kind === "chunk") for (const block of value.chunk.blocks) keys.add(block.key);
  }
  for (const key of keys) s.refBump.run(mount, key);
  counters.currentPuts += keys.size;
}

/** A key's count moves by `delta`: at 0 it is queued for GC at `version`; back from 0 it leaves the queue. */
function addBlockRef(s: Statements, mount: number, objectKey: string, delta: number, version: number, counters: WriteCounters): void {
  const row = s.refGet.values(mount, objectKey)[0];
  const before = row ? (row[0] as number) : 0;
  const after = before + delta;
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new Error(`metadata corrupt: block '${objectKey}' of mount ${mount} would have ${after} references`);
  }
  if (after === 0) {
    counters.currentDeletes += s.refDelete.run(mount, objectKey).changes;
    counters.currentPuts += s.gcInsert.run(mount, version, objectKey).changes;
    return;
  }
  s.refUpsert.run(mount, objectKey, after);
  counters.currentPuts++;
  if (before === 0) counters.currentDeletes += s.gcCancel.run(mount, objectKey).changes;
}
