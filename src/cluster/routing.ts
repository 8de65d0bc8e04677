// Who leads what, read from etcd: for `nokv-fs cluster status` and for redirecting clients to a
// shard's leader. Readable through any member; needs no replica.
import type { EtcdClient } from "./etcd/etcd-client.ts";
import { prefixEnd } from "./etcd/etcd-client.ts";
import { registryPrefix, ShardKeys } from "./keys.ts";
import { ShardLog } from "./shard-log.ts";
import type { LeaderRecord } from "./shard-replica.ts";

export interface ReplicaReport {
  replicaId: string;
  address: string;
  applied: number;
  role: string;
  /** The replica prefers to lead this shard (--prefer-lead); a non-preferred leader hands it over. */
  preferred?: boolean;
  /** Positions the replica is behind the log's tail. */
  lag: number;
}

export interface ShardRoute {
  shard: number;
  leader: LeaderRecord | null;
  epoch: number;
  /** Last position in the log, and the position it is trimmed through. */
  tail: number;
  trimmedThrough: number;
  replicas: ReplicaReport[];
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The leader of one shard, or null while none is elected. */
export async function readLeader(client: EtcdClient, root: string, shard: number): Promise<LeaderRecord | null> {
  const kv = await client.get(new ShardKeys(root, shard).leader);
  return kv ? (JSON.parse(text(kv.value)) as LeaderRecord) : null;
}

/** Shards that ever had a leader. */
export async function listShards(client: EtcdClient, root: string): Promise<number[]> {
  const prefix = registryPrefix(root);
  const result = await client.range(prefix, { rangeEnd: prefixEnd(prefix), keysOnly: true });
  const prefixLength = prefix.byteLength;
  return result.kvs.map((kv) => Number(text(kv.key.subarray(prefixLength)))).sort((a, b) => a - b);
}

export async function readRoute(client: EtcdClient, root: string, shard: number): Promise<ShardRoute> {
  const keys = new ShardKeys(root, shard);
  const [leader, epochKv, tail, reports] = await Promise.all([
    readLeader(client, root, shard),
    client.get(keys.epoch),
    new ShardLog(client, root, shard).tail(),
    client.range(keys.replicasPrefix, { rangeEnd: prefixEnd(keys.replicasPrefix) }),
  ]);
  const replicas = reports.kvs.map((kv) => {
    const r = JSON.parse(text(kv.value)) as Omit<ReplicaReport, "lag">;
    return { replicaId: r.replicaId, address: r.address, applied: r.applied, role: r.role, ...(r.preferred === undefined ? {} : { preferred: r.preferred }), lag: Math.max(0, tail.last - r.applied) };
  });
  return { shard, leader, epoch: epochKv ? Number(text(epochKv.value)) : 0, tail: tail.last, trimmedThrough: tail.trimmedThrough, replicas };
}

/** Every registered shard's route (the cluster status). */
export async function readRoutes(client: EtcdClient, root: string): Promise<ShardRoute[]> {
  return await Promise.all((await listShards(client, root)).map((shard) => readRoute(client, root, shard)));
}
