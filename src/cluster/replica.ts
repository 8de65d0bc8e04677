// A replica: one metad's share of the cluster. It holds one lease session, one state machine (its
// SQLite database) and a ShardReplica per shard it serves; it restores a checkpoint when its
// database is empty or behind the trimmed log, publishes its applied positions, and checkpoints on
// a schedule.
import { EtcdClient, utf8 } from "./etcd/etcd-client.ts";
import { listCheckpoints, pruneAndTrim, restoreCheckpoint, writeCheckpoint, type CheckpointRecord } from "./checkpoints.ts";
import { LogTrimmedError, NotLeaderError } from "./errors.ts";
import { checkReplicaId, checkRoot, checkShard, ShardKeys } from "./keys.ts";
import { LeaseSession } from "./lease-session.ts";
import { readRoute } from "./routing.ts";
import { EtcdMaintenance } from "./maintenance.ts";
import { ShardLog } from "./shard-log.ts";
import { ShardReplica } from "./shard-replica.ts";
import type { ShardStateMachine } from "./state-machine.ts";
import type { ObjectStore } from "../objstore/index.ts";
import { FsError } from "../types/index.ts";
import { LIMITS } from "../types/limits.ts";

export interface ReplicaOptions {
  /** etcd client URLs (the replica makes its own client) or a client to share. */
  etcd: string[] | EtcdClient;
  /** The cluster's key prefix in etcd, e.g. /nokv. */
  root: string;
  replicaId: string;
  /** Where clients reach this replica's metad (routing hands it out). */
  address: string;
  stateMachine: ShardStateMachine;
  shards: readonly number[];
  /** Where checkpoints go; without one the replica neither checkpoints nor restores. */
  objectStore?: ObjectStore;
  /** 0 turns scheduled checkpoints off. */
  checkpointIntervalMs?: number;
  /** false: follow only, never lead. */
  campaign?: boolean;
  /**
   * Shards this replica campaigns for at once; for the others it lets a leaderless shard wait
   * replicaCampaignDeferMs first, so the preferred replica wins when it is alive. Absent: all.
   */
  preferLead?: readonly number[];
  /** Runs etcd compaction/defragmentation on their schedule (every replica may; they coordinate). */
  maintenance?: boolean;
  onError?: (err: unknown) => void;
}

export interface ReplicaShardStatus {
  shard: number;
  role: string;
  applied: number;
  epoch: number;
  leader: string | null;
}

export class Replica {
  readonly client: EtcdClient;
  readonly session: LeaseSession;
  private shards = new Map<number, ShardReplica>();
  private timers: ReturnType<typeof setInterval>[] = [];
  private maintenance: EtcdMaintenance | null = null;
  private resyncing: Promise<void> | null = null;
  private readonly ownsClient: boolean;
  private stopped = false;
  private readonly reported = new Map<number, string>();

  private constructor(private options: ReplicaOptions) {
    checkRoot(options.root);
    checkReplicaId(options.replicaId);
    for (const shard of options.shards) checkShard(shard);
    this.ownsClient = Array.isArray(options.etcd);
    this.client = Array.isArray(options.etcd) ? new EtcdClient({ endpoints: options.etcd }) : options.etcd;
    this.session = new LeaseSession(this.client);
  }

  static async start(options: ReplicaOptions): Promise<Replica> {
    const replica = new Replica(options);
    await replica.restoreIfNeeded();
    replica.startShards();
    replica.timers.push(setInterval(() => void replica.report().catch((err: unknown) => replica.options.onError?.(err)), LIMITS.replicaReportIntervalMs));
    const checkpointMs = options.checkpointIntervalMs ?? (options.objectStore ? LIMITS.checkpointIntervalDefaultMs : 0);
    if (checkpointMs > 0 && options.objectStore) {
      replica.timers.push(setInterval(() => void replica.checkpoint().catch((err: unknown) => replica.options.onError?.(err)), checkpointMs));
    }
    if (options.maintenance) replica.maintenance = EtcdMaintenance.start({ client: replica.client, root: options.root, ...(options.onError ? { onError: options.onError } : {}) });
    return replica;
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  shard(shard: number): ShardReplica {
    const replica = this.shards.get(shard);
    if (!replica) throw new FsError("EINVAL", `shard ${shard}: not served by replica ${this.options.replicaId}`);
    return replica;
  }

  isLeader(shard: number): boolean {
    return this.shard(shard).role === "leader";
  }

  /** Appends and applies a group of commands on a shard this replica leads. */
  async propose(shard: number, commands: readonly Uint8Array[]): Promise<{ first: number; last: number }> {
    if (this.resyncing) throw new NotLeaderError(shard, "replica is restoring a checkpoint");
    return await this.shard(shard).propose(commands);
  }

  /** Resolves once this replica leads `shard` (tests, and a metad waiting to serve). */
  async waitLeader(shard: number, timeoutMs: number): Promise<void> {
    // Polled: leadership changes are rare and this is for startup and tests.
    const deadline = performance.now() + timeoutMs;
    while (this.shard(shard).role !== "leader") {
      if (performance.now() > deadline) throw new FsError("ETIMEDOUT", `shard ${shard}: replica ${this.options.replicaId} not leader after ${timeoutMs} ms`);
      await Bun.sleep(10);
    }
  }

  status(): ReplicaShardStatus[] {
    return [...this.shards.values()].map((s) => ({ shard: s.shard, role: s.role, applied: s.applied, epoch: s.epoch, leader: s.knownLeader?.address ?? null }));
  }

  /**
   * Whether this replica should take traffic (/readyz): not while it restores a checkpoint, has a
   * shard stopped, lags a shard's log by more than replicaReadyLagMaxPositions, has not read a
   * shard's log for replicaReadyStaleMs (etcd unreachable), or leads a shard
   * without a valid lease (about to be fenced). Each reason names its shard.
   */
  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.resyncing) reasons.push("restoring a checkpoint");
    for (const shard of this.options.shards) {
      const s = this.shards.get(shard);
      if (!s || s.role === "stopped") reasons.push(`shard ${shard}: not running`);
      else if (s.lag > LIMITS.replicaReadyLagMaxPositions) reasons.push(`shard ${shard}: ${s.lag} positions behind the log`);
      else if (performance.now() - s.lastSyncMs > LIMITS.replicaReadyStaleMs) reasons.push(`shard ${shard}: no word from etcd for ${Math.round(performance.now() - s.lastSyncMs)} ms (lag unknown)`);
      else if (s.role === "leader" && !s.canServeLinearizable()) reasons.push(`shard ${shard}: leader lease not confirmed`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  /** Writes a checkpoint now, then drops old ones and trims the logs behind the oldest kept. */
  async checkpoint(): Promise<CheckpointRecord> {
    const store = this.requireStore();
    const record = await writeCheckpoint({ client: this.client, root: this.options.root, store, stateMachine: this.options.stateMachine, replicaId: this.options.replicaId });
    await pruneAndTrim({ client: this.client, root: this.options.root, store }, this.options.shards);
    return record;
  }

  private requireStore(): ObjectStore {
    if (!this.options.objectStore) throw new FsError("EINVAL", `replica ${this.options.replicaId}: no object store for checkpoints`);
    return this.options.objectStore;
  }

  /**
   * Restores the newest checkpoint when this database is empty (faster than replaying) or behind
   * what the log still holds for some shard (the only way forward).
   */
  private async restoreIfNeeded(): Promise<void> {
    const store = this.options.objectStore;
    const sm = this.options.stateMachine;
    const behind = async () => {
      const out: { shard: number; trimmedThrough: number }[] = [];
      for (const shard of this.options.shards) {
        const { trimmedThrough } = await new ShardLog(this.client, this.options.root, shard).tail();
        if (trimmedThrough > sm.appliedPosition(shard)) out.push({ shard, trimmedThrough });
      }
      return out;
    };
    const lagging = await behind();
    const empty = this.options.shards.every((shard) => sm.appliedPosition(shard) === 0);
    if (!store || (lagging.length === 0 && !empty)) {
      if (lagging.length > 0) throw new LogTrimmedError(lagging[0]!.shard, sm.appliedPosition(lagging[0]!.shard) + 1, lagging[0]!.trimmedThrough);
      return;
    }
    const latest = (await listCheckpoints(this.client, this.options.root)).at(-1);
    if (latest) await restoreCheckpoint(store, latest, sm);
    const still = await behind();
    if (still.length > 0) throw new LogTrimmedError(still[0]!.shard, sm.appliedPosition(still[0]!.shard) + 1, still[0]!.trimmedThrough);
  }

  /** Whether this replica should lead `shard` when it can (--prefer-lead; without it, every shard). */
  prefers(shard: number): boolean {
    return this.options.preferLead === undefined || this.options.preferLead.includes(shard);
  }

  /**
   * Hands shards this replica leads but does not prefer to a live replica that prefers them and
   * has applied as far: it resigns, the preferred one campaigns at once, this one only after
   * replicaCampaignDeferMs. So mounts spread over replicas as configured, also after a failover.
   */
  async handOff(): Promise<number[]> {
    const handed: number[] = [];
    if (this.options.preferLead === undefined) return handed;
    for (const s of this.shards.values()) {
      if (s.role !== "leader" || this.prefers(s.shard)) continue;
      const route = await readRoute(this.client, this.options.root, s.shard);
      const heir = route.replicas.find((r) => r.replicaId !== this.options.replicaId && r.preferred === true && r.applied >= s.applied);
      if (heir && (await s.resign())) handed.push(s.shard);
    }
    return handed;
  }

  /** Starts following (and campaigning for) a shard created after start, e.g. a new mount. */
  addShard(shard: number): ShardReplica {
    checkShard(shard);
    const known = this.shards.get(shard);
    if (known) return known;
    if (!this.options.shards.includes(shard)) this.options = { ...this.options, shards: [...this.options.shards, shard] };
    return this.startShard(shard);
  }

  get shardIds(): number[] {
    return [...this.options.shards];
  }

  private startShards(): void {
    for (const shard of this.options.shards) this.startShard(shard);
  }

  private startShard(shard: number): ShardReplica {
    {
      const prefer = this.options.preferLead;
      const replica = new ShardReplica({
        client: this.client,
        root: this.options.root,
        shard,
        replicaId: this.options.replicaId,
        address: this.options.address,
        stateMachine: this.options.stateMachine,
        session: this.session,
        ...(this.options.campaign === false ? { campaign: false } : {}),
        ...(prefer !== undefined && !prefer.includes(shard) ? { campaignDeferMs: LIMITS.replicaCampaignDeferMs } : {}),
        onTrimmed: () => void this.resync(),
        ...(this.options.onError ? { onError: this.options.onError } : {}),
      });
      this.shards.set(shard, replica);
      replica.start();
      return replica;
    }
  }

  /** The log moved past this replica while it ran: stop every shard, restore, follow again. */
  private resync(): Promise<void> {
    this.resyncing ??= (async () => {
      try {
        await Promise.all([...this.shards.values()].map((s) => s.stop()));
        this.shards.clear();
        if (this.stopped) return;
        await this.restoreIfNeeded();
        this.startShards();
      } catch (err) {
        this.options.onError?.(err);
      } finally {
        this.resyncing = null;
      }
    })();
    return this.resyncing;
  }

  /** Publishes each shard's applied position under the session lease (gone when this replica is). */
  private async report(): Promise<void> {
    const leaseId = await this.session.lease();
    for (const s of this.shards.values()) {
      const value = JSON.stringify({ replicaId: this.options.replicaId, address: this.options.address, applied: s.applied, role: s.role, preferred: this.prefers(s.shard) });
      // Unchanged reports are not rewritten: each put is an etcd revision to compact later.
      const reported = `${leaseId} ${value}`;
      if (this.reported.get(s.shard) === reported) continue;
      await this.client.put(new ShardKeys(this.options.root, s.shard).replica(this.options.replicaId), utf8(value), leaseId);
      this.reported.set(s.shard, reported);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.maintenance?.stop();
    const drained = (async () => {
      await this.resyncing;
      await Promise.all([...this.shards.values()].map((s) => s.stop()));
      await this.session.close();
    })();
    // A call stuck on an unresponsive etcd must not hold the stop forever: the loops are aborted
    // and end when it returns, and the session's lease expires by itself.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, LIMITS.replicaStopMaxMs)));
    await Promise.race([drained.catch(() => undefined), late]);
    clearTimeout(timer);
    if (this.ownsClient) this.client.close();
  }
}
