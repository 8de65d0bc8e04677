// One shard on one replica: follows the log into the state machine, campaigns when the shard has
// no leader, and while leading appends groups of commands (fenced) and applies them locally
// before the caller hears back. Every apply goes through applyIfNext, so the watch, the catch-up
// reads and the leader's own appends can race without applying an entry twice or out of order.
import type { EtcdClient, WatchEvent } from "./etcd/etcd-client.ts";
import { utf8 } from "./etcd/etcd-client.ts";
import { splitIntoEntries, type LogEntry } from "./entry-codec.ts";
import { LogTrimmedError, NotLeaderError } from "./errors.ts";
import { FsError } from "../types/index.ts";
import type { LeaseSession } from "./lease-session.ts";
import { ShardLog, type Fence } from "./shard-log.ts";
import type { ShardStateMachine } from "./state-machine.ts";
import { LIMITS } from "../types/limits.ts";

export interface LeaderRecord {
  replicaId: string;
  /** Where clients reach the leader (host:port of its metad). */
  address: string;
  epoch: number;
}

export type ShardRole = "follower" | "leader" | "stopped";

export interface ShardReplicaOptions {
  client: EtcdClient;
  root: string;
  shard: number;
  replicaId: string;
  address: string;
  stateMachine: ShardStateMachine;
  session: LeaseSession;
  /** Followers only follow; they never campaign (a read replica). */
  campaign?: boolean;
  /** Campaign only after the shard has had no leader this long (another replica is preferred). */
  campaignDeferMs?: number;
  /** Called when the log was trimmed past this replica: the owner restores a checkpoint. */
  onTrimmed?: (err: LogTrimmedError) => void;
  onError?: (err: unknown) => void;
}

interface Proposal {
  commands: readonly Uint8Array[];
  resolve: (positions: { first: number; last: number }) => void;
  reject: (err: Error) => void;
}

const decodeLeader = (bytes: Uint8Array): LeaderRecord => JSON.parse(new TextDecoder().decode(bytes)) as LeaderRecord;

export class ShardReplica {
  readonly log: ShardLog;
  role: ShardRole = "follower";
  private fence: Fence | null = null;
  private leader: LeaderRecord | null = null;
  /** The highest position this replica has seen in the log (watch, reads, its own appends). */
  private seenTail = 0;
  private readonly appliedWaiters = new Map<() => void, number>();
  /** Leader only: proposals waiting for the append in flight to finish, packed into the next. */
  private queue: Proposal[] = [];
  private pumping = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private watchRevision = 0;
  /** When this replica first saw the shard without a leader (campaignDeferMs counts from it). */
  private leaderlessSinceMs: number | null = null;
  /** When this replica last heard from the log (a read or a watch event): it cannot know its lag without it. */
  lastSyncMs = performance.now();
  /** After a hand-off: this replica does not campaign before then. */
  private noCampaignUntilMs = 0;

  constructor(private readonly options: ShardReplicaOptions) {
    this.log = new ShardLog(options.client, options.root, options.shard);
    options.session.onLost(() => this.stepDown("leader lease lost"));
  }

  get shard(): number {
    return this.options.shard;
  }

  get applied(): number {
    return this.options.stateMachine.appliedPosition(this.options.shard);
  }

  /** The leader as last seen in etcd (this replica when it leads). */
  get knownLeader(): LeaderRecord | null {
    return this.leader;
  }

  get epoch(): number {
    return this.fence?.epoch ?? this.leader?.epoch ?? 0;
  }

  /** True while this replica leads and its lease holds by the local clock: linearizable reads. */
  canServeLinearizable(): boolean {
    return this.role === "leader" && this.options.session.valid();
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.role = "stopped";
    this.abort.abort();
    this.wake?.();
    await this.loop;
    for (const p of this.queue.splice(0)) p.reject(new NotLeaderError(this.shard, "replica stopped"));
  }

  /**
   * Appends a group of commands and applies them here; resolves with their positions once etcd
   * accepted them and they are applied. One append is in flight per shard; groups proposed
   * meanwhile are packed together into the next entries (split where an entry would pass etcd's
   * request limit), so a busy leader appends fewer, larger entries. NotLeaderError when this
   * replica does not lead (its message names the leader when one is known).
   */
  propose(commands: readonly Uint8Array[]): Promise<{ first: number; last: number }> {
    if (this.role !== "leader" || this.fence === null || this.options.session.held() !== this.fence.leaseId) {
      return Promise.reject(new NotLeaderError(this.shard, this.notLeaderMessage()));
    }
    if (commands.length === 0) return Promise.reject(new FsError("EINVAL", `shard ${this.shard}: empty group`));
    // A command no entry can hold fails here, alone, not the batch it would have joined.
    splitIntoEntries(commands);
    return new Promise((resolve, reject) => {
      this.queue.push({ commands, resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) await this.appendBatch(this.queue.splice(0, this.queue.length));
    } finally {
      this.pumping = false;
    }
  }

  /** Appends the batch's commands entry by entry, settling each proposal as its last command lands. */
  private async appendBatch(batch: Proposal[]): Promise<void> {
    const runs = splitIntoEntries(batch.flatMap((p) => p.commands));
    const first = this.applied + 1;
    let committed = 0;
    let settled = 0;
    const settle = (failure: ((p: Proposal, committedOfIt: number) => Error) | null) => {
      let offset = batch.slice(0, settled).reduce((n, p) => n + p.commands.length, 0);
      for (; settled < batch.length; settled++) {
        const p = batch[settled]!;
        if (failure === null && offset + p.commands.length > committed) return;
        if (failure === null) p.resolve({ first: first + offset, last: first + offset + p.commands.length - 1 });
        else p.reject(failure(p, Math.max(0, Math.min(p.commands.length, committed - offset))));
        offset += p.commands.length;
      }
    };
    for (const run of runs) {
      const fence = this.fence;
      if (this.role !== "leader" || fence === null || this.options.session.held() !== fence.leaseId) {
        const why = this.notLeaderMessage();
        return settle((_, done) => new NotLeaderError(this.shard, why, done));
      }
      try {
        this.applyIfNext(await this.log.append(fence, this.applied + 1, run));
      } catch (err) {
        // Refused, or no member answered (the entry may or may not be in): either way this
        // leadership is over; the follower loop reads what did land.
        this.stepDown(err instanceof NotLeaderError ? err.message : `append failed: ${String(err)}`);
        const why = err instanceof NotLeaderError ? err.message.replace(/^shard \d+: /, "") : null;
        return settle((_, done) => (why !== null ? new NotLeaderError(this.shard, why, done) : (err as Error)));
      }
      committed += run.length;
      settle(null);
    }
  }

  private notLeaderMessage(): string {
    const leader = this.leader;
    return leader && leader.replicaId !== this.options.replicaId
      ? `not the leader; leader is ${leader.replicaId} at ${leader.address} (epoch ${leader.epoch})`
      : "not the leader; no leader elected yet";
  }

  private applyIfNext(entry: LogEntry): boolean {
    this.seenTail = Math.max(this.seenTail, entry.last);
    const applied = this.applied;
    if (entry.last <= applied) return false;
    if (entry.first !== applied + 1) return false;
    try {
      this.options.stateMachine.applyEntry(this.shard, entry);
    } catch (err) {
      // The state machine broke an invariant: this replica stops serving the shard rather than
      // diverge from the others, loudly, and reports not ready until an operator looks.
      this.halt(new Error(`shard ${this.shard}: applying entry ${entry.first}..${entry.last} failed: ${String(err)}`));
      throw err;
    }
    for (const [waiter, position] of this.appliedWaiters) {
      if (position <= entry.last) {
        this.appliedWaiters.delete(waiter);
        waiter();
      }
    }
    return true;
  }

  private halt(err: Error): void {
    if (this.role === "leader" && this.fence) void this.resignKey(this.fence).catch(() => undefined);
    this.role = "stopped";
    this.fence = null;
    this.abort.abort();
    this.wake?.();
    for (const p of this.queue.splice(0)) p.reject(err);
    this.options.onError?.(err);
  }

  /** Positions in the log this replica knows of and has not applied yet. */
  get lag(): number {
    return Math.max(0, this.seenTail - this.applied);
  }

  /**
   * Resolves once this replica has applied `position`: a follower serves a read at a version (a
   * snapshot) after it. ETIMEDOUT naming how far it got.
   */
  async waitApplied(position: number, timeoutMs: number): Promise<void> {
    if (this.applied >= position) return;
    let waiter = () => {};
    const reached = new Promise<void>((resolve) => {
      waiter = resolve;
      this.appliedWaiters.set(waiter, position);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FsError("ETIMEDOUT", `shard ${this.shard}: position ${position} not applied after ${timeoutMs} ms (applied ${this.applied})`)), timeoutMs);
    });
    try {
      await Promise.race([reached, timedOut]);
    } finally {
      clearTimeout(timer);
      this.appliedWaiters.delete(waiter);
    }
  }

  /** Gives up leadership on purpose (a hand-off); false when this replica was not leading. */
  async resign(): Promise<boolean> {
    if (this.role !== "leader" || !this.fence) return false;
    // Waits for the append in flight, so the hand-off never cuts a group in half.
    while (this.pumping) await Bun.sleep(1);
    if (this.role !== "leader") return false;
    // No campaign of ours for a while, so the heir wins the election this opens.
    this.noCampaignUntilMs = performance.now() + LIMITS.replicaCampaignDeferMs;
    const fence = this.fence;
    this.stepDown("handing the shard to a preferred replica");
    await this.resignKey(fence).catch(() => undefined);
    return true;
  }

  private stepDown(why: string): void {
    if (this.role !== "leader") return;
    const fence = this.fence;
    this.role = "follower";
    this.fence = null;
    // Give the key up, so a new election (this replica may win it again) need not wait for expiry.
    if (fence) void this.resignKey(fence).catch(() => undefined);
    this.options.onError?.(new NotLeaderError(this.shard, `stepped down: ${why}`));
    this.wake?.();
  }

  /** Reads and applies the log from the applied position to its tail. */
  private async catchUp(): Promise<void> {
    for (;;) {
      const { entries, revision } = await this.log.read(this.applied + 1);
      this.lastSyncMs = performance.now();
      this.watchRevision = Math.max(this.watchRevision, revision);
      for (const entry of entries) this.applyIfNext(entry);
      if (entries.length < LIMITS.shardReadPageEntries) return;
    }
  }

  private async resignKey(fence: Fence): Promise<void> {
    await this.options.client.txn([{ key: this.log.keys.leader, target: "LEASE", number: fence.leaseId }], [{ deleteRange: { key: this.log.keys.leader } }]);
  }

  private async refreshLeader(): Promise<LeaderRecord | null> {
    const kv = await this.options.client.get(this.log.keys.leader);
    this.leader = kv ? decodeLeader(kv.value) : null;
    if (this.role === "leader" && this.fence && (!kv || kv.lease !== this.fence.leaseId)) this.stepDown("leader key gone");
    return this.leader;
  }

  /** Takes the leader key and bumps the epoch in one txn; on a win catches up, then serves. */
  private async campaign(): Promise<void> {
    const { client, session } = this.options;
    const leaseId = await session.lease();
    const [epochKv, leaderKv] = await Promise.all([client.get(this.log.keys.epoch), client.get(this.log.keys.leader)]);
    const epoch = (epochKv ? Number(new TextDecoder().decode(epochKv.value)) : 0) + 1;
    const record: LeaderRecord = { replicaId: this.options.replicaId, address: this.options.address, epoch };
    // The key may still be ours (a step-down whose resign did not get through): take it back.
    const free = leaderKv && leaderKv.lease === leaseId
      ? { key: this.log.keys.leader, target: "LEASE" as const, number: leaseId }
      : { key: this.log.keys.leader, target: "CREATE" as const, number: 0 };
    const won = await client.txn(
      [free, { key: this.log.keys.epoch, target: "MOD", number: epochKv?.modRevision ?? 0 }],
      [
        { put: { key: this.log.keys.leader, value: utf8(JSON.stringify(record)), lease: leaseId } },
        { put: { key: this.log.keys.epoch, value: utf8(String(epoch)) } },
        { put: { key: this.log.keys.registry, value: utf8("") } },
      ],
    );
    if (!won.succeeded) return;
    this.leader = record;
    // No append of an older epoch can land after the bump, so the tail read now is final.
    await this.catchUp();
    const { last } = await this.log.tail();
    if (this.applied !== last) throw new Error(`shard ${this.shard}: caught up to ${this.applied}, log tail is ${last}`);
    if (session.held() !== leaseId) return;
    this.fence = { epoch, leaseId };
    this.role = "leader";
  }

  private onEvents(events: WatchEvent[]): void {
    for (const event of events) {
      // A leader applies its own appends as they are accepted; decoding them again is waste.
      if (this.role === "leader" && this.log.isLogKey(event.kv.key)) continue;
      const entry = this.log.entryOf(event);
      if (entry) {
        // A fragmented entry needs its fragments read: the run loop's catch-up does that, in order.
        if (entry.fragments) this.wake?.();
        else if (!this.applyIfNext(entry) && entry.first > this.applied + 1) this.wake?.();
        continue;
      }
      const key = new TextDecoder().decode(event.kv.key);
      if (key === `${this.log.keys.base}/leader`) {
        this.leader = event.type === "PUT" ? decodeLeader(event.kv.value) : null;
        if (event.type === "DELETE") {
          if (this.role === "leader") this.stepDown("leader key deleted");
          this.wake?.();
        }
      }
    }
  }

  private async watchLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        // Without a known revision, watch from now and let the run loop read what came before.
        const from = this.watchRevision > 0 ? this.watchRevision + 1 : 0;
        if (from === 0) this.wake?.();
        for await (const events of this.log.watch(from, this.abort.signal)) {
          this.watchRevision = Math.max(this.watchRevision, ...events.map((e) => e.kv.modRevision));
          this.lastSyncMs = performance.now();
          this.onEvents(events);
        }
      } catch {
        if (this.abort.signal.aborted) return;
        // Compacted, or the member went away: the run loop re-reads, the watch moves on.
        this.watchRevision = 0;
        this.wake?.();
        await Bun.sleep(LIMITS.replicaPollIntervalMs / 5);
      }
    }
  }

  private waitWake(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), LIMITS.replicaPollIntervalMs);
      const finish = () => {
        clearTimeout(timer);
        if (this.wake === finish) this.wake = null;
        resolve();
      };
      this.wake = finish;
    });
  }

  /** A method, so the compiler does not narrow role across the awaits in run(). */
  private stoppedNow(): boolean {
    return this.role === "stopped";
  }

  private async run(): Promise<void> {
    let watching: Promise<void> | null = null;
    while (this.role !== "stopped") {
      try {
        if (this.role === "follower") {
          await this.catchUp();
          watching ??= this.watchLoop();
          const leader = await this.refreshLeader();
          const mine = leader !== null && leader.replicaId === this.options.replicaId;
          if (leader !== null) this.leaderlessSinceMs = null;
          else this.leaderlessSinceMs ??= performance.now();
          const deferred = (leader === null && performance.now() - this.leaderlessSinceMs! < (this.options.campaignDeferMs ?? 0)) || performance.now() < this.noCampaignUntilMs;
          if ((leader === null || mine) && this.options.campaign !== false && !deferred) await this.campaign();
        } else {
          await this.refreshLeader();
        }
      } catch (err) {
        if (this.stoppedNow()) break;
        if (err instanceof LogTrimmedError) {
          this.options.onTrimmed?.(err);
          break;
        }
        this.options.onError?.(err);
      }
      if (!this.stoppedNow()) await this.waitWake();
    }
    await watching;
  }
}
