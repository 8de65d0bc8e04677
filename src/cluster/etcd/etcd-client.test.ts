import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EtcdClient, EtcdError, prefixEnd, utf8 } from "./etcd-client.ts";
import { EtcdCluster, etcdSkipReason } from "../testing/etcd-cluster.ts";
import { LIMITS } from "../../types/limits.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip etcd client tests: ${skip}`);

test("prefixEnd is the first key past a prefix", () => {
  expect([...prefixEnd(utf8("a/"))]).toEqual([...utf8("a0")]);
  expect([...prefixEnd(new Uint8Array([1, 0xff]))]).toEqual([2]);
});

describe.skipIf(skip !== null)("etcd client", () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000); // stopping etcd members takes seconds on a loaded machine

  test("a dead member is skipped: requests go to the next one", async () => {
    const client = new EtcdClient({ endpoints: ["http://127.0.0.1:1", ...cluster.endpoints] });
    await client.put(utf8("k"), utf8("v"));
    expect(new TextDecoder().decode((await client.get(utf8("k")))!.value)).toBe("v");
    client.close();
  });

  test("a paused member is waited for only one request timeout, then the next member answers", async () => {
    cluster.pause(0);
    try {
      const client = new EtcdClient({ endpoints: cluster.endpoints, requestTimeoutMs: 300 });
      const started = performance.now();
      await client.put(utf8("paused"), utf8("ok"));
      expect(performance.now() - started).toBeLessThan(3_000);
      client.close();
    } finally {
      cluster.resume(0);
    }
    await cluster.waitHealthy(0);
  });

  test("a request above etcd's size limit is EFBIG with etcd's reason, not retried forever", async () => {
    const client = new EtcdClient({ endpoints: cluster.endpoints });
    const err = await client.put(utf8("big"), new Uint8Array(LIMITS.etcdRequestMaxBytes + 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).code).toBe("EFBIG");
    expect(String(err)).toMatch(/too large/);
    client.close();
  });

  test("no member answering is ETIMEDOUT naming the last error", async () => {
    const client = new EtcdClient({ endpoints: ["http://127.0.0.1:1"], requestTimeoutMs: 200, requestDeadlineMs: 300 });
    const err = await client.get(utf8("k")).catch((e: unknown) => e);
    expect((err as EtcdError).code).toBe("ETIMEDOUT");
    expect(String(err)).toMatch(/no member answered.*127\.0\.0\.1:1/);
    client.close();
  });

  test("a txn above 128 operations is refused before it is sent", async () => {
    const client = new EtcdClient({ endpoints: cluster.endpoints });
    const ops = Array.from({ length: LIMITS.etcdTxnMaxOps + 1 }, (_, i) => ({ put: { key: utf8(`t/${i}`), value: utf8("") } }));
    await expect(client.txn([], ops)).rejects.toThrow(/above 128 per transaction/);
    client.close();
  });
});
