import { FsError, LIMITS, formatCursor, type InodeId, type MountId, type WatchCursor, type WatchEvent } from "../types/index.ts";
import { errorToWire, type WirePush } from "../wire/index.ts";
import type { MetadataService } from "../service/index.ts";
import type { Connection } from "./connection.ts";

// Watch subscriptions, each with its own position in the log. A new subscription catches up by
// reading pages of the log after its position; only once a page comes back short is it live, and
// from then on every committed event after its position is pushed as it commits. The log pages
// and the live pushes are one sequence with one position, so nothing is skipped or sent twice,
// and events always leave after the replies of the commit that made them (GroupCommitter).

interface Subscription {
  conn: Connection;
  /** The id the client chose (or was given); pushes carry it as their request id. */
  id: number;
  mount: MountId;
  scope: InodeId;
  /** The last event sent (or the cursor subscribed at): everything after it is owed. */
  position: WatchCursor;
  live: boolean;
}

export interface SubscriptionStats {
  subscriptions: number;
  eventsPushed: number;
  catchUpPages: number;
  staleDropped: number;
}

function after(a: WatchCursor, b: WatchCursor): boolean {
  return a.version > b.version || (a.version === b.version && a.ordinal > b.ordinal);
}

export class Subscriptions {
  private readonly byConn = new Map<Connection, Map<number, Subscription>>();
  private readonly byScope = new Map<string, Set<Subscription>>();
  /** Subscriptions still reading the log, in the order they asked. */
  private readonly catchingUp = new Set<Subscription>();
  private pumpScheduled = false;
  private nextServerId = 1 << 30;
  private total = 0;

  constructor(
    private readonly service: MetadataService,
    readonly stats: SubscriptionStats,
  ) {}

  /** Registers a subscription at `cursor` (ESTALE if the log no longer reaches back to it). */
  subscribe(conn: Connection, args: { id?: number; mount: MountId; scope: InodeId; cursor: WatchCursor }): { subscription: number; scope: InodeId; cursor: string } {
    this.service.watch.checkCursor(args.mount, args.cursor);
    let mine = this.byConn.get(conn);
    if ((mine?.size ?? 0) >= LIMITS.watchSubscriptionsPerConnectionMax) {
      throw new FsError("EMFILE", `a connection may hold ${LIMITS.watchSubscriptionsPerConnectionMax} watch subscriptions; close some first`);
    }
    if (this.total >= LIMITS.watchSubscriptionsMax) {
      throw new FsError("ENFILE", `metad holds ${LIMITS.watchSubscriptionsMax} watch subscriptions, its limit; try again later`);
    }
    const id = args.id ?? this.nextServerId++;
    if (mine?.has(id)) throw new FsError("EEXIST", `watch subscription ${id} is already open on this connection`);
    if (!mine) this.byConn.set(conn, (mine = new Map()));
    const sub: Subscription = { conn, id, mount: args.mount, scope: args.scope, position: args.cursor, live: false };
    mine.set(id, sub);
    // The connection knows it holds a watch: an idle timeout must not close it.
    conn.subscriptions.add(id);
    const key = scopeKey(sub.mount, sub.scope);
    let scoped = this.byScope.get(key);
    if (!scoped) this.byScope.set(key, (scoped = new Set()));
    scoped.add(sub);
    this.total++;
    this.stats.subscriptions = this.total;
    this.catchingUp.add(sub);
    this.schedulePump();
    return { subscription: id, scope: sub.scope, cursor: formatCursor(sub.position) };
  }

  unsubscribe(conn: Connection, id: number): boolean {
    const sub = this.byConn.get(conn)?.get(id);
    if (!sub) return false;
    this.remove(sub);
    return true;
  }

  /** A closed connection's subscriptions go with it. */
  dropConnection(conn: Connection): void {
    for (const sub of [...(this.byConn.get(conn)?.values() ?? [])]) this.remove(sub);
  }

  private remove(sub: Subscription): void {
    const mine = this.byConn.get(sub.conn);
    mine?.delete(sub.id);
    sub.conn.subscriptions.delete(sub.id);
    if (mine?.size === 0) this.byConn.delete(sub.conn);
    const key = scopeKey(sub.mount, sub.scope);
    const scoped = this.byScope.get(key);
    scoped?.delete(sub);
    if (scoped?.size === 0) this.byScope.delete(key);
    this.catchingUp.delete(sub);
    this.total--;
    this.stats.subscriptions = this.total;
  }

  /** Committed events, in commit order: live subscriptions get what lies after their position. */
  publish(mount: MountId, events: readonly WatchEvent[]): void {
    if (this.total === 0) return;
    let byScope: Map<InodeId, WatchEvent[]> | null = null;
    for (const event of events) {
      if (!this.byScope.has(scopeKey(mount, event.scope))) continue;
      byScope ??= new Map();
      let list = byScope.get(event.scope);
      if (!list) byScope.set(event.scope, (list = []));
      list.push(event);
    }
    if (!byScope) return;
    for (const [scope, scoped] of byScope) {
      for (const sub of this.byScope.get(scopeKey(mount, scope)) ?? []) {
        if (!sub.live) continue;
        const owed = scoped.filter((e) => after(e, sub.position));
        if (owed.length > 0) this.send(sub, owed);
      }
    }
  }

  /**
   * After a group rolled back, versions it used will be used again: a position past the shard's
   * clock would skip those new commits, so it steps back to the clock.
   */
  clampToClocks(): void {
    for (const mine of this.byConn.values()) {
      for (const sub of mine.values()) {
        const head = this.service.core.version(sub.mount);
        if (sub.position.version > head) sub.position = this.service.watch.head(sub.mount);
      }
    }
  }

  private send(sub: Subscription, events: WatchEvent[]): void {
    const last = events[events.length - 1]!;
    sub.position = { version: last.version, ordinal: last.ordinal };
    const push: WirePush = { kind: "watch", subscription: sub.id, events, cursor: formatCursor(sub.position) };
    sub.conn.push(sub.id, push);
    this.stats.eventsPushed += events.length;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.catchingUp.size === 0) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  /** One page for each catching-up subscription whose connection is draining its replies. */
  private pump(): void {
    this.pumpScheduled = false;
    let pages = 0;
    for (const sub of [...this.catchingUp]) {
      if (pages >= LIMITS.watchCatchUpPagesPerTick) break;
      // A consumer that does not read holds its backlog in the log, not in metad's memory.
      if (sub.conn.queuedReplyBytes > LIMITS.watchCatchUpOutboundMaxBytes) continue;
      pages++;
      this.stats.catchUpPages++;
      let page;
      try {
        page = this.service.watch.replay({ mount: sub.mount, scope: sub.scope, cursor: sub.position, limit: LIMITS.watchPageMaxEvents });
      } catch (err) {
        this.fail(sub, err);
        continue;
      }
      if (page.events.length > 0) this.send(sub, page.events);
      // A page may read commands with none of this scope's events: its position moves past them.
      sub.position = page.cursor;
      if (!page.more) {
        sub.live = true;
        this.catchingUp.delete(sub);
      }
    }
    if (this.catchingUp.size > 0) {
      this.pumpScheduled = true;
      // Waiting consumers must not spin the loop: poll again after a short pause when nothing moved.
      if (pages === 0) setTimeout(() => this.pump(), LIMITS.watchCatchUpRetryMs);
      else setImmediate(() => this.pump());
    }
  }

  /** The subscription cannot go on (its cursor fell behind the retained log): tell it, then drop it. */
  private fail(sub: Subscription, err: unknown): void {
    this.stats.staleDropped++;
    sub.conn.push(sub.id, { kind: "watch", subscription: sub.id, events: [], error: errorToWire(err) });
    this.remove(sub);
  }
}

function scopeKey(mount: MountId, scope: InodeId): string {
  return `${mount}:${scope}`;
}
