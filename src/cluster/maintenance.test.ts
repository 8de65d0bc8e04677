import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EtcdClient, utf8 } from "./etcd/etcd-client.ts";
import { EtcdMaintenance } from "./maintenance.ts";
import { EtcdCluster, etcdSkipReason } from "./testing/etcd-cluster.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip maintenance tests: ${skip}`);

describe.skipIf(skip !== null)("etcd maintenance", () => {
  let cluster: EtcdCluster;
  let client: EtcdClient;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 3 });
    client = new EtcdClient({ endpoints: cluster.endpoints });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  }, 30_000); // stopping etcd members and replica processes takes seconds on a loaded machine

  test("the scheduled form ticks by itself", async () => {
    const m = EtcdMaintenance.start({ client, root: "/m-timer", compactIntervalMs: 100, defragIntervalMs: 60_000 });
    try {
      const key = utf8("/m-timer/maintenance/compact");
      let record: { atMs: number; revision: number } | null = null;
      const deadline = performance.now() + 5_000;
      while (performance.now() < deadline) {
        const kv = await client.get(key);
        record = kv ? (JSON.parse(new TextDecoder().decode(kv.value)) as { atMs: number; revision: number }) : null;
        if (record) break;
        await Bun.sleep(20);
      }
      expect(record?.revision).toBeGreaterThan(0);
    } finally {
      m.stop();
    }
  });

  test("compaction drops history one period old, defragmentation shrinks every member, each once per period", async () => {
    const key = utf8("/m/churn");
    const big = new Uint8Array(64 * 1024).fill(7);
    for (let i = 0; i < 200; i++) await client.put(key, big);
    const before = await Promise.all(cluster.endpoints.map((e) => client.status(e)));
    const oldRevision = before[0]!.revision - 100;
    expect((await client.range(key, { revision: oldRevision })).kvs.length).toBe(1);

    const first = EtcdMaintenance.create({ client, root: "/m", compactIntervalMs: 300, defragIntervalMs: 300 });
    const other = EtcdMaintenance.create({ client, root: "/m", compactIntervalMs: 300, defragIntervalMs: 300 });
    try {
      // The first period only records the revision; compaction goes to it one period later.
      const runs = await Promise.all([first.tick(), other.tick()]);
      expect(runs.filter((r) => r.defragmented.length === 3).length).toBe(1);
      expect(runs.every((r) => r.compactedTo === null)).toBe(true);
      for (let i = 0; i < 10; i++) await client.put(key, big);
      await Bun.sleep(350);
      const second = await Promise.all([first.tick(), other.tick()]);
      const compacted = second.map((r) => r.compactedTo).filter((r) => r !== null);
      expect(compacted.length).toBe(1);
      expect(compacted[0]!).toBeGreaterThanOrEqual(before[0]!.revision);
      await expect(client.range(key, { revision: oldRevision })).rejects.toThrow(/compacted/);
      const after = await Promise.all(cluster.endpoints.map((e) => client.status(e)));
      after.forEach((s, i) => expect(s.dbSizeBytes).toBeLessThan(before[i]!.dbSizeBytes));
    } finally {
      first.stop();
      other.stop();
    }
  });
});
