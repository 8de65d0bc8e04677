import { UsageError } from "../errors.ts";
import type { Command } from "commander";
import { withGlobalOptions } from "../context.ts";
import { columns, humanDuration } from "../format.ts";
import type { Runner } from "../runner.ts";

// stats and gc: what metad reports about itself (the same documents as GET /stats and POST /gc),
// fetched over the RPC connection so they work wherever the CLI can reach metad.

interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ServerStats {
  uptimeMs: number;
  shards: Array<{ shard: number; version: number }>;
  ops: Record<string, { count: number; errors: number; latencyUs: LatencySummary }>;
  groupCommit: { commits: number; opsPerCommit: LatencySummary };
  writes: Record<string, number>;
  connections: Record<string, number>;
  watch: Record<string, number>;
  gc: { runs: number; totals: Record<string, number>; lastError: string | null };
  objects: { url: string };
}

/** Most-used ops first; the rest are one line away with --json. */
const STATS_OPS_SHOWN_MAX = 15;

export function statsSummary(s: ServerStats): string[] {
  const w = s.writes;
  const out = [
    `uptime ${humanDuration(s.uptimeMs)}, ${s.shards.length} shards (${s.shards.map((x) => `${x.shard === 0 ? "catalog" : `mount ${x.shard}`} at ${x.version}`).slice(0, 4).join(", ")}${s.shards.length > 4 ? ", ..." : ""}), objects ${s.objects.url}`,
    `commits ${w.commits ?? 0} (group commits ${s.groupCommit.commits}, mean ${s.groupCommit.opsPerCommit.mean.toFixed(1)} ops each, max ${s.groupCommit.opsPerCommit.max})`,
    `metadata writes: current puts ${w.currentPuts ?? 0}, deletes ${w.currentDeletes ?? 0}, history ${w.historyWrites ?? 0}, watch ${w.watchWrites ?? 0}, dedupe ${w.dedupeWrites ?? 0}, log ${w.logWrites ?? 0}`,
    `connections: open ${s.connections.open ?? 0}, accepted ${s.connections.accepted ?? 0}, refused ${s.connections.refused ?? 0}`,
    `watch: ${s.watch.subscriptions ?? 0} subscriptions, ${s.watch.eventsPushed ?? 0} events pushed`,
    `gc: ${s.gc.runs} runs, ${s.gc.totals.objectsDeleted ?? 0} objects deleted, ${s.gc.totals.historyRowsDeleted ?? 0} history rows dropped${s.gc.lastError ? `, last error: ${s.gc.lastError}` : ""}`,
  ];
  const ops = Object.entries(s.ops).sort((a, b) => b[1].count - a[1].count);
  if (ops.length > 0) {
    const rows = [["OP", "COUNT", "ERRORS", "P50-US", "P99-US"]];
    for (const [name, o] of ops.slice(0, STATS_OPS_SHOWN_MAX)) rows.push([name, String(o.count), String(o.errors), String(Math.round(o.latencyUs.p50)), String(Math.round(o.latencyUs.p99))]);
    out.push("", ...columns(rows, new Set([1, 2, 3, 4])));
    if (ops.length > STATS_OPS_SHOWN_MAX) out.push(`(${ops.length - STATS_OPS_SHOWN_MAX} more ops; --json for all)`);
  }
  return out;
}

export function registerServer(program: Command, run: Runner): void {
  withGlobalOptions(program.command("stats"))
    .description("summarize metad's statistics (GET /stats)")
    .addHelpText("after", "\nExamples:\n  nokv-fs stats\n  nokv-fs stats --json | jq .ops")
    .action(
      run.action<object, []>(async (ctx) => {
        const stats = (await (await ctx.connect()).serverStats()) as ServerStats;
        if (ctx.json) ctx.printJson(stats);
        else ctx.printLines(statsSummary(stats));
      }),
    );
  withGlobalOptions(program.command("gc"))
    .description("run one object and history GC pass now (POST /gc)")
    .addHelpText("after", "\nExamples:\n  nokv-fs gc\n  nokv-fs gc --json")
    .action(
      run.action<object, []>(async (ctx) => {
        const result = (await (await ctx.connect()).gc()) as Record<string, number>;
        if (ctx.json) return ctx.printJson(result);
        ctx.printLines(Object.entries(result).map(([k, v]) => `${k.padEnd(24)} ${v}`));
      }),
    );
  withGlobalOptions(program.command("log"))
    .description("print the applied command log of the mount's shard (or the catalog's)")
    .option("--from <N>", "start at this log position (default: the oldest kept)", (v) => parsePosition(v))
    .option("--limit <N>", "print at most N entries", (v) => parsePosition(v))
    .option("--catalog", "the catalog shard (mount names) instead of the mount's")
    .addHelpText("after", "\nEvery write metad applies is a command at a position in its shard's log; replicas apply the same log.\n\nExamples:\n  nokv-fs log --from 120\n  nokv-fs log --json --limit 10 | jq .kind")
    .action(
      run.action<{ from?: number; limit?: number; catalog?: boolean }, []>(async (ctx, opts) => {
        const client = await ctx.connect();
        let from = opts.from;
        let left = opts.limit ?? Number.MAX_SAFE_INTEGER;
        while (left > 0) {
          const page = await client.readLog({ ...(from === undefined ? {} : { from }), limit: Math.min(left, 1_000), ...(opts.catalog ? { catalog: true } : {}) });
          for (const e of page.entries) {
            if (ctx.json) ctx.printJson(e);
            else ctx.printLines([logLine(e)]);
          }
          left -= page.entries.length;
          if (page.nextFrom === null || page.entries.length === 0) break;
          from = page.nextFrom;
        }
      }),
    );
}

function parsePosition(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`'${text}' is not a log position`);
  return n;
}

/** "VERSION KIND  N mutations, N events[, key K]" — one line a command. */
function logLine(e: { version: number; kind: string; command: Record<string, unknown> }): string {
  const c = e.command as { mutations?: unknown[]; watchEvents?: unknown[]; requestKey?: string };
  const key = c.requestKey === undefined ? "" : `, key ${c.requestKey}`;
  return `${String(e.version).padStart(8)} ${e.kind.padEnd(18)} ${c.mutations?.length ?? 0} mutations, ${c.watchEvents?.length ?? 0} events${key}`;
}
