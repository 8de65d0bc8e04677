import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Replica } from "../../src/cluster/index.ts";
import { EtcdCluster, etcdSkipReason } from "../../src/cluster/testing/etcd-cluster.ts";
import { SqliteStateMachine } from "../../src/cluster/testing/sqlite-state-machine.ts";
import { ok, runCli } from "./cli-harness.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip nokv-fs cluster status tests: ${skip}`);

describe.skipIf(skip !== null)("nokv-fs cluster status", () => {
  let cluster: EtcdCluster;
  let dir: string;
  let replica: Replica;
  let sm: SqliteStateMachine;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 1 });
    dir = mkdtempSync(join(tmpdir(), "nokv-cli-cluster-"));
    sm = new SqliteStateMachine(join(dir, "a.sqlite"));
    replica = await Replica.start({ etcd: cluster.endpoints, root: "/cli", replicaId: "a", address: "10.1.2.3:7777", stateMachine: sm, shards: [1, 2] });
    await replica.waitLeader(1, 10_000);
    await replica.waitLeader(2, 10_000);
    await replica.propose(1, [new Uint8Array([1]), new Uint8Array([2])]);
  }, 60_000);
  afterAll(async () => {
    await replica?.stop();
    sm?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("lists each shard's leader, epoch and log tail; --json carries the same", async () => {
    const args = ["cluster", "status", "--etcd", cluster.endpoints.join(","), "--root", "/cli"];
    const text = await ok(args);
    expect(text).toMatch(/^SHARD +LEADER +ADDRESS +EPOCH +LOG-TAIL/);
    expect(text).toMatch(/\n +1 +a +10\.1\.2\.3:7777 +1 +2 /);
    const routes = JSON.parse(await ok([...args, "--json"])) as Array<{ shard: number; leader: { replicaId: string }; tail: number }>;
    expect(routes.map((r) => [r.shard, r.leader.replicaId, r.tail])).toEqual([[1, "a", 2], [2, "a", 0]]);
  });

  test("without etcd endpoints it is a usage error that says what is missing", async () => {
    const r = await runCli(["cluster", "status"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--etcd");
  });
});
