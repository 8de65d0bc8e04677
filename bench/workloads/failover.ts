// failover: three replicated metads (real processes) over a real 3-member etcd on this machine.
// Creates/s through the cluster, batched and unbatched, beside the single-node metad of the same
// run (shown in the floor column, so NoKV/floor is replicated / single node; goal >= 0.5), and
// the time from kill -9 of a mount's leader to the first write acknowledged after it, p50 and
// p99 over at least 10 kills (goal p99 <= 3 s).
import { ROOT_INODE } from "../../src/types/index.ts";
import { etcdSkipReason } from "../../src/cluster/testing/etcd-cluster.ts";
import { connect, type NoKVClient } from "../../src/sdk/index.ts";
import { ClusterFixture } from "../../test/cluster/cluster-fixture.ts";
import { runConcurrent } from "../lib/run.ts";
import type { Ctx, Workload } from "./types.ts";

const BATCH_OPS = 256;
/** Few in flight: each group waits for one etcd append (latency-bound); many: groups grow. */
const UNBATCHED_IN_FLIGHT = [16, 128];
const BATCHED_IN_FLIGHT = 4;
const KILL_WRITERS = 4;
const SINGLE = "NoKV single node, same run";
const REPLICATED = "NoKV, 3 replicas through etcd";

async function creates(ctx: Ctx, client: NoKVClient, system: "nokv" | "store floor", name: string, tag: string, files: number): Promise<void> {
  for (const inFlight of UNBATCHED_IN_FLIGHT) {
    const unbatched = await client.inode.mkdir(ROOT_INODE, `failover-${tag}-u${inFlight}`);
    await ctx.measure({ phase: `create, ${inFlight} in flight`, system, name, unit: "ops/s" }, (onProgress) =>
      runConcurrent(files, inFlight, (i) => client.inode.create(unbatched.inode, `f${i}`), { onProgress }));
  }
  const batched = await client.inode.mkdir(ROOT_INODE, `failover-${tag}-b`);
  const calls = Math.ceil(files / BATCH_OPS);
  await ctx.measure({ phase: "create, batched", system, name, unit: "ops/s", note: `p50/p99 per batch of ${BATCH_OPS}` }, (onProgress) =>
    runConcurrent(calls, BATCHED_IN_FLIGHT, (i) => client.batch(Array.from({ length: BATCH_OPS }, (_, k) => ({ op: "create", args: { parent: batched.inode, name: `f${i * BATCH_OPS + k}` } }))), { itemsPerCall: BATCH_OPS, onProgress }));
}

/** kill -9 of mount 1's leader while writers create files; each kill's time to the next acknowledged write. */
async function kills(fixture: ClusterFixture, count: number, onProgress: (done: number, total: number) => void): Promise<number[]> {
  const clients = await Promise.all(Array.from({ length: KILL_WRITERS }, () => connect(fixture.url)));
  const acks: number[] = [];
  const stop = { done: false };
  const writers = clients.map(async (c, w) => {
    const dir = await c.inode.mkdir(ROOT_INODE, `failover-kills-${w}`);
    for (let n = 0; !stop.done; n++) {
      await c.inode.create(dir.inode, `f${n}`);
      acks.push(Date.now());
    }
  });
  const times: number[] = [];
  try {
    for (let k = 0; k < count; k++) {
      await Bun.sleep(300);
      const leader = await fixture.leaderOf(1);
      await leader.kill();
      // From the moment the process is gone: acks before that came from the old leader.
      const killedAt = Date.now();
      while (!acks.some((t) => t > killedAt)) await Bun.sleep(5);
      times.push(acks.find((t) => t > killedAt)! - killedAt);
      onProgress(k + 1, count);
      await leader.start();
      await leader.waitReady();
    }
  } finally {
    stop.done = true;
    await Promise.all(writers);
    await Promise.all(clients.map((c) => c.close()));
  }
  return times;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const failoverWorkload: Workload = {
  name: "failover",
  description: "3 metads replicated through etcd: creates/s vs single node; leader kill -9 to first acknowledged write",
  async run(ctx) {
    const skip = etcdSkipReason();
    if (skip) {
      for (const phase of [...UNBATCHED_IN_FLIGHT.map((n) => `create, ${n} in flight`), "create, batched", "leader kill -9 -> first acknowledged write"]) {
        ctx.record({ phase, system: "nokv", name: REPLICATED, unit: phase.startsWith("leader") ? "ms" : "ops/s", rate: 0, p50Us: null, p99Us: null, count: 0, unavailable: skip });
      }
      return;
    }
    const files = ctx.profile.hardFiles * 4;
    const killCount = ctx.profile.name === "smoke" ? 10 : 20;
    await creates(ctx, ctx.client, "store floor", SINGLE, "single", files);
    const fixture = await ctx.prepare("3 etcd members and 3 metads", async () => await ClusterFixture.start());
    try {
      const client = await connect(fixture.url);
      try {
        await creates(ctx, client, "nokv", REPLICATED, "replicated", files);
      } finally {
        await client.close();
      }
      const times = await ctx.prepare(`${killCount} leader kills`, (onProgress) => kills(fixture, killCount, onProgress));
      const sorted = [...times].sort((a, b) => a - b);
      ctx.record({
        phase: "leader kill -9 -> first acknowledged write",
        system: "nokv",
        name: REPLICATED,
        unit: "ms",
        rate: percentile(sorted, 99),
        p50Us: percentile(sorted, 50) * 1000,
        p99Us: percentile(sorted, 99) * 1000,
        count: times.length,
        note: `rate column is p99 ms (goal <= 3000, lower is better); 2 s leader lease; each kill: ${times.join(" ")}`,
      });
    } finally {
      await fixture.stop();
    }
  },
};
