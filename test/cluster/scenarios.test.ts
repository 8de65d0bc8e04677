// Replicated metad processes over a real 3-member etcd: two mounts led by different replicas
// (--prefer-lead), an etcd member lost under writes, a leader paused past its lease and resumed,
// and a replica wiped and rebuilt from a checkpoint. Ends with every replica's tables identical
// and fsck clean on each.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ShardLog, listCheckpoints, readRoute, type LogEntry } from "../../src/cluster/index.ts";
import { etcdSkipReason } from "../../src/cluster/testing/etcd-cluster.ts";
import { connect } from "../../src/sdk/index.ts";
import { RpcClient } from "../../src/sdk/rpc-client.ts";
import { ClusterFixture, fsckReplica, tableRows } from "./cluster-fixture.ts";
import { expectSameRows } from "./same-rows.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip cluster scenario tests: ${skip}`);

const CHECKPOINT_MS = 3_000;
// r0 leads the catalog and mount 1, r1 mount 2; r2 stands by for the catalog.
const PREFER = ["0,1", "2", "0"];

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** The entries from `from` on (checkpoints trim older ones, every CHECKPOINT_MS at the soonest). */
async function entriesFrom(log: ShardLog, start: number): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for (let from = Math.max(start, (await log.tail()).trimmedThrough + 1); ; ) {
    const { entries } = await log.read(from);
    if (entries.length === 0) return out;
    out.push(...entries);
    from = entries.at(-1)!.last + 1;
  }
}

describe.skipIf(skip !== null)("replicated metad scenarios", () => {
  let fixture: ClusterFixture;

  beforeAll(async () => {
    fixture = await ClusterFixture.start({ extraArgs: (i) => ["--prefer-lead", PREFER[i]!, "--checkpoint-interval-ms", String(CHECKPOINT_MS)] });
  }, 60_000);
  afterAll(async () => {
    await fixture?.stop();
  }, 30_000);

  test("two mounts led by different replicas, each serving its own writes", async () => {
    const admin = await connect(fixture.url);
    const second = await admin.createMount("second");
    expect(second.id).toBe(2);
    let leaders: string[] = [];
    await until("mount 1 led by r0 and mount 2 by r1", async () => {
      leaders = [(await fixture.leaderOf(1)).replicaId, (await fixture.leaderOf(2)).replicaId];
      return leaders.join() === "r0,r1";
    }).catch((err: Error) => {
      throw new Error(`${err.message}; leaders of mounts 1, 2: ${leaders.join(", ")}`);
    });
    const other = await connect(fixture.url, { mount: "second" });
    await Promise.all([...Array.from({ length: 10 }, (_, i) => admin.writeFile(`/one-${i}`, `1:${i}`)), ...Array.from({ length: 10 }, (_, i) => other.writeFile(`/two-${i}`, `2:${i}`))]);
    expect(await other.readFile("/two-9", "utf8")).toBe("2:9");
    expect(await admin.readFile("/one-9", "utf8")).toBe("1:9");
    expect((await other.readdir("/")).filter((n) => n.startsWith("one-"))).toEqual([]);
    // The leaders are still the ones preferred: each mount's writes went to its own replica.
    expect([(await fixture.leaderOf(1)).replicaId, (await fixture.leaderOf(2)).replicaId]).toEqual(["r0", "r1"]);
    await Promise.all([admin.close(), other.close()]);
  }, 30_000);

  test("a watch rides through a leader kill -9: every event once, in order, from its cursor", async () => {
    const writerClient = await connect(fixture.url);
    const watchClient = await connect(fixture.url);
    await writerClient.mkdir("/watched");
    const watcher = watchClient.watch("/watched");
    await watcher.ready;
    const seen: string[] = [];
    const collecting = (async () => {
      for await (const event of watcher) {
        if (event.kind === "publish" && event.name) seen.push(event.name);
        if (seen.length >= 20) break;
      }
    })();
    for (let i = 0; i < 10; i++) await writerClient.writeFile(`/watched/e${i}`, String(i));
    const leader = await fixture.leaderOf(1);
    await leader.kill();
    for (let i = 10; i < 20; i++) await writerClient.writeFile(`/watched/e${i}`, String(i));
    await collecting;
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`));
    watcher.close();
    await leader.start();
    await leader.waitReady();
    await Promise.all([writerClient.close(), watchClient.close()]);
  }, 40_000);

  test("snapshot reads are served by a follower that applied the snapshot; current reads are redirected", async () => {
    const client = await connect(fixture.url);
    await client.writeFile("/snap-file", "v1");
    const snap = await client.snapshot("/");
    await client.writeFile("/snap-file", "v2");
    await fixture.waitConverged();
    // r0 prefers mount 1: once it leads it, leadership stays put for this test.
    await until("r0 leading mount 1", async () => (await fixture.leaderOf(1)).replicaId === "r0");
    const leader = await fixture.leaderOf(1);
    const follower = fixture.replicas.find((r) => r !== leader && r.running)!;
    // A raw RPC connection to the follower alone, so nothing follows a redirect.
    const rpc = new RpcClient({ host: "127.0.0.1", port: follower.port, followRedirects: false });
    try {
      const { mount } = (await rpc.call("hello", { mount: "default" })) as { mount: { id: number } };
      const attrs = (await rpc.call("stat_path", { mount: mount.id, snapshot: snap.id, path: "/snap-file" })) as unknown;
      expect(attrs).toBeDefined();
      // A follower learns a new leader at its next poll of etcd; until then it says none is known.
      let current: unknown;
      await until("the follower naming the leader", async () => {
        current = await rpc.call("stat_path", { mount: mount.id, path: "/snap-file" }).catch((e: { code?: string; message?: string }) => e);
        return !String((current as Error).message).includes("no leader elected yet");
      });
      expect(current).toMatchObject({ code: "EAGAIN" });
      expect(String((current as Error).message)).toContain(`at ${leader.address}`);
    } finally {
      rpc.close();
    }
    expect(await (await client.openSnapshot(snap.id)).readFile("/snap-file", "utf8")).toBe("v1");

    // Retired, the snapshot's history is garbage: the mount's leader collects it through its log.
    await snap.retire();
    const res = await fetch(`http://${leader.address}/gc`, { method: "POST" });
    const report = (await res.json()) as { historyRowsDeleted: number };
    expect(res.status).toBe(200);
    expect(report.historyRowsDeleted).toBeGreaterThan(0);
    await fixture.waitConverged();
    await client.close();
  }, 30_000);

  test("one etcd member killed: the mount keeps serving on 2 of 3", async () => {
    const client = await connect(fixture.url);
    const member = await fixture.etcd.leaderIndex();
    await fixture.etcd.kill(member);
    try {
      const started = performance.now();
      for (let i = 0; i < 20; i++) await client.writeFile(`/etcd-down-${i}`, String(i));
      console.log(`20 writes with etcd member m${member} (its leader) down: ${Math.round(performance.now() - started)} ms`);
      expect(await client.readFile("/etcd-down-19", "utf8")).toBe("19");
    } finally {
      await fixture.etcd.restart(member);
      await fixture.etcd.waitHealthy(member);
    }
    await client.close();
  }, 40_000);

  test("a leader paused past its lease acknowledges nothing more after SIGCONT", async () => {
    const old = await fixture.leaderOf(1);
    const log = new ShardLog(fixture.client, fixture.root, 1);
    const epochBefore = (await readRoute(fixture.client, fixture.root, 1)).epoch;
    const tailBefore = (await log.tail()).last;
    // A client that knows only the old leader: its write waits in the paused process's socket.
    const stuck = await connect(`nokv://${old.address}`);
    const others = await connect(fixture.url);
    // And a raw connection that does not follow redirects: what the old leader itself answers.
    const raw = new RpcClient({ host: "127.0.0.1", port: old.port, followRedirects: false });
    const { mount } = (await raw.call("hello", { mount: "default" })) as { mount: { id: number } };
    old.pause();
    let stuckDone = false;
    const stuckWrite = stuck.writeFile("/while-paused", "once").then(() => (stuckDone = true));
    const rawWrite = raw.call("mkdir", { mount: mount.id, parent: 1, name: "raw-while-paused" }, "paused-test:1").then(
      () => ({ acknowledged: true, code: "" }),
      (err: { code?: string }) => ({ acknowledged: false, code: err.code ?? "" }),
    );
    try {
      // A new leader takes over and acknowledges writes while the old one sleeps.
      await others.writeFile("/after-pause", "new leader");
      const newLeader = await fixture.leaderOf(1);
      expect(newLeader.replicaId).not.toBe(old.replicaId);
      expect(stuckDone).toBe(false);
    } finally {
      old.resume();
    }
    // After SIGCONT the old leader's lease is gone: it refuses (naming the new leader), the client
    // follows the redirect, and the write lands once, through the new leader's epoch.
    await stuckWrite;
    expect(await others.readFile("/while-paused", "utf8")).toBe("once");
    // The old leader itself acknowledged nothing after SIGCONT: it refused, naming no leader of its own.
    expect(await rawWrite).toEqual({ acknowledged: false, code: "EAGAIN" });
    expect(await others.stat("/raw-while-paused").catch((e: { code?: string }) => e.code)).toBe("ENOENT");
    raw.close();
    const entries = await entriesFrom(log, tailBefore);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.epoch).toBeGreaterThanOrEqual(entries[i - 1]!.epoch);
    const after = entries.filter((e) => e.epoch > epochBefore);
    expect(after.length).toBeGreaterThan(0);
    // Nothing of the old epoch was appended once a newer one existed.
    expect(entries.filter((e) => e.epoch === epochBefore && e.first > after[0]!.first)).toEqual([]);
    await Promise.all([stuck.close(), others.close()]);
  }, 40_000);

  test("/readyz: 503 on every replica while etcd has no quorum, 200 again once it has", async () => {
    await fixture.etcd.kill(0);
    await fixture.etcd.kill(1);
    try {
      await until("every replica not ready", async () => (await Promise.all(fixture.replicas.map((r) => r.readyz()))).every((r) => r.status === 503), 20_000);
      const { body } = await fixture.replicas[0]!.readyz();
      expect(String(body.reason)).toMatch(/no word from etcd|lease not confirmed/);
    } finally {
      await fixture.etcd.restart(0);
      await fixture.etcd.restart(1);
    }
    await Promise.all(fixture.replicas.map((r) => r.waitReady(30_000)));
    const client = await connect(fixture.url);
    await client.writeFile("/after-quorum", "back");
    expect(await client.readFile("/after-quorum", "utf8")).toBe("back");
    await client.close();
  }, 60_000);

  test("a wiped replica restores the newest checkpoint and replays the rest of the log", async () => {
    const client = await connect(fixture.url);
    for (let i = 0; i < 30; i++) await client.writeFile(`/before-wipe-${i}`, String(i));
    const log = new ShardLog(fixture.client, fixture.root, 1);
    // Two checkpoints past those writes: the log is trimmed behind the older, so only a checkpoint can rebuild.
    const applied = (await fixture.waitConverged())[1]!;
    await until("the log trimmed behind a checkpoint", async () => (await log.tail()).trimmedThrough >= applied, 20_000);
    const victim = fixture.replicas[2]!;
    await victim.stop();
    victim.wipe();
    for (let i = 0; i < 10; i++) await client.writeFile(`/while-wiped-${i}`, String(i));
    await victim.start();
    await victim.waitReady();
    expect(victim.output).not.toContain("cannot");
    expect((await listCheckpoints(fixture.client, fixture.root)).length).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) await client.writeFile(`/after-rebuild-${i}`, String(i));
    await fixture.waitConverged();

    // A replica stopped (not wiped) while the log moved past it: at start it sets its database
    // aside and restores the newest checkpoint, since the log alone cannot bring it back.
    const sleeper = fixture.replicas[1]!;
    const sleptAt = (await fixture.waitConverged())[1]!;
    await sleeper.stop();
    for (let i = 0; i < 10; i++) await client.writeFile(`/while-stopped-${i}`, String(i));
    await until("the log trimmed past the stopped replica", async () => (await log.tail()).trimmedThrough > sleptAt, 20_000);
    await sleeper.start();
    await sleeper.waitReady();
    expect(sleeper.output).toContain("restoring the newest checkpoint");
    await fixture.waitConverged();
    await client.close();

    // Every replica holds the same rows (the rebuilt one included) and fsck is clean on each.
    for (const r of fixture.replicas) await r.stop();
    expectSameRows(fixture.replicas.map((r) => tableRows(r.options.dataDir)));
    for (const r of fixture.replicas) {
      const { exitCode, report, output } = await fsckReplica(r);
      expect({ replica: r.replicaId, exitCode, violations: report?.violations ?? output }).toEqual({ replica: r.replicaId, exitCode: 0, violations: [] });
    }
  }, 60_000);
});
