// metad's part in a replicated cluster (docs/cluster.md, "metad in a cluster"). One Replica per
// process; every mount is a shard (0 is the catalog) with its own leader.
//
// Writes on a leader: a group's commands are built by running its requests in a SQLite
// transaction that is then rolled back (a dry run: the builders read the rows earlier commands of
// the group wrote), appended to etcd fenced by the shard's epoch, and applied through the same
// logged-apply path followers use once etcd accepted them. Only then do the clients hear back.
// Groups are serialized: the next one is built on the state the previous one left. A refused or
// failed append leaves nothing behind (the dry run was rolled back and nothing was applied), the
// ShardReplica steps down, and the clients get EAGAIN naming the leader; they retry with their
// request keys, which the dedupe rows (replicated with the commands) answer exactly once.
import { EtcdClient, NotLeaderError, Replica, listShards } from "../cluster/index.ts";
import { CATALOG_SHARD, encodeCommand, type MetadataCommand } from "../schema/index.ts";
import type { GcReport, MetadataService } from "../service/index.ts";
import { recordedStore, recordStoreId } from "../service/store-identity.ts";
import { DEFAULT_MOUNT_NAME, FsError, LIMITS } from "../types/index.ts";
import type { ObjectStore } from "../objstore/index.ts";
import type { WireRequest } from "../wire/index.ts";
import type { ClusterConfig } from "./config.ts";
import type { ClusterStore } from "./cluster-store.ts";
import { CoreStateMachine } from "./cluster-state-machine.ts";

const DRY_RUN = Symbol("cluster dry run");

export interface ClusterNodeOptions {
  config: ClusterConfig;
  /** host:port clients are sent to for this replica. */
  address: string;
  service: MetadataService;
  store: ClusterStore;
  objects: ObjectStore;
  onError?: (err: unknown) => void;
}

/** How a request may be served here (see ClusterNode.route). */
export type Route = { serve: true } | { serve: false; error: FsError };

export class ClusterNode {
  private readonly sm: CoreStateMachine;
  private captured: MetadataCommand[] | null = null;
  /** Groups build and append one at a time: each is built on the state the one before left. */
  private chain: Promise<unknown> = Promise.resolve();
  private leaderTasks: ReturnType<typeof setInterval> | null = null;
  private leaderTaskRunning = false;
  private handOffTimer: ReturnType<typeof setInterval> | null = null;
  storeId = "";

  private constructor(
    private readonly options: ClusterNodeOptions,
    readonly replica: Replica,
    sm: CoreStateMachine,
  ) {
    this.sm = sm;
  }

  static async start(options: ClusterNodeOptions & { storeId: string }): Promise<ClusterNode> {
    const { config, service } = options;
    const sm = new CoreStateMachine(service, options.store);
    const client = new EtcdClient({ endpoints: config.etcd });
    const shards = new Set<number>([CATALOG_SHARD, ...service.mounts.list().map((m) => m.id)]);
    for (const shard of await listShards(client, config.root)) shards.add(shard);
    client.close();
    const replica = await Replica.start({
      etcd: config.etcd,
      root: config.root,
      replicaId: config.replicaId,
      address: options.address,
      stateMachine: sm,
      shards: [...shards].sort((a, b) => a - b),
      objectStore: options.objects,
      checkpointIntervalMs: config.checkpointIntervalMs ?? LIMITS.checkpointIntervalDefaultMs,
      maintenance: true,
      ...(config.preferLead ? { preferLead: config.preferLead } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
    const node = new ClusterNode(options, replica, sm);
    // Captures each command a dry run builds; a mount the catalog learns of becomes a shard here.
    service.core.addProjection({
      applied: (c) => {
        if (node.captured) node.captured.push(c);
        else node.followMounts(c);
      },
      reload: () => {},
    });
    node.storeId = options.storeId;
    node.leaderTasks = setInterval(() => void node.runLeaderTasks(), LIMITS.replicaPollIntervalMs / 5);
    if (config.preferLead) {
      let running = false;
      node.handOffTimer = setInterval(() => {
        if (running) return;
        running = true;
        // Between groups, so no group is cut by the hand-off.
        void node.chain
          .then(() => replica.handOff())
          .catch((err: unknown) => options.onError?.(err))
          .finally(() => (running = false));
      }, LIMITS.replicaReportIntervalMs);
    }
    return node;
  }

  private followMounts(command: MetadataCommand): void {
    if (command.shard !== CATALOG_SHARD) return;
    for (const m of command.mutations) {
      if (m.family === "system" && m.op === "put" && m.key.name.startsWith("mount:") && m.value.int !== undefined) this.replica.addShard(m.value.int);
    }
  }

  /** What only the catalog's leader does: create the default mount, record the store id. */
  private async runLeaderTasks(): Promise<void> {
    if (this.leaderTaskRunning || !this.leadsNow(CATALOG_SHARD)) return;
    this.leaderTaskRunning = true;
    try {
      const { service } = this.options;
      if (!service.mounts.list().some((m) => m.name === DEFAULT_MOUNT_NAME)) await this.commitGroup(() => service.mounts.bootstrap());
      if (recordedStore(service.store).id === null) await this.commitGroup(() => recordStoreId(service, this.storeId, this.options.objects.url));
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.leaderTaskRunning = false;
    }
  }

  private leadsNow(shard: number): boolean {
    try {
      return this.replica.shard(shard).canServeLinearizable();
    } catch {
      return false;
    }
  }

  /** EAGAIN naming the shard's leader (the SDK follows it), or saying none is elected yet. */
  redirect(shard: number): FsError {
    let known: { replicaId: string; address: string; epoch: number } | null = null;
    try {
      known = this.replica.shard(shard).knownLeader;
    } catch {
      known = null;
    }
    if (known && known.replicaId !== this.options.config.replicaId) {
      return new NotLeaderError(shard, `not the leader; leader is ${known.replicaId} at ${known.address} (epoch ${known.epoch})`);
    }
    return new NotLeaderError(shard, "not the leader; no leader elected yet");
  }

  /**
   * Whether this replica serves a request: writes and current reads of a mount on its leader
   * while its lease holds; snapshot reads (a fixed version) on any replica that applied the
   * snapshot; requests that name no mount (hello, listing mounts) anywhere.
   */
  route(request: WireRequest, isWrite: boolean): Route {
    const args = (request.op === "batch" ? ((request.args.ops as Array<{ args?: Record<string, unknown> }> | undefined)?.[0]?.args ?? {}) : request.args) as Record<string, unknown>;
    const mount = typeof args.mount === "number" ? args.mount : null;
    if (mount === null && !isWrite) return { serve: true };
    const shard = mount ?? CATALOG_SHARD;
    // A snapshot read is a read at the snapshot's version: any replica whose log has reached the
    // snapshot's pin (so also its read version) serves it; one that has not sends it on.
    if (!isWrite && typeof args.snapshot === "number" && mount !== null && this.hasSnapshot(mount, args.snapshot)) return { serve: true };
    return this.leadsNow(shard) ? { serve: true } : { serve: false, error: this.redirect(shard) };
  }

  private hasSnapshot(mount: number, snapshotId: number): boolean {
    try {
      this.options.service.snapshots.get(mount, snapshotId);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs `build` as one group: a dry run that yields its value and its commands, then each
   * shard's commands appended (fenced) and applied. Resolves with the value only after etcd
   * accepted every command; rejects (EAGAIN naming the leader, or the append's error) otherwise.
   */
  commitGroup<T>(build: () => T, keep?: (shard: number) => boolean): Promise<T> {
    const run = this.chain.then(() => this.buildAndAppend(build, keep));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Metadata GC (history, watch-log and dedupe trims, expired orphans) for the shards this
   * replica leads: each shard's leader collects its own, through its log like any write. The
   * command log's own trim is local upkeep, not a command, so every replica does it. Object GC
   * (deleting unreferenced blocks) does not run on replicas yet.
   */
  async collectMetadataGarbage(logRetainVersions: number): Promise<GcReport> {
    const { service, store } = this.options;
    const report = await this.commitGroup(() => service.gc.collectMetadata(), (shard) => this.leadsNow(shard));
    report.logEntriesTrimmed = 0;
    await this.chain;
    for (const shard of store.shards()) {
      const before = shard.version - logRetainVersions;
      if (before > shard.logFloor) report.logEntriesTrimmed += store.trimLog(shard.shard, before, LIMITS.gcPassMaxRows);
    }
    return report;
  }

  private async buildAndAppend<T>(build: () => T, keep?: (shard: number) => boolean): Promise<T> {
    const { service, store } = this.options;
    const captured: MetadataCommand[] = [];
    let value: T | undefined;
    this.captured = captured;
    store.building = true;
    try {
      service.core.group(() => {
        value = build();
        throw DRY_RUN;
      });
    } catch (err) {
      if (err !== DRY_RUN) throw err;
    } finally {
      store.building = false;
      this.captured = null;
    }
    if (captured.length === 0) return value as T;
    // Shards in first-use order: a new mount's own log gets its root before the catalog names it.
    const byShard = new Map<number, Uint8Array[]>();
    for (const c of captured) {
      // A pass over every shard (GC) keeps only what this replica may append; each shard's own
      // commands stand alone, so dropping another shard's changes nothing about them.
      if (keep && !keep(c.shard)) continue;
      let list = byShard.get(c.shard);
      if (!list) byShard.set(c.shard, (list = []));
      list.push(encodeCommand(c));
    }
    this.sm.deferEvents = true;
    try {
      for (const [shard, commands] of byShard) {
        await this.ensureLeading(shard);
        await this.replica.propose(shard, commands);
      }
    } finally {
      this.sm.deferEvents = false;
    }
    return value as T;
  }

  /** A shard this group touches must be led here; a brand-new one (a new mount) is campaigned for. */
  private async ensureLeading(shard: number): Promise<void> {
    const fresh = !this.replica.shardIds.includes(shard);
    const s = this.replica.addShard(shard);
    if (s.role === "leader") return;
    if (!fresh) throw this.redirect(shard);
    try {
      await this.replica.waitLeader(shard, LIMITS.clusterNewShardLeadTimeoutMs);
    } catch {
      throw this.redirect(shard);
    }
  }

  /** /readyz: the replica's reasons, and a catalog without its default mount yet. */
  readiness(): { ready: boolean; reasons: string[] } {
    const { ready, reasons } = this.replica.readiness();
    if (!this.options.service.mounts.list().some((m) => m.name === DEFAULT_MOUNT_NAME)) return { ready: false, reasons: [...reasons, "the catalog has no default mount yet"] };
    return { ready, reasons };
  }

  status() {
    return { replicaId: this.options.config.replicaId, address: this.options.address, shards: this.replica.status() };
  }

  async stop(): Promise<void> {
    if (this.leaderTasks) clearInterval(this.leaderTasks);
    if (this.handOffTimer) clearInterval(this.handOffTimer);
    await this.chain;
    await this.replica.stop();
  }
}

