// Checkpoints: a replica's whole database, copied consistently by the state machine, uploaded to
// the object store in parts, and registered in etcd with each shard's position in it. The newest
// checkpointRetainCount are kept; each shard's log is trimmed behind the oldest kept one, so any
// replica can always rebuild from a kept checkpoint plus the log after it.
import { mkdtempSync, rmSync, statSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EtcdClient } from "./etcd/etcd-client.ts";
import { prefixEnd, utf8 } from "./etcd/etcd-client.ts";
import { checkpointKey, checkpointsPrefix, checkReplicaId, padPosition } from "./keys.ts";
import { ShardLog } from "./shard-log.ts";
import type { ShardStateMachine } from "./state-machine.ts";
import type { ObjectStore } from "../objstore/index.ts";
import { FsError } from "../types/index.ts";
import { LIMITS } from "../types/limits.ts";

export interface CheckpointRecord {
  id: string;
  replicaId: string;
  createdAtMs: number;
  sizeBytes: number;
  sha256: string;
  /** Object keys of the parts, in order; their bytes joined are the database file. */
  parts: string[];
  /** Each shard's applied position in the copy (keys are shard numbers). */
  positions: Record<string, number>;
}

export interface CheckpointTarget {
  client: EtcdClient;
  root: string;
  store: ObjectStore;
}

const OBJECT_PREFIX = "cluster/checkpoints";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "nokv-checkpoint-"));
}

/** Copies the database, uploads it part by part, then registers it (a half upload is never listed). */
export async function writeCheckpoint(target: CheckpointTarget & { stateMachine: ShardStateMachine; replicaId: string }): Promise<CheckpointRecord> {
  const dir = tempDir();
  try {
    const path = join(dir, "db.sqlite");
    const positions = target.stateMachine.checkpoint(path);
    const createdAtMs = Date.now();
    const id = `${padPosition(createdAtMs)}-${checkReplicaId(target.replicaId)}`;
    const sizeBytes = statSync(path).size;
    const hasher = new Bun.CryptoHasher("sha256");
    const parts: string[] = [];
    const file = Bun.file(path);
    for (let offset = 0, index = 0; offset < sizeBytes || index === 0; offset += LIMITS.checkpointPartBytes, index++) {
      const bytes = new Uint8Array(await file.slice(offset, Math.min(sizeBytes, offset + LIMITS.checkpointPartBytes)).arrayBuffer());
      hasher.update(bytes);
      const key = `${OBJECT_PREFIX}/${id}/part-${String(index).padStart(6, "0")}`;
      await target.store.put(key, bytes);
      parts.push(key);
    }
    const record: CheckpointRecord = {
      id,
      replicaId: target.replicaId,
      createdAtMs,
      sizeBytes,
      sha256: hasher.digest("hex"),
      parts,
      positions: Object.fromEntries(Object.entries(positions).map(([shard, position]) => [shard, position])),
    };
    await target.client.put(checkpointKey(target.root, id), utf8(JSON.stringify(record)));
    return record;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Registered checkpoints, oldest first. */
export async function listCheckpoints(client: EtcdClient, root: string): Promise<CheckpointRecord[]> {
  const prefix = checkpointsPrefix(root);
  const result = await client.range(prefix, { rangeEnd: prefixEnd(prefix) });
  return result.kvs.map((kv) => JSON.parse(new TextDecoder().decode(kv.value)) as CheckpointRecord);
}

/** Downloads a checkpoint, checks its size and digest, and hands it to the state machine. */
export async function restoreCheckpoint(store: ObjectStore, record: CheckpointRecord, stateMachine: ShardStateMachine): Promise<void> {
  const dir = tempDir();
  try {
    const path = join(dir, "db.sqlite");
    const fd = openSync(path, "w");
    const hasher = new Bun.CryptoHasher("sha256");
    let sizeBytes = 0;
    try {
      for (const key of record.parts) {
        const bytes = await store.get(key);
        hasher.update(bytes);
        sizeBytes += bytes.byteLength;
        writeSync(fd, bytes);
      }
    } finally {
      closeSync(fd);
    }
    const sha256 = hasher.digest("hex");
    if (sizeBytes !== record.sizeBytes || sha256 !== record.sha256) {
      throw new FsError("EIO", `checkpoint ${record.id}: ${sizeBytes} bytes with sha256 ${sha256}, recorded ${record.sizeBytes} bytes with ${record.sha256}`);
    }
    stateMachine.restore(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Drops all but the newest `retain` checkpoints (records first, then their objects), then trims
 * each shard's log behind the oldest kept checkpoint's position for it. Returns entries trimmed.
 */
export async function pruneAndTrim(target: CheckpointTarget, shards: readonly number[], retain: number = LIMITS.checkpointRetainCount): Promise<{ removed: number; trimmedEntries: number }> {
  const all = await listCheckpoints(target.client, target.root);
  const drop = all.slice(0, Math.max(0, all.length - retain));
  for (const record of drop) {
    await target.client.deleteRange(checkpointKey(target.root, record.id));
    for (const key of record.parts) await target.store.delete(key);
  }
  const kept = all.slice(drop.length);
  let trimmedEntries = 0;
  if (kept.length === 0) return { removed: drop.length, trimmedEntries };
  for (const shard of shards) {
    // A shard missing from a kept checkpoint needs its whole log for that checkpoint.
    const through = Math.min(...kept.map((record) => record.positions[String(shard)] ?? 0));
    if (through > 0) trimmedEntries += await new ShardLog(target.client, target.root, shard).trim(through);
  }
  return { removed: drop.length, trimmedEntries };
}
