// kill -9 of a mount's leader, at least 10 times, under a mixed write storm from SDK clients that
// name every replica: every acknowledged operation is there afterwards, every replica applied the
// same positions and holds the same rows, and fsck is clean on each replica's data.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { etcdSkipReason } from "../../src/cluster/testing/etcd-cluster.ts";
import { connect, type NoKVClient } from "../../src/sdk/index.ts";
import { ClusterFixture, fsckReplica, tableRows } from "./cluster-fixture.ts";
import { expectSameRows } from "./same-rows.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip cluster failover tests: ${skip}`);

const KILLS = 10;
const WRITERS = 4;
const MOUNT = 1;

/** What one writer's directory must hold: path -> content, or null for a path it removed. */
type Model = Map<string, string | null>;

async function writer(client: NoKVClient, dir: string, model: Model, stop: { done: boolean }, acks: number[]): Promise<void> {
  await client.mkdir(dir, { recursive: true });
  for (let n = 0; !stop.done; n++) {
    const path = `${dir}/f${n}`;
    const content = `${dir}:${n}`;
    await client.writeFile(path, content);
    model.set(path, content);
    acks.push(Date.now());
    if (n % 3 === 1) {
      const moved = `${dir}/g${n}`;
      await client.rename(path, moved);
      model.set(path, null);
      model.set(moved, content);
      acks.push(Date.now());
    } else if (n % 5 === 4) {
      await client.unlink(path);
      model.set(path, null);
      acks.push(Date.now());
    }
  }
}

describe.skipIf(skip !== null)("replicated metad: leader kill -9 under a write storm", () => {
  let fixture: ClusterFixture;

  beforeAll(async () => {
    fixture = await ClusterFixture.start();
  }, 60_000);
  afterAll(async () => {
    await fixture?.stop();
  }, 30_000);

  test(`${KILLS} leader kills: nothing acknowledged lost, replicas identical, fsck clean`, async () => {
    const clients = await Promise.all(Array.from({ length: WRITERS }, () => connect(fixture.url)));
    const models: Model[] = clients.map(() => new Map());
    const acks: number[] = [];
    const stop = { done: false };
    const failures: unknown[] = [];
    const writers = clients.map((c, i) => writer(c, `/w${i}`, models[i]!, stop, acks).catch((err) => failures.push(err)));
    const failoverMs: number[] = [];
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        await Bun.sleep(400);
        const leader = await fixture.leaderOf(MOUNT);
        await leader.kill();
        const killedAt = Date.now();
        // The first write acknowledged after the kill: the failover as clients see it.
        while (!acks.some((t) => t > killedAt) && failures.length === 0) await Bun.sleep(10);
        failoverMs.push(acks.find((t) => t > killedAt)! - killedAt);
        await leader.start();
        await leader.waitReady();
      }
    } finally {
      stop.done = true;
      await Promise.all(writers);
    }
    expect(failures).toEqual([]);
    console.log(`failover (kill -9 -> first acknowledged write) ms: ${failoverMs.join(" ")}; ${acks.length} writes acknowledged`);

    // Every acknowledged operation is there, read through the cluster.
    const reader = clients[0]!;
    for (const model of models) {
      for (const [path, content] of model) {
        if (content === null) expect(await reader.readFile(path, "utf8").catch((e: { code?: string }) => e.code)).toBe("ENOENT");
        else expect(await reader.readFile(path, "utf8")).toBe(content);
      }
    }
    await Promise.all(clients.map((c) => c.close()));

    // Every replica applied the same positions and holds the same rows; fsck is clean on each.
    await fixture.waitConverged();
    for (const r of fixture.replicas) await r.stop();
    expectSameRows(fixture.replicas.map((r) => tableRows(r.options.dataDir)));
    for (const r of fixture.replicas) {
      const { exitCode, report, output } = await fsckReplica(r);
      expect({ replica: r.replicaId, exitCode, violations: report?.violations ?? output }).toEqual({ replica: r.replicaId, exitCode: 0, violations: [] });
    }
  }, 150_000);
});
