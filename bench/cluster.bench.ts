// Shard replication through a real 3-member etcd on loopback: log appends per second with
// entries of 1, 64 and 256 commands (the leader also applies into its SQLite; two followers apply
// too), beside two floors from the same run (etcd put of the same bytes, SQLite apply alone), and
// failover: kill -9 of the leading replica process to its successor's first acknowledged append,
// p50/p99 over --kills kills. Usage: bun bench/cluster.bench.ts [--seconds 3] [--kills 10]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient, utf8 } from "../src/cluster/etcd/etcd-client.ts";
import { Replica } from "../src/cluster/replica.ts";
import { readRoute } from "../src/cluster/routing.ts";
import { EtcdCluster, etcdSkipReason } from "../src/cluster/testing/etcd-cluster.ts";
import { ReplicaProcess } from "../src/cluster/testing/replica-process.ts";
import { SqliteStateMachine } from "../src/cluster/testing/sqlite-state-machine.ts";

/** About one create command encoded by the core (ids, name, attrs, a dentry and its projection). */
const COMMAND_BYTES = 160;

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const seconds = argValue("seconds", 3);
/** Concurrent proposers for the packed column (groups proposed during an append share the next entry). */
const PROPOSERS = 8;
const kills = argValue("kills", 10);

const commands = (count: number, tag: number) =>
  Array.from({ length: count }, (_, i) => {
    const c = new Uint8Array(COMMAND_BYTES).fill(i % 251);
    new DataView(c.buffer).setUint32(0, tag);
    return c;
  });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `run` in `workers` concurrent loops for the bench period. */
async function timed(run: () => Promise<number>, workers = 1): Promise<{ ops: number; commands: number; seconds: number }> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let ops = 0;
  let total = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        const count = await run();
        total += count;
        ops++;
      }
    }),
  );
  const elapsedS = (performance.now() - start) / 1000;
  return { ops: ops / elapsedS, commands: total / elapsedS, seconds: elapsedS };
}

interface Rate {
  ops: number;
  commands: number;
}

/** The floors run before any replica starts: a busy SQLite loop would starve their lease refreshes. */
async function floors(cluster: EtcdCluster, dir: string, perEntry: number): Promise<{ put: Rate; apply: Rate }> {
  const client = new EtcdClient({ endpoints: cluster.endpoints });
  const sm = new SqliteStateMachine(join(dir, `floor-${perEntry}.sqlite`));
  let tag = 0;
  const bytes = new Uint8Array(perEntry * COMMAND_BYTES);
  const put = await timed(async () => {
    await client.put(utf8(`/floor/${tag++}`), bytes);
    return perEntry;
  });
  let position = 0;
  const apply = await timed(async () => {
    sm.applyEntry(1, { first: position + 1, last: position + perEntry, commands: commands(perEntry, tag++) });
    position += perEntry;
    return perEntry;
  });
  client.close();
  sm.close();
  return { put, apply };
}

async function appendRates(cluster: EtcdCluster, dir: string): Promise<void> {
  const sizes = [1, 64, 256];
  const floorRates = new Map<number, { put: Rate; apply: Rate }>();
  for (const perEntry of sizes) floorRates.set(perEntry, await floors(cluster, dir, perEntry));
  // The leader runs here; the two followers are processes of their own, as on other machines.
  const sm = new SqliteStateMachine(join(dir, "leader.sqlite"));
  const leader = await Replica.start({ etcd: cluster.endpoints, root: "/bench", replicaId: "leader", address: "leader:0", stateMachine: sm, shards: [1] });
  await leader.waitLeader(1, 10_000);
  const followers = ["b", "c"].map(
    (id) => new ReplicaProcess({ endpoints: cluster.endpoints, root: "/bench", replicaId: id, dbPath: join(dir, `${id}.sqlite`), shards: [1], groupSize: 0, groupIntervalMs: 0 }),
  );
  for (const f of followers) f.start();
  await Promise.all(followers.map((f) => f.waitFor((e) => e.ev === "started", 10_000, "start")));
  console.log(`append rates, ${seconds} s each, ${COMMAND_BYTES}-byte commands, 3 etcd members + 3 replicas on loopback:`);
  console.log(`  entry size     | one proposer: appends/s  commands/s | ${PROPOSERS} proposers (packed): groups/s  commands/s | floor: etcd put/s | floor: SQLite apply commands/s`);
  for (const perEntry of sizes) {
    let tag = 0;
    const propose = async () => {
      await leader.propose(1, commands(perEntry, tag++));
      return perEntry;
    };
    const one = await timed(propose);
    const many = await timed(propose, PROPOSERS);
    const { put, apply } = floorRates.get(perEntry)!;
    const n = (x: number, w: number) => x.toFixed(0).padStart(w);
    console.log(`  ${String(perEntry).padStart(3)} commands   | ${n(one.ops, 21)} ${n(one.commands, 11)} | ${n(many.ops, 36)} ${n(many.commands, 11)} | ${n(put.ops, 17)} | ${n(apply.commands, 10)}`);
  }
  const tail = leader.shard(1).applied;
  const client = new EtcdClient({ endpoints: cluster.endpoints });
  const deadline = performance.now() + 15_000;
  let applied: number[] = [];
  do {
    await Bun.sleep(200);
    applied = (await readRoute(client, "/bench", 1)).replicas.map((r) => r.applied);
  } while ((applied.length < 3 || applied.some((a) => a < tail)) && performance.now() < deadline);
  console.log(`  replicas caught up (published positions): ${applied.join(", ")} of ${tail}`);
  client.close();
  await Promise.all(followers.map((f) => f.stop()));
  await leader.stop();
  sm.close();
}

async function failover(cluster: EtcdCluster, dir: string): Promise<void> {
  const children = ["f0", "f1", "f2"].map(
    (id) => new ReplicaProcess({ endpoints: cluster.endpoints, root: "/bench-failover", replicaId: id, dbPath: join(dir, `${id}.sqlite`), shards: [1], groupSize: 4, groupIntervalMs: 2 }),
  );
  for (const c of children) c.start();
  const leaderAbove = async (epoch: number) => {
    const deadline = performance.now() + 30_000;
    for (;;) {
      for (const child of children.filter((c) => c.running)) {
        const e = child.events.findLast((x) => x.ev === "leader" && x.epoch! > epoch);
        if (e) return { child, event: e };
      }
      if (performance.now() > deadline) throw new Error(`no leader above epoch ${epoch}`);
      await Bun.sleep(2);
    }
  };
  const times: number[] = [];
  try {
    let current = await leaderAbove(0);
    for (let k = 0; k < kills; k++) {
      await current.child.waitFor((e) => e.ev === "ack" && e.atMs! > current.event.atMs!, 10_000, "ack");
      const killedAtMs = Date.now();
      await current.child.kill();
      const next = await leaderAbove(current.event.epoch!);
      const ack = await next.child.waitFor((e) => e.ev === "ack" && e.atMs! >= next.event.atMs!, 30_000, "ack");
      times.push(ack.atMs! - killedAtMs);
      current.child.start();
      current = next;
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`failover (kill -9 of the leader to the new leader's first acknowledged append), ${times.length} kills, lease TTL 2 s:`);
  console.log(`  p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms  [${times.join(", ")}]`);
}

const reason = etcdSkipReason();
if (reason) {
  console.log(`cluster bench skipped: ${reason}`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), "nokv-cluster-bench-"));
const cluster = await EtcdCluster.start({ members: 3 });
try {
  await appendRates(cluster, dir);
  if (kills > 0) await failover(cluster, dir);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
