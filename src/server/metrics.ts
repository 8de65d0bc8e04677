// GET /metrics: what /stats reports, in the Prometheus text format (version 0.0.4), so a
// Prometheus or any OpenMetrics scraper can graph and alert on metad without parsing JSON.
// Counters end in _total, sizes in _bytes, latencies are histograms in seconds.

import { statSync } from "node:fs";
import { join } from "node:path";
import type { WriteCounters } from "../schema/index.ts";
import type { ByteRange, ListOptions, ObjectStore } from "../objstore/index.ts";
import type { Histogram } from "./histogram.ts";
import type { ServerStats } from "./stats.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Latency buckets: below 2^k microseconds, 16 µs to ~34 s. */
const LATENCY_EXP_MIN = 4;
const LATENCY_EXP_MAX = 25;
/** Group-commit size buckets: below 2^k ops, i.e. at most 2^k - 1, up to 4095. */
const BATCH_EXP_MAX = 12;

/** Object-store requests metad itself made (GC, readiness) that failed, by operation. */
export class ObjectStoreErrorCounts {
  readonly byOp = new Map<string, number>();
  record(op: string): void {
    this.byOp.set(op, (this.byOp.get(op) ?? 0) + 1);
  }
}

/** An object store that counts its failed requests. */
export interface CountingObjectStore extends ObjectStore {
  readonly errorCounts: ObjectStoreErrorCounts;
}

/** The store, with every failed request counted in `errorCounts` (then rethrown unchanged). */
export function countingObjectStore(inner: ObjectStore, counts = new ObjectStoreErrorCounts()): CountingObjectStore {
  const counted = async <T>(op: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      counts.record(op);
      throw err;
    }
  };
  return {
    errorCounts: counts,
    get url() {
      return inner.url;
    },
    put: (key: string, bytes: Uint8Array) => counted("put", () => inner.put(key, bytes)),
    get: (key: string, range?: ByteRange) => counted("get", () => inner.get(key, range)),
    head: (key: string) => counted("head", () => inner.head(key)),
    delete: (key: string) => counted("delete", () => inner.delete(key)),
    list: (prefix: string, options?: ListOptions) => counted("list", () => inner.list(prefix, options)),
    // Optional methods pass through only where the backend has them: GC asks whether it does.
    ...(inner.sweepTempFiles ? { sweepTempFiles: (options: { minAgeMs: number; dryRun: boolean }) => counted("sweep", () => inner.sweepTempFiles!(options)) } : {}),
    close: () => inner.close(),
  };
}

export interface MetricsSources {
  stats: ServerStats;
  writes: Readonly<WriteCounters>;
  shards: ReadonlyArray<{ shard: number; version: number }>;
  /** Where meta.db and its WAL live. */
  dataDir: string;
  objectStoreErrors: ObjectStoreErrorCounts;
}

/** Prometheus label values escape backslash, quote and newline. */
function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, type: "counter" | "gauge", help: string, samples: Array<[Record<string, string>, number]>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
  }

  histogram(name: string, help: string, series: Array<{ labels: Record<string, string>; bounds: number[]; cumulative: number[]; count: number; sum: number }>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const s of series) {
      s.bounds.forEach((bound, i) => this.lines.push(`${name}_bucket${labelText({ ...s.labels, le: formatValue(bound) })} ${s.cumulative[i]}`));
      this.lines.push(`${name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      this.lines.push(`${name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`, `${name}_count${labelText(s.labels)} ${s.count}`);
    }
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${label(v)}"`).join(",")}}`;
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
}

function latencySeries(labels: Record<string, string>, h: Histogram) {
  const bounds: number[] = [];
  for (let k = LATENCY_EXP_MIN; k <= LATENCY_EXP_MAX; k++) bounds.push(2 ** k / 1e6);
  return { labels, bounds, cumulative: h.countsBelowPowersOfTwo(LATENCY_EXP_MIN, LATENCY_EXP_MAX), count: h.count, sum: h.sum / 1e6 };
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function renderMetrics(src: MetricsSources): string {
  const { stats } = src;
  const out = new Exposition();
  out.metric("nokv_uptime_seconds", "gauge", "Seconds since metad started.", [[{}, (Date.now() - stats.startedAtMs) / 1000]]);
  out.metric("nokv_shard_version", "gauge", "Each shard's log position (0 is the catalog, others are mounts).", src.shards.map((s) => [{ shard: String(s.shard) }, s.version]));

  const ops = [...stats.opStats()].sort((a, b) => a[0].localeCompare(b[0]));
  out.metric("nokv_op_requests_total", "counter", "Requests served, by op.", ops.map(([op, s]) => [{ op }, s.count]));
  out.metric("nokv_op_errors_total", "counter", "Requests answered with an error, by op.", ops.map(([op, s]) => [{ op }, s.errors]));
  out.histogram("nokv_op_latency_seconds", "Time from a request's arrival to its reply, by op.", ops.map(([op, s]) => latencySeries({ op }, s.latencyUs)));

  const gc = stats.groupCommitOps;
  const batchBounds = Array.from({ length: BATCH_EXP_MAX + 1 }, (_, k) => 2 ** k - 1);
  out.histogram("nokv_group_commit_ops", "Write ops applied per group commit (one SQLite transaction).", [
    { labels: {}, bounds: batchBounds, cumulative: gc.countsBelowPowersOfTwo(0, BATCH_EXP_MAX), count: gc.count, sum: gc.sum },
  ]);

  const writes = Object.entries(src.writes) as Array<[string, number]>;
  out.metric("nokv_store_writes_total", "counter", "Metadata store work by kind (commits, row puts and deletes, history, watch, dedupe and log writes).", writes.map(([kind, n]) => [{ kind }, n]));

  const c = stats.connections;
  out.metric("nokv_connections_open", "gauge", "Open client connections.", [[{}, c.open]]);
  out.metric("nokv_connections_accepted_total", "counter", "Connections accepted.", [[{}, c.accepted]]);
  out.metric("nokv_connections_refused_total", "counter", "Connections refused at the connection limit.", [[{}, c.refused]]);
  out.metric("nokv_connections_closed_for_abuse_total", "counter", "Connections closed for malformed or oversized input.", [[{}, c.closedForAbuse]]);
  out.metric("nokv_auth_failures_total", "counter", "Requests refused for a missing or wrong token (RPC hello and POST /gc).", [[{}, c.authFailures]]);
  out.metric("nokv_frames_total", "counter", "RPC frames by direction.", [[{ direction: "received" }, stats.frames.received], [{ direction: "sent" }, stats.frames.sent], [{ direction: "rejected" }, stats.frames.rejected]]);
  out.metric("nokv_frame_bytes_total", "counter", "RPC bytes by direction.", [[{ direction: "received" }, stats.frames.bytesReceived], [{ direction: "sent" }, stats.frames.bytesSent]]);
  out.metric("nokv_http_requests_total", "counter", "HTTP requests on the RPC port.", [[{}, stats.http.requests]]);
  out.metric("nokv_watch_subscriptions", "gauge", "Watch subscriptions held.", [[{}, stats.watch.subscriptions]]);
  out.metric("nokv_watch_events_pushed_total", "counter", "Watch events pushed to clients.", [[{}, stats.watch.eventsPushed]]);

  out.metric("nokv_gc_runs_total", "counter", "Completed GC passes.", [[{}, stats.gcRuns]]);
  const totals = Object.entries(stats.gcTotals) as Array<[string, number]>;
  out.metric("nokv_gc_work_total", "counter", "What GC passes did, by kind (objectsDeleted, objectDeleteErrors, historyRowsDeleted, ...).", totals.map(([kind, n]) => [{ kind }, n]));
  out.metric("nokv_gc_last_pass_failed", "gauge", "1 when the last GC pass failed or had failures (see /stats gc.lastError).", [[{}, stats.gcLastError === null ? 0 : 1]]);

  const dbPath = join(src.dataDir, "meta.db");
  out.metric("nokv_database_bytes", "gauge", "Size of the SQLite metadata file.", [[{}, fileBytes(dbPath)]]);
  out.metric("nokv_wal_bytes", "gauge", "Size of the SQLite write-ahead log.", [[{}, fileBytes(`${dbPath}-wal`)]]);
  const storeErrors = [...src.objectStoreErrors.byOp].sort((a, b) => a[0].localeCompare(b[0]));
  out.metric("nokv_object_store_errors_total", "counter", "Object-store requests by metad (GC, readiness) that failed, by op.", storeErrors.map(([op, n]) => [{ op }, n]));
  return out.text();
}
