// A replica whose start races a log trim: its database passes the check at start (the log still
// holds everything after it), then the leader trims past it before it joins. Joining fails with
// ESTALE and the database, held open, cannot be replaced in place: metad starts again, which sets
// the database aside and restores the newest checkpoint, and the replica serves.
import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient, ShardLog } from "../../src/cluster/index.ts";
import { EtcdCluster, etcdSkipReason } from "../../src/cluster/testing/etcd-cluster.ts";
import { DEFAULT_CONFIG, type MetadConfig } from "../../src/server/config.ts";
import { LIMITS } from "../../src/types/index.ts";
import { Metad, StartupError } from "../../src/server/metad.ts";
import { connect, type NoKVClient } from "../../src/sdk/index.ts";
import { MetadProcess } from "./metad-cluster.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip cluster join-retry test: ${skip}`);

const ROOT = "/nokv-join";
const MOUNT = 1;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

function appliedPosition(metad: Metad): number {
  return metad.cluster!.status().shards.find((s) => s.shard === MOUNT)?.applied ?? 0;
}

/** Metad.start with what it printed to stderr meanwhile; the outcome is the Metad or what it threw. */
async function startCapturing(config: MetadConfig): Promise<{ outcome: unknown; said: string }> {
  const errors = spyOn(console, "error").mockImplementation(() => {});
  try {
    const outcome = await Metad.start(config).catch((err: unknown) => err);
    return { outcome, said: errors.mock.calls.map((c) => c.join(" ")).join("\n") };
  } finally {
    errors.mockRestore();
  }
}

describe.skipIf(skip !== null)("a replica whose start races a log trim", () => {
  let dir: string;
  let etcd: EtcdCluster;
  let etcdClient: EtcdClient;
  let leader: MetadProcess;
  let client: NoKVClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nokv-join-"));
    etcd = await EtcdCluster.start({ members: 1 });
    etcdClient = new EtcdClient({ endpoints: etcd.endpoints });
    leader = new MetadProcess({
      replicaId: "r0",
      etcd: etcd.endpoints,
      root: ROOT,
      dataDir: join(dir, "r0"),
      objectsUrl: `file://${join(dir, "objects")}`,
      extraArgs: ["--checkpoint-interval-ms", "300"],
    });
    await leader.start();
    await leader.waitReady();
    client = await connect(`nokv://${leader.address}`);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await leader?.stop();
    etcdClient?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Replica `replicaId` in its own data directory, with a hook run before each join. */
  function replicaConfig(replicaId: string, beforeJoin?: () => Promise<void>): MetadConfig {
    return {
      ...DEFAULT_CONFIG,
      port: 0,
      dataDir: join(dir, replicaId),
      objectsUrl: `file://${join(dir, "objects")}`,
      gcIntervalMs: 0,
      cluster: { etcd: etcd.endpoints, replicaId, root: ROOT, checkpointIntervalMs: 0, ...(beforeJoin ? { beforeJoin } : {}) },
    };
  }

  test("joining finds the database behind the trimmed log: metad starts again from the newest checkpoint", async () => {
    for (let i = 0; i < 5; i++) await client.writeFile(`/before-${i}`, String(i));
    const config = replicaConfig("r1");
    const dataDir = config.dataDir;
    const log = new ShardLog(etcdClient, ROOT, MOUNT);
    const first = await Metad.start(config);
    await until("r1 caught up", async () => appliedPosition(first) >= (await log.tail()).last);
    const stoppedAt = appliedPosition(first);
    await first.stop();

    // Nothing was written since: the check at start finds the database current. Then, in the
    // window before joining, the leader writes on and trims the log past it.
    let windows = 0;
    const { outcome, said } = await startCapturing(
      replicaConfig("r1", async () => {
        if (windows++ > 0) return;
        expect((await log.tail()).trimmedThrough).toBeLessThanOrEqual(stoppedAt);
        for (let i = 0; i < 5; i++) await client.writeFile(`/in-window-${i}`, String(i));
        await until("the log trimmed past r1", async () => (await log.tail()).trimmedThrough > stoppedAt);
      }),
    );
    if (!(outcome instanceof Metad)) throw outcome;
    const metad = outcome;
    expect(windows).toBe(2);
    expect(said).toContain("starting again to restore the newest checkpoint (attempt 2 of");
    expect(said).toContain("restoring the newest checkpoint");
    expect(readdirSync(dataDir).some((f) => f.startsWith("meta.db.behind-"))).toBe(true);
    try {
      await until("r1 caught up again", async () => appliedPosition(metad) >= (await log.tail()).last);
      const direct = await connect(`nokv://127.0.0.1:${metad.address.port}`);
      try {
        expect((await direct.readdir("/")).filter((n) => n.startsWith("in-window-")).length).toBe(5);
      } finally {
        await direct.close();
      }
    } finally {
      await metad.stop();
    }
    expect(existsSync(join(dataDir, "meta.db"))).toBe(true);
  }, 60_000);

  test(`a start that loses the race every time gives up after clusterJoinAttemptsMax (${LIMITS.clusterJoinAttemptsMax}) starts, naming why`, async () => {
    const log = new ShardLog(etcdClient, ROOT, MOUNT);
    let windows = 0;
    // Each start's database holds at most what the log holds now; the trim passes that.
    const { outcome, said } = await startCapturing(
      replicaConfig("r2", async () => {
        windows++;
        const last = (await log.tail()).last;
        for (let i = 0; i < 3; i++) await client.writeFile(`/lost-${windows}-${i}`, String(i));
        await until("the log trimmed past this start", async () => (await log.tail()).trimmedThrough > last);
      }),
    );
    if (outcome instanceof Metad) await outcome.stop();
    expect(outcome).toBeInstanceOf(StartupError);
    expect((outcome as StartupError).message).toMatch(/cannot join the cluster.*ESTALE|cannot join the cluster.*trimmed/);
    expect(windows).toBe(LIMITS.clusterJoinAttemptsMax);
    expect(said).toContain(`attempt ${LIMITS.clusterJoinAttemptsMax} of ${LIMITS.clusterJoinAttemptsMax}`);
    // Nothing is left holding the data directory: a start without the race serves.
    const metad = await Metad.start(replicaConfig("r2"));
    await metad.stop();
  }, 90_000);
});
