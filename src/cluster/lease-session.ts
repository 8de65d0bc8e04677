// One etcd lease per replica process: it holds the replica's leader keys and status keys, and is
// refreshed every leaderKeepAliveIntervalMs. Two notions of "alive", on purpose:
// - valid(): by the local clock, until (send time of the last successful refresh) + TTL, never
//   later than etcd's own expiry. Linearizable reads need it: once it passes, another replica may
//   lead.
// - held(): until etcd says the lease is gone (a refresh answered TTL 0), or nothing answered for a
//   whole TTL past valid(). Appends need only this, because etcd fences them anyway: a leader that
//   rides out an etcd election (its lease extended by the new etcd leader) keeps leading, while one
//   paused past its lease learns it lost on its first refresh or append.
import type { EtcdClient } from "./etcd/etcd-client.ts";
import { LIMITS } from "../types/limits.ts";

export class LeaseSession {
  private leaseId: string | null = null;
  private validUntilMs = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private granting: Promise<string> | null = null;
  private readonly lostListeners = new Set<(leaseId: string) => void>();

  constructor(
    private readonly client: EtcdClient,
    private readonly ttlS: number = LIMITS.leaderLeaseTtlS,
  ) {}

  /** The held lease, granting a new one when there is none (first use, or after a loss). */
  lease(): Promise<string> {
    if (this.leaseId !== null) return Promise.resolve(this.leaseId);
    // Shards campaign at once; they must share one grant, or each would hold a different lease.
    this.granting ??= this.grant().finally(() => (this.granting = null));
    return this.granting;
  }

  private async grant(): Promise<string> {
    const sentAtMs = performance.now();
    const id = await this.client.leaseGrant(this.ttlS);
    this.leaseId = id;
    this.validUntilMs = sentAtMs + this.ttlS * 1000;
    this.schedule();
    return id;
  }

  /** The lease id until it is known lost, else null. */
  held(): string | null {
    return this.leaseId;
  }

  valid(): boolean {
    return performance.now() < this.validUntilMs;
  }

  /** Called with the lost lease id whenever a lease stops being valid. */
  onLost(listener: (leaseId: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), LIMITS.leaderKeepAliveIntervalMs);
  }

  private async refresh(): Promise<void> {
    const id = this.leaseId;
    if (id === null || this.stopped) return;
    const sentAtMs = performance.now();
    try {
      const ttlS = await this.client.leaseKeepAlive(id);
      if (this.leaseId !== id) return;
      if (ttlS <= 0) return this.lose();
      this.validUntilMs = sentAtMs + ttlS * 1000;
    } catch {
      // A refresh that fails leaves the deadline where it was; the next one may get through.
      if (this.leaseId !== id) return;
      if (performance.now() > this.validUntilMs + this.ttlS * 1000) return this.lose();
    }
    this.schedule();
  }

  private lose(): void {
    const id = this.leaseId;
    if (id === null) return;
    this.leaseId = null;
    this.validUntilMs = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const listener of this.lostListeners) listener(id);
    // Our leaderships already ended here; revoking lets the next leader win now, not at etcd's expiry.
    void this.client.leaseRevoke(id).catch(() => undefined);
  }

  /** Stops refreshing and revokes the lease, so this replica's leaderships end at once. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const id = this.leaseId;
    this.leaseId = null;
    this.validUntilMs = 0;
    if (id !== null) await this.client.leaseRevoke(id).catch(() => undefined);
  }
}
