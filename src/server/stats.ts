import type { WriteCounters } from "../schema/index.ts";
import type { GcReport } from "../service/index.ts";
import { Histogram } from "./histogram.ts";

// What metad counts, for GET /stats: per-op counts and latency, group-commit sizes, connections,
// frames, write attribution from the store, and GC.

export interface OpStats {
  count: number;
  errors: number;
  latencyUs: Histogram;
}

export class ServerStats {
  readonly startedAtMs = Date.now();
  private readonly ops = new Map<string, OpStats>();
  readonly groupCommitOps = new Histogram();
  readonly connections = {
    open: 0, unauthenticated: 0, accepted: 0, refused: 0, evicted: 0, authDeadlineClosed: 0, idleClosed: 0,
    closedForAbuse: 0, pausedForBackpressure: 0, authFailures: 0, authFailureClosed: 0,
  };
  /** Reply bytes queued or expected across connections (the total outbound budget in use). */
  readonly outbound = { bytes: 0 };
  readonly frames = { received: 0, sent: 0, rejected: 0, bytesReceived: 0, bytesSent: 0 };
  readonly http = { requests: 0, rejected: 0 };
  readonly watch = { subscriptions: 0, eventsPushed: 0, catchUpPages: 0, staleDropped: 0 };
  gcRuns = 0;
  gcTotals: Partial<GcReport> = {};
  gcLast: GcReport | null = null;
  gcLastError: string | null = null;

  recordOp(op: string, latencyUs: number, failed: boolean): void {
    let stats = this.ops.get(op);
    if (!stats) this.ops.set(op, (stats = { count: 0, errors: 0, latencyUs: new Histogram() }));
    stats.count++;
    if (failed) stats.errors++;
    stats.latencyUs.record(latencyUs);
  }

  /** Per-op counters and latency histograms, for GET /metrics. */
  opStats(): ReadonlyMap<string, Readonly<OpStats>> {
    return this.ops;
  }

  recordGc(report: GcReport): void {
    this.gcRuns++;
    this.gcLast = report;
    this.gcLastError = null;
    const totals = this.gcTotals as Record<string, number>;
    for (const [key, value] of Object.entries(report)) totals[key] = (totals[key] ?? 0) + value;
  }

  snapshot(extra: { writes: Readonly<WriteCounters>; shards: ReadonlyArray<{ shard: number; version: number }>; objects: unknown; rowCache: { hits: number; misses: number } }) {
    const ops: Record<string, unknown> = {};
    for (const [name, s] of [...this.ops].sort((a, b) => a[0].localeCompare(b[0]))) {
      ops[name] = { count: s.count, errors: s.errors, latencyUs: s.latencyUs.summary() };
    }
    return {
      uptimeMs: Date.now() - this.startedAtMs,
      shards: extra.shards,
      rowCache: extra.rowCache,
      ops,
      groupCommit: { commits: this.groupCommitOps.count, opsPerCommit: this.groupCommitOps.summary() },
      writes: extra.writes,
      connections: this.connections,
      outbound: this.outbound,
      frames: this.frames,
      http: this.http,
      watch: this.watch,
      gc: { runs: this.gcRuns, totals: this.gcTotals, last: this.gcLast, lastError: this.gcLastError },
      objects: extra.objects,
    };
  }
}
