import { afterEach, expect, test } from "bun:test";
import { startMetad, type MetadHarness } from "../../test/harness.ts";
import { LIMITS } from "../types/index.ts";
import { OTHER_OPS, RpcClient } from "./rpc-client.ts";

// RpcClient.opStats: each request counted once under its op, when it settles, failures apart;
// ops past the limit share one entry.

let h: MetadHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

test("round trips are counted per op when they settle, failures apart", async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/d");
  await c.writeFile("/d/f", "hello");
  await c.stat("/d/f");
  await expect(c.stat("/d/missing")).rejects.toThrow();
  const stats = c.rpcStats();
  const all = [...stats.values()];
  // Every entry describes requests that settled: counted, timed, none more failed than made.
  for (const s of all) {
    expect(s.calls).toBeGreaterThan(0);
    expect(s.failed).toBeLessThanOrEqual(s.calls);
    expect(s.maxUs).toBeGreaterThan(0);
    expect(s.totalUs).toBeGreaterThanOrEqual(s.maxUs);
  }
  expect(stats.get("mkdir_path")).toMatchObject({ calls: 1, failed: 0 });
  expect(stats.get("publish")).toMatchObject({ calls: 1, failed: 0 });
  // Two stats by path, the second of a missing name: one call failed, and both were timed.
  expect(stats.get("stat_path")).toMatchObject({ calls: 2, failed: 1 });
  expect(stats.has("rmdir_path")).toBe(false);
  await c.close();
});

test("ops past clientOpStatsMax share one entry, so the table stays bounded", async () => {
  h = await startMetad();
  const rpc = new RpcClient({ host: "127.0.0.1", port: h.port });
  try {
    // Unknown ops fail at metad (EINVAL naming the op) and are still counted.
    for (let i = 0; i < LIMITS.clientOpStatsMax + 5; i++) await rpc.call(`no_such_op_${i}`, {}).catch(() => {});
    expect(rpc.opStats.size).toBe(LIMITS.clientOpStatsMax + 1);
    expect(rpc.opStats.get(OTHER_OPS)).toMatchObject({ calls: 5, failed: 5 });
    expect(rpc.opStats.get("no_such_op_0")).toMatchObject({ calls: 1, failed: 1 });
  } finally {
    rpc.close();
  }
});
