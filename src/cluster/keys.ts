// Where a cluster keeps its state in etcd. Everything lives under one root (one NoKV cluster per
// root), so several clusters can share an etcd and a test can use a fresh root.
//   <root>/shards/<shard>/epoch             the shard's leadership epoch (decimal)
//   <root>/shards/<shard>/leader            who leads: JSON LeaderRecord, held by the leader's lease
//   <root>/shards/<shard>/log/<first>       one log entry covering positions first..last
//   <root>/shards/<shard>/frag/<first>/<epoch>/<index>   one part of a command too big for an entry
//   <root>/shards/<shard>/trimmed           the position the log was trimmed through (decimal)
//   <root>/shards/<shard>/replicas/<id>     a replica's applied position, held by its lease
//   <root>/registry/<shard>                 the shard exists (listing without scanning logs)
//   <root>/checkpoints/<id>                 one checkpoint: JSON CheckpointRecord
//   <root>/maintenance/<task>               when compaction/defragmentation last ran
import { FsError } from "../types/index.ts";
import { utf8 } from "./etcd/etcd-client.ts";

/** Positions are zero-padded to 20 digits (2^64 - 1) so etcd's byte order is numeric order. */
const POSITION_DIGITS = 20;

export function padPosition(position: number): string {
  return String(position).padStart(POSITION_DIGITS, "0");
}

const ROOT_RE = /^\/[A-Za-z0-9_.\/-]{0,200}[A-Za-z0-9_.-]$/;
const REPLICA_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkRoot(root: string): string {
  if (!ROOT_RE.test(root)) throw new FsError("EINVAL", `cluster root ${JSON.stringify(root)}: expected /name (letters, digits, _ . - /)`);
  return root;
}

export function checkReplicaId(id: string): string {
  if (!REPLICA_ID_RE.test(id)) throw new FsError("EINVAL", `replica id ${JSON.stringify(id)}: expected 1-64 letters, digits, _ . -`);
  return id;
}

export function checkShard(shard: number): number {
  if (!Number.isSafeInteger(shard) || shard < 0) throw new FsError("EINVAL", `shard ${String(shard)}: expected a non-negative integer`);
  return shard;
}

export class ShardKeys {
  readonly base: string;
  constructor(
    readonly root: string,
    readonly shard: number,
  ) {
    this.base = `${checkRoot(root)}/shards/${checkShard(shard)}`;
  }
  get prefix(): Uint8Array {
    return utf8(`${this.base}/`);
  }
  get epoch(): Uint8Array {
    return utf8(`${this.base}/epoch`);
  }
  get leader(): Uint8Array {
    return utf8(`${this.base}/leader`);
  }
  get trimmed(): Uint8Array {
    return utf8(`${this.base}/trimmed`);
  }
  get logPrefix(): Uint8Array {
    return utf8(`${this.base}/log/`);
  }
  entry(first: number): Uint8Array {
    return utf8(`${this.base}/log/${padPosition(first)}`);
  }
  get fragmentsPrefix(): Uint8Array {
    return utf8(`${this.base}/frag/`);
  }
  /** The range end that stops before every fragment of `first` and later. */
  fragmentsBefore(first: number): Uint8Array {
    return utf8(`${this.base}/frag/${padPosition(first)}`);
  }
  fragmentPrefix(first: number, epoch: number): Uint8Array {
    return utf8(`${this.base}/frag/${padPosition(first)}/${epoch}/`);
  }
  fragment(first: number, epoch: number, index: number): Uint8Array {
    return utf8(`${this.base}/frag/${padPosition(first)}/${epoch}/${String(index).padStart(6, "0")}`);
  }
  get replicasPrefix(): Uint8Array {
    return utf8(`${this.base}/replicas/`);
  }
  replica(id: string): Uint8Array {
    return utf8(`${this.base}/replicas/${checkReplicaId(id)}`);
  }
  get registry(): Uint8Array {
    return utf8(`${this.root}/registry/${this.shard}`);
  }
}

export const registryPrefix = (root: string): Uint8Array => utf8(`${checkRoot(root)}/registry/`);
export const checkpointsPrefix = (root: string): Uint8Array => utf8(`${checkRoot(root)}/checkpoints/`);
export const checkpointKey = (root: string, id: string): Uint8Array => utf8(`${checkRoot(root)}/checkpoints/${id}`);
export const maintenanceKey = (root: string, task: "compact" | "defrag"): Uint8Array => utf8(`${checkRoot(root)}/maintenance/${task}`);
