// Runs workloads against one metad of its own (a temporary data directory, file:// objects on
// the same disk), beside the echo server, and collects their rows.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NoKVClient } from "../../src/sdk/index.ts";
import { RpcClient } from "../../src/sdk/rpc-client.ts";
import { openAgentFs } from "../peers/agentfs.ts";
import type { Ctx, Measurement, Workload } from "../workloads/types.ts";
import type { Profile } from "./profiles.ts";
import { Progress } from "./progress.ts";
import { spawnEcho, spawnMetad, type ChildServer, type RunResult } from "./run.ts";
import { WARM_UP, warmUp, warmUpSummary } from "./warm-up.ts";

export interface HarnessResult {
  rows: Measurement[];
  elapsedMs: number;
  /** metad's /stats at the end: group commit sizes and write attribution. */
  server: unknown;
}

function summary(row: Measurement): string {
  if (row.unavailable) return `unavailable: ${row.unavailable}`;
  const lat = row.p50Us === null ? "" : `, p50 ${row.p50Us.toFixed(0)} µs, p99 ${row.p99Us!.toFixed(0)} µs`;
  return `${Math.round(row.rate).toLocaleString("en-US")} ${row.unit}${lat}`;
}

export interface HarnessOptions {
  /** Skip the untimed warm-up (bench/lib/warm-up.ts): the first rows then measure a cold start. */
  cold?: boolean;
}

export async function runHarness(profile: Profile, workloads: Workload[], options: HarnessOptions = {}): Promise<HarnessResult> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "nokv-bench-"));
  const scratchDir = join(dir, "scratch");
  mkdirSync(scratchDir);
  const progress = new Progress(workloads.length);
  const children: ChildServer[] = [];
  const clients: NoKVClient[] = [];
  let echo: RpcClient | null = null;
  const echoPool: RpcClient[] = [];
  const rows: Measurement[] = [];
  try {
    progress.note(`starting metad and the echo floor in ${dir}`);
    const metad = await spawnMetad(join(dir, "data"), join(dir, "objects"));
    children.push(metad);
    const echoServer = await spawnEcho();
    children.push(echoServer);
    const url = `nokv://127.0.0.1:${metad.port}`;
    const client = await connect(url);
    clients.push(client);
    echo = new RpcClient({ host: "127.0.0.1", port: echoServer.port });
    let workloadName = "";
    const record = (row: Omit<Measurement, "workload">) => {
      const full = { workload: workloadName, ...row };
      rows.push(full);
      return full;
    };
    const ctx: Ctx = {
      profile,
      url,
      client,
      echo,
      echoConnections: (n) => {
        while (echoPool.length < n) echoPool.push(new RpcClient({ host: "127.0.0.1", port: echoServer.port }));
        return echoPool.slice(0, n);
      },
      scratchDir,
      connect: (options) => connect(url, options),
      openPeer: async (name) => {
        const opened = await openAgentFs(join(scratchDir, name));
        return opened.ok ? opened.peer : { unavailable: opened.reason };
      },
      measure: async (row, run, options) => {
        progress.begin(`${row.phase} — ${row.name}`);
        const result: RunResult = await run((done, total) => progress.update(done / total));
        const full = record({ ...row, rate: options?.rate ? options.rate(result) : result.opsPerSec, p50Us: result.p50Us, p99Us: result.p99Us, count: result.ops });
        progress.end(summary(full));
        return result;
      },
      record: (row) => {
        const full = record(row);
        progress.begin(`${row.phase} — ${row.name}`);
        progress.end(summary(full));
      },
      prepare: async (label, run) => {
        progress.begin(`${label} (untimed)`);
        const t0 = performance.now();
        const value = await run((done, total) => progress.update(done / total));
        progress.end(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        return value;
      },
    };
    if (!options.cold) {
      const warmClients = await Promise.all(Array.from({ length: WARM_UP.clients }, () => connect(url)));
      try {
        await ctx.prepare(warmUpSummary(), (onProgress) => warmUp({ clients: warmClients, echoConnections: ctx.echoConnections(WARM_UP.clients), scratchDir }, onProgress));
      } finally {
        await Promise.all(warmClients.map((c) => c.close()));
      }
    }
    for (const workload of workloads) {
      workloadName = workload.name;
      progress.workload(workload.name);
      await workload.run(ctx);
    }
    const server = await client.serverStats();
    return { rows, elapsedMs: performance.now() - started, server };
  } finally {
    progress.stop();
    echo?.close();
    for (const connection of echoPool) connection.close();
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
