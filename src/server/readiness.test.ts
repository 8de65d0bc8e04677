import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openObjectStore } from "../objstore/index.ts";
import { FaultyObjectStore } from "../objstore/fault/fault-store.ts";
import { S3RVER_ENV } from "../objstore/s3/testing/s3-harness.ts";
import { startS3rver, type S3rverHandle } from "../objstore/s3/testing/s3rver.ts";
import { LIMITS } from "../types/index.ts";
import { ReadinessProbe } from "./readiness.ts";

// /readyz is only "ready" when the object store answers with the configured bucket, credentials
// and route: a real file store and a real S3 server (s3rver), broken in the ways operators break them.

let dir: string;
let s3: S3rverHandle;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nokv-ready-"));
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a reachable store is ready", async () => {
  const store = await openObjectStore(`file://${join(dir, "objects")}`);
  expect(await new ReadinessProbe(store).check()).toEqual({ ready: true, checks: { objectStore: "ok" } });
  const s3store = await openObjectStore(`s3://${s3.bucket}/p?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`, { env: S3RVER_ENV });
  expect((await new ReadinessProbe(s3store).check()).ready).toBe(true);
  await s3store.close();
  await store.close();
});

test("a missing bucket is not ready, and says so", async () => {
  const store = await openObjectStore(`s3://no-such-bucket/p?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`, { env: S3RVER_ENV });
  const result = await new ReadinessProbe(store).check();
  expect(result.ready).toBe(false);
  expect(result.checks.objectStore).toBe("failed");
  expect(result.reason).toContain("NoSuchBucket");
  await store.close();
});

test("wrong credentials are not ready", async () => {
  const store = await openObjectStore(`s3://${s3.bucket}/p?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`, {
    env: { AWS_ACCESS_KEY_ID: "WRONG", AWS_SECRET_ACCESS_KEY: "WRONG" },
  });
  const result = await new ReadinessProbe(store).check();
  expect(result).toMatchObject({ ready: false, checks: { objectStore: "failed" } });
  expect(result.reason).toContain("EACCES");
  await store.close();
});

test("an unreachable endpoint is not ready", async () => {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const store = await openObjectStore(`s3://${s3.bucket}/p?endpoint=${encodeURIComponent(`http://127.0.0.1:${port}`)}&region=us-east-1`, {
    env: S3RVER_ENV,
    s3Policy: { maxAttempts: 1 },
  });
  const result = await new ReadinessProbe(store).check();
  expect(result.ready).toBe(false);
  expect(result.checks.objectStore).not.toBe("ok");
  await store.close();
}, 30_000);

test("a store that refuses (wrong credentials) or stalls is not ready; results are reused briefly", async () => {
  const inner = await openObjectStore(`file://${join(dir, "objects2")}`);
  let now = 0;
  const denied = new FaultyObjectStore(inner, [{ op: "list", fail: "EACCES" }]);
  const probe = new ReadinessProbe(denied, () => now);
  const first = await probe.check();
  expect(first).toMatchObject({ ready: false, checks: { objectStore: "failed" } });
  expect(first.reason).toContain("EACCES");
  denied.rules = [];
  expect(await probe.check()).toBe(first);
  now += LIMITS.readyCheckCacheMs;
  expect((await probe.check()).ready).toBe(true);
  const stalled = new FaultyObjectStore(inner, [{ op: "list", stallMs: LIMITS.readyCheckTimeoutMs + 2_000 }]);
  const slow = await new ReadinessProbe(stalled).check();
  expect(slow).toMatchObject({ ready: false, checks: { objectStore: "timeout" } });
  await inner.close();
}, 30_000);
