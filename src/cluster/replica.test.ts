import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "./etcd/etcd-client.ts";
import { LogTrimmedError, NotLeaderError } from "./errors.ts";
import { Replica } from "./replica.ts";
import { listCheckpoints } from "./checkpoints.ts";
import { readRoute, readRoutes } from "./routing.ts";
import { ShardLog } from "./shard-log.ts";
import { EtcdCluster, etcdSkipReason } from "./testing/etcd-cluster.ts";
import { SqliteStateMachine } from "./testing/sqlite-state-machine.ts";
import { FileObjectStore } from "../objstore/index.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip replica tests: ${skip}`);

const group = (tag: string, count: number) => Array.from({ length: count }, (_, i) => new TextEncoder().encode(`${tag}:${i}`));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

describe.skipIf(skip !== null)("replicas over a 3-member etcd", () => {
  let cluster: EtcdCluster;
  let client: EtcdClient;
  let dir: string;
  const replicas: Replica[] = [];
  const machines: SqliteStateMachine[] = [];

  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 3 });
    client = new EtcdClient({ endpoints: cluster.endpoints });
    dir = mkdtempSync(join(tmpdir(), "nokv-replica-"));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop().catch(() => undefined)));
    for (const m of machines) m.close();
    client?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000); // stopping etcd members and replica processes takes seconds on a loaded machine

  async function startReplica(root: string, id: string, shards: number[], extra: { store?: FileObjectStore; campaign?: boolean } = {}) {
    const sm = new SqliteStateMachine(join(dir, `${root.slice(1)}-${id}.sqlite`));
    machines.push(sm);
    const replica = await Replica.start({
      etcd: cluster.endpoints,
      root,
      replicaId: id,
      address: `${id}.test:7000`,
      stateMachine: sm,
      shards,
      ...(extra.store ? { objectStore: extra.store, checkpointIntervalMs: 0 } : {}),
      ...(extra.campaign === false ? { campaign: false } : {}),
    });
    replicas.push(replica);
    return { replica, sm };
  }

  const leaderOf = <T extends { replica: Replica }>(list: T[], shard: number) => list.find((r) => r.replica.isLeader(shard));

  test("one replica leads; followers apply every acknowledged entry in order; a follower refuses writes naming the leader", async () => {
    const list = [await startReplica("/r1", "a", [1]), await startReplica("/r1", "b", [1]), await startReplica("/r1", "c", [1])];
    await until("a leader", () => list.some((r) => r.replica.isLeader(1)));
    const leader = leaderOf(list, 1)!;
    let last = 0;
    for (let i = 0; i < 20; i++) last = (await leader.replica.propose(1, group(`g${i}`, 8))).last;
    expect(last).toBe(160);
    await until("followers caught up", () => list.every((r) => r.sm.appliedPosition(1) === 160));
    const rows = leader.sm.rows(1);
    for (const r of list) expect(r.sm.rows(1)).toEqual(rows);
    expect(rows[8]).toEqual({ position: 9, command: "g1:0" });
    const follower = list.find((r) => r !== leader)!;
    // A read at a version waits until the follower has applied it; one past the log times out.
    await follower.replica.shard(1).waitApplied(160, 5_000);
    await expect(follower.replica.shard(1).waitApplied(161, 50)).rejects.toThrow(/position 161 not applied after 50 ms \(applied 160\)/);
    for (const r of list) expect(r.replica.readiness()).toEqual({ ready: true, reasons: [] });
    expect(leader.replica.shard(1).canServeLinearizable()).toBe(true);
    expect(follower.replica.shard(1).canServeLinearizable()).toBe(false);
    const err = await follower.replica.propose(1, group("x", 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect(String(err)).toContain(`leader is ${leader.replica.replicaId} at ${leader.replica.replicaId}.test:7000`);
    const route = await readRoute(client, "/r1", 1);
    expect(route).toMatchObject({ shard: 1, tail: 160, leader: { replicaId: leader.replica.replicaId, epoch: route.epoch } });
  });

  test("concurrent proposals are packed: positions are contiguous, each group's own, applied in order everywhere", async () => {
    const list = [await startReplica("/r5", "a", [2]), await startReplica("/r5", "b", [2])];
    await until("a leader", () => list.some((r) => r.replica.isLeader(2)));
    const leader = leaderOf(list, 2)!;
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => leader.replica.propose(2, group(`p${i}`, 1 + (i % 5)))));
    const ranges = results.map((r) => [r.first, r.last] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1);
    const total = ranges.at(-1)![1];
    expect(ranges[0]![0]).toBe(1);
    await until("follower caught up", () => list.every((r) => r.sm.appliedPosition(2) === total));
    // A command bigger than an etcd request rides along, in fragments, to every replica.
    const big = new TextEncoder().encode("big:".padEnd(3 * 1024 * 1024, "x"));
    const bigAt = await leader.replica.propose(2, [big]);
    expect(bigAt.first).toBe(total + 1);
    await until("follower applied the big command", () => list.every((r) => r.sm.appliedPosition(2) === total + 1));
    expect(list[1]!.sm.rows(2).at(-1)!.command.length).toBe(big.length);
    const rows = leader.sm.rows(2).slice(0, total);
    results.forEach((r, i) => expect(rows.slice(r.first - 1, r.last).map((x) => x.command)).toEqual(group(`p${i}`, 1 + (i % 5)).map((c) => new TextDecoder().decode(c))));
    // 40 groups proposed at once went out in far fewer entries.
    expect((await new ShardLog(client, "/r5", 2).read(1, 100)).entries.length).toBeLessThan(40);
    expect(list[1]!.sm.rows(2)).toEqual(list[0]!.sm.rows(2));
  });

  test("a leader that stops hands over: the new leader has every acknowledged entry and a higher epoch", async () => {
    const list = [await startReplica("/r2", "a", [7]), await startReplica("/r2", "b", [7]), await startReplica("/r2", "c", [7])];
    await until("a leader", () => list.some((r) => r.replica.isLeader(7)));
    const first = leaderOf(list, 7)!;
    const epoch = first.replica.shard(7).epoch;
    for (let i = 0; i < 10; i++) await first.replica.propose(7, group(`a${i}`, 4));
    await first.replica.stop();
    const rest = list.filter((r) => r !== first);
    await until("a new leader", () => rest.some((r) => r.replica.isLeader(7)));
    const next = leaderOf(rest, 7)!;
    expect(next.replica.shard(7).epoch).toBe(epoch + 1);
    expect(next.sm.appliedPosition(7)).toBe(40);
    expect((await next.replica.propose(7, group("b", 2))).first).toBe(41);
  });

  test("two shards, a follow-only replica never leads, routes list both", async () => {
    const a = await startReplica("/r3", "a", [1, 2]);
    const b = await startReplica("/r3", "b", [1, 2], { campaign: false });
    await until("a leads both", () => a.replica.isLeader(1) && a.replica.isLeader(2));
    await a.replica.propose(1, group("one", 3));
    await a.replica.propose(2, group("two", 5));
    await until("b follows both", () => b.sm.appliedPosition(1) === 3 && b.sm.appliedPosition(2) === 5);
    expect(b.replica.isLeader(1) || b.replica.isLeader(2)).toBe(false);
    const routes = await readRoutes(client, "/r3");
    expect(routes.map((r) => [r.shard, r.leader?.replicaId, r.tail])).toEqual([[1, "a", 3], [2, "a", 5]]);
  });

  test("a follower whose state machine breaks an invariant stops the shard and reports not ready", async () => {
    const a = await startReplica("/r6", "a", [4]);
    await until("a leads", () => a.replica.isLeader(4));
    const broken = new (class extends SqliteStateMachine {
      override applyEntry(shard: number, entry: Parameters<SqliteStateMachine["applyEntry"]>[1]): void {
        if (entry.commands.some((c) => new TextDecoder().decode(c) === "poison:0")) throw new Error("invariant broken");
        super.applyEntry(shard, entry);
      }
    })(join(dir, "r6-b.sqlite"));
    machines.push(broken);
    const errors: unknown[] = [];
    const b = await Replica.start({ etcd: cluster.endpoints, root: "/r6", replicaId: "b", address: "b:1", stateMachine: broken, shards: [4], campaign: false, onError: (e) => errors.push(e) });
    replicas.push(b);
    await a.replica.propose(4, group("fine", 2));
    await until("b applied the fine entry", () => broken.appliedPosition(4) === 2);
    await a.replica.propose(4, group("poison", 1));
    await until("b stopped the shard", () => b.shard(4).role === "stopped");
    expect(broken.appliedPosition(4)).toBe(2);
    expect(b.readiness()).toEqual({ ready: false, reasons: ["shard 4: not running"] });
    expect(errors.map(String).join("\n")).toContain("applying entry 3..3 failed");
  });

  test("a wiped replica restores the latest checkpoint, then replays the rest of a trimmed log", async () => {
    const store = await FileObjectStore.open({ dir: join(dir, "objects"), durability: "normal" });
    const a = await startReplica("/r4", "a", [3], { store });
    await until("a leads", () => a.replica.isLeader(3));
    for (let i = 0; i < 30; i++) await a.replica.propose(3, group(`c${i}`, 10));
    const checkpoint = await a.replica.checkpoint();
    expect(checkpoint.positions["3"]).toBe(300);
    for (let i = 0; i < 5; i++) await a.replica.propose(3, group(`d${i}`, 10));
    // Two kept checkpoints: the log is trimmed behind the older, so only a restore can rebuild.
    await a.replica.checkpoint();
    const log = new ShardLog(client, "/r4", 3);
    expect((await log.tail()).trimmedThrough).toBe(300);
    await a.replica.propose(3, group("e", 7));
    expect(await log.read(1).catch((e: unknown) => e)).toBeInstanceOf(LogTrimmedError);
    expect((await listCheckpoints(client, "/r4")).length).toBe(2);
    const wiped = await startReplica("/r4", "w", [3], { store, campaign: false });
    await until("wiped replica caught up", () => wiped.sm.appliedPosition(3) === 357);
    expect(wiped.sm.rows(3)).toEqual(a.sm.rows(3));
  });
});
