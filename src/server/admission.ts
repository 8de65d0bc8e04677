import type { Connection } from "./connection.ts";
import type { ConnectionLimits } from "./config.ts";
import type { ServerStats } from "./stats.ts";

// Which connections metad keeps. Connections that have not authenticated yet (with no token set:
// not sent a frame yet) live on a separate, smaller budget, overall and per peer address. When a
// budget is full the OLDEST unauthenticated connection makes room: an idle socket gains nothing
// by waiting, while a real client authenticates within one round trip of connecting, so a flood
// of idle sockets cannot keep it out. Authenticated connections are never evicted; past the
// total or per-address limit with none to evict, a new connection is closed at once. A sweep
// closes connections past the authentication deadline, idle ones, and ones whose replies stall.

interface AddressEntry {
  count: number;
  /** Unauthenticated connections of this address, oldest first. */
  preAuth: Set<Connection>;
}

export type AdmissionLimits = ConnectionLimits & { idleTimeoutMs: number };

export class Admission {
  readonly all = new Set<Connection>();
  /** Every unauthenticated connection, oldest first (a Set keeps insertion order). */
  private readonly preAuth = new Set<Connection>();
  private readonly byAddress = new Map<string, AddressEntry>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly stats: ServerStats,
  ) {}

  get size(): number {
    return this.all.size;
  }

  get preAuthCount(): number {
    return this.preAuth.size;
  }

  /** Takes in a new connection, evicting older unauthenticated ones to make room; false if it must go. */
  admit(conn: Connection): boolean {
    const limits = this.limits;
    const mine = this.byAddress.get(conn.peer)?.preAuth;
    if ((this.byAddress.get(conn.peer)?.count ?? 0) >= limits.connectionsPerAddressMax && !(mine && this.evictOldest(mine))) return this.refuse();
    if (mine && mine.size >= limits.preAuthPerAddressMax) this.evictOldest(mine);
    if (this.preAuth.size >= limits.preAuthConnectionsMax) this.evictOldest(this.preAuth);
    if (this.all.size >= limits.connectionsMax && !this.evictOldest(this.preAuth)) return this.refuse();
    // Evictions may have dropped this address's entry: look it up again.
    const address = this.address(conn.peer);
    this.all.add(conn);
    this.preAuth.add(conn);
    address.count++;
    address.preAuth.add(conn);
    this.publish();
    return true;
  }

  /** The connection authenticated: it leaves the unauthenticated budget and is never evicted. */
  authenticated(conn: Connection): void {
    if (!this.preAuth.delete(conn)) return;
    this.byAddress.get(conn.peer)?.preAuth.delete(conn);
    this.publish();
  }

  forget(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    this.preAuth.delete(conn);
    const address = this.byAddress.get(conn.peer);
    if (address) {
      address.count--;
      address.preAuth.delete(conn);
      if (address.count === 0) this.byAddress.delete(conn.peer);
    }
    this.publish();
  }

  /** Closes connections past the authentication deadline, idle past the idle timeout, or stalled. */
  sweep(nowMs = Date.now()): void {
    const limits = this.limits;
    for (const conn of this.preAuth) {
      if (nowMs - conn.openedAtMs < limits.authDeadlineMs) break; // oldest first: the rest are younger
      this.stats.connections.authDeadlineClosed++;
      conn.close("did not authenticate in time");
    }
    for (const conn of this.all) {
      if (conn.queuedReplyBytes > 0 && nowMs - conn.lastProgressMs >= limits.connectionOutboundStallTimeoutMs) {
        this.stats.connections.closedForAbuse++;
        conn.close("replies not read", { abort: true });
      } else if (limits.idleTimeoutMs > 0 && conn.isIdle && nowMs - conn.lastActivityMs >= limits.idleTimeoutMs) {
        this.stats.connections.idleClosed++;
        conn.close("idle");
      }
    }
  }

  /** How often to sweep: a quarter of the shortest deadline, between 10 ms and 1 s. */
  sweepIntervalMs(): number {
    const deadlines = [this.limits.authDeadlineMs, this.limits.connectionOutboundStallTimeoutMs];
    if (this.limits.idleTimeoutMs > 0) deadlines.push(this.limits.idleTimeoutMs);
    return Math.min(1000, Math.max(10, Math.floor(Math.min(...deadlines) / 4)));
  }

  private evictOldest(set: Set<Connection>): boolean {
    const oldest = set.values().next().value;
    if (oldest === undefined) return false;
    this.stats.connections.evicted++;
    oldest.close("evicted: unauthenticated connection budget full");
    return true;
  }

  private refuse(): false {
    this.stats.connections.refused++;
    return false;
  }

  private address(peer: string): AddressEntry {
    let entry = this.byAddress.get(peer);
    if (!entry) this.byAddress.set(peer, (entry = { count: 0, preAuth: new Set() }));
    return entry;
  }

  private publish(): void {
    this.stats.connections.open = this.all.size;
    this.stats.connections.unauthenticated = this.preAuth.size;
  }
}
