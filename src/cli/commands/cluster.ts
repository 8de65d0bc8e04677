import type { Command } from "commander";
import { EtcdClient, readRoutes, type ShardRoute } from "../../cluster/index.ts";
import { withGlobalOptions } from "../context.ts";
import { columns } from "../format.ts";
import type { Runner } from "../runner.ts";
import { UsageError } from "../errors.ts";

// cluster status: shards, leaders, epochs, log positions and replica lag, read straight from etcd
// (any member), so it works while every metad is down.

const DEFAULT_ROOT = "/nokv";

export function clusterStatusLines(routes: readonly ShardRoute[]): string[] {
  if (routes.length === 0) return ["no shards registered"];
  const rows = [["SHARD", "LEADER", "ADDRESS", "EPOCH", "LOG-TAIL", "TRIMMED", "REPLICAS", "MAX-LAG"]];
  for (const r of routes) {
    rows.push([
      String(r.shard),
      r.leader?.replicaId ?? "-",
      r.leader?.address ?? "-",
      String(r.epoch),
      String(r.tail),
      String(r.trimmedThrough),
      r.replicas.map((x) => `${x.replicaId}@${x.applied}`).join(",") || "-",
      String(Math.max(0, ...r.replicas.map((x) => x.lag))),
    ]);
  }
  return columns(rows, new Set([0, 3, 4, 5, 7]));
}

export function registerCluster(program: Command, run: Runner): void {
  const cluster = program
    .command("cluster")
    .description("replicated metadata: shards and their leaders in etcd")
    .addHelpText("after", "\nExamples:\n  nokv-fs cluster status --etcd http://127.0.0.1:2379 --root /nokv");
  withGlobalOptions(cluster.command("status"))
    .description("shards, leaders, epochs, log positions and replica lag")
    .option("--etcd <urls>", "etcd client URLs, comma-separated (or NOKV_ETCD)")
    .option("--root <prefix>", "the cluster's key prefix in etcd", DEFAULT_ROOT)
    .addHelpText("after", "\nExamples:\n  nokv-fs cluster status --etcd http://10.0.0.1:2379,http://10.0.0.2:2379\n  nokv-fs cluster status --json | jq '.[].leader'")
    .action(
      run.action<{ etcd?: string; root: string }, []>(async (ctx, opts) => {
        const endpoints = (opts.etcd ?? process.env.NOKV_ETCD ?? "").split(",").map((s) => s.trim()).filter(Boolean);
        if (endpoints.length === 0) throw new UsageError("cluster status needs --etcd URL[,URL] (or NOKV_ETCD)");
        const client = new EtcdClient({ endpoints });
        try {
          const routes = await readRoutes(client, opts.root);
          if (ctx.json) ctx.printJson(routes);
          else ctx.printLines(clusterStatusLines(routes));
        } finally {
          client.close();
        }
      }),
    );
}
