// What a replicated metad does before it joins (src/server/cluster-node.ts): restore the newest
// checkpoint into an empty data directory, or into one the log has been trimmed past, and bind
// the cluster's one object store id (kept in etcd) to this replica's database and the store.
import { Database } from "bun:sqlite";
import { mkdirSync, copyFileSync, existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { EtcdClient, ShardLog, listCheckpoints, listShards, restoreCheckpoint, type ShardStateMachine } from "../cluster/index.ts";
import { utf8 } from "../cluster/etcd/etcd-client.ts";
import { storedShardPositions } from "../schema/index.ts";
import type { MetadataService } from "../service/index.ts";
import { recordedStore } from "../service/store-identity.ts";
import { FsError } from "../types/index.ts";
import { readStoreId, type ObjectStore } from "../objstore/index.ts";
import type { ClusterConfig } from "./config.ts";

/**
 * Before the database opens: a replica with no database yet starts from the newest checkpoint
 * (then replays the log after it) instead of the whole log, which may be trimmed.
 */
export async function restoreAtStart(config: ClusterConfig, dataDir: string, objects: ObjectStore): Promise<string | null> {
  const dbPath = join(dataDir, "meta.db");
  const client = new EtcdClient({ endpoints: config.etcd });
  try {
    if (existsSync(dbPath)) {
      // A database the log has been trimmed past can only be replaced: it is kept aside, not deleted.
      const behind = await behindTrimmedLog(client, config.root, dbPath);
      if (behind === null) return null;
      const aside = `${dbPath}.behind-${Date.now()}`;
      for (const suffix of ["", "-wal", "-shm"]) if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, aside + suffix);
      console.error(`metad: ${behind}; the database moved to ${aside}, restoring the newest checkpoint`);
    }
    const latest = (await listCheckpoints(client, config.root)).at(-1);
    if (!latest) return null;
    mkdirSync(dataDir, { recursive: true });
    const fileRestore: ShardStateMachine = {
      appliedPosition: () => 0,
      applyEntry: () => {
        throw new Error("not applying here");
      },
      checkpoint: () => ({}),
      restore: (path) => copyFileSync(path, dbPath),
    };
    await restoreCheckpoint(objects, latest, fileRestore);
    return latest.id;
  } finally {
    client.close();
  }
}

/** Why the database at `dbPath` cannot catch up from the log (a shard behind its trimmed part), or null. */
async function behindTrimmedLog(client: EtcdClient, root: string, dbPath: string): Promise<string | null> {
  const db = new Database(dbPath, { readonly: true });
  let shards: { shard: number; version: number }[];
  try {
    shards = storedShardPositions(db);
  } catch {
    return null;
  } finally {
    db.close();
  }
  // A shard the cluster registered that this database never saw counts as at position 0: joining
  // would have to replay it from the start, which trimming may have removed.
  const positions = new Map(shards.map(({ shard, version }) => [shard, version]));
  for (const shard of await listShards(client, root)) if (!positions.has(shard)) positions.set(shard, 0);
  for (const [shard, version] of positions) {
    const { trimmedThrough } = await new ShardLog(client, root, shard).tail();
    if (trimmedThrough > version) return `shard ${shard} is at position ${version}, the log is trimmed through ${trimmedThrough}`;
  }
  return null;
}


/**
 * The cluster's object store id lives in etcd (the first replica to start creates it), so every
 * replica binds the same store; the catalog's leader records it in the replicated catalog. A
 * database or store carrying another id is refused (EXDEV naming both).
 */
export async function bindClusterStore(config: ClusterConfig, service: MetadataService, objects: ObjectStore, writeId: (id: string) => Promise<void>): Promise<string> {
  const client = new EtcdClient({ endpoints: config.etcd });
  let id: string;
  try {
    const key = utf8(`${config.root}/store-id`);
    const fresh = crypto.randomUUID();
    const result = await client.txn([{ key, target: "CREATE", number: 0 }], [{ put: { key, value: utf8(fresh) } }], [{ range: { key } }]);
    id = result.succeeded ? fresh : new TextDecoder().decode(result.responses[0]!.kvs![0]!.value);
  } finally {
    client.close();
  }
  const recorded = recordedStore(service.store).id;
  if (recorded !== null && recorded !== id) throw new FsError("EXDEV", `this replica's database belongs to object store ${recorded}, the cluster's is ${id}`);
  const found = await readStoreId(objects);
  if (found === null) await writeId(id);
  else if (found !== id) throw new FsError("EXDEV", `object store ${objects.url} carries id ${found}, the cluster's is ${id}: another cluster's store`);
  return id;
}
