import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from "bun:test";
import { connect } from "../../src/sdk/index.ts";
import { S3RVER_ENV, s3StoreUrl } from "../../src/objstore/s3/testing/s3-harness.ts";
import { startS3rver, type S3rverHandle } from "../../src/objstore/s3/testing/s3rver.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

// What an operator watches: GET /metrics in the Prometheus text format, /readyz that knows the
// object store, and --log-format json lines for auth failures and GC errors, against a real
// metad (and a real S3 server for the object-store failures).

const TOKEN = "monitoring-token-0123456789";
let s3: S3rverHandle;
let h: MetadHarness | null = null;
let logged: string[] = [];
let realWrite: typeof process.stderr.write;

const savedEnv = { ...process.env };
beforeAll(async () => {
  Object.assign(process.env, S3RVER_ENV);
  s3 = await startS3rver();
});
afterAll(async () => {
  for (const name of Object.keys(S3RVER_ENV)) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  await s3.stop();
});
beforeEach(() => {
  logged = [];
  realWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    logged.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return true;
  }) as typeof process.stderr.write;
});
afterEach(async () => {
  process.stderr.write = realWrite;
  await h?.stop();
  h = null;
});

function events(name: string): Array<Record<string, unknown>> {
  return logged
    .join("")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.event === name);
}

/** Every sample line of the exposition: `name{labels} value`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# ")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    out.set(match[1]!, Number(match[2]));
  }
  return out;
}

test("GET /metrics is Prometheus text with ops, latency, commits, writes, connections, auth, database and GC", async () => {
  h = await startMetad({ token: TOKEN, logFormat: "json" });
  const c = await connect(h.url, { token: TOKEN });
  await c.mkdir("/m");
  for (let i = 0; i < 5; i++) await c.createFile(`/m/f${i}`);
  await c.stat("/m/f1");
  await connect(h.url, { token: "wrong-token-0123456789" }).then(
    () => {
      throw new Error("a wrong token connected");
    },
    () => {},
  );
  await h.metad.runGc();
  const response = await fetch(`http://127.0.0.1:${h.port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const text = await response.text();
  const s = samples(text);
  expect(s.get('nokv_op_requests_total{op="create_file_path"}')).toBe(5);
  expect(s.get('nokv_op_latency_seconds_count{op="create_file_path"}')).toBe(5);
  expect(s.get('nokv_op_latency_seconds_bucket{op="create_file_path",le="+Inf"}')).toBe(5);
  expect(text).toContain("# TYPE nokv_op_latency_seconds histogram");
  expect(s.get("nokv_group_commit_ops_count")).toBeGreaterThanOrEqual(6);
  expect(s.get('nokv_store_writes_total{kind="commits"}')).toBeGreaterThan(0);
  expect(s.get("nokv_connections_open")).toBeGreaterThanOrEqual(1);
  expect(s.get("nokv_auth_failures_total")).toBe(events("auth_failure").length);
  expect(s.get("nokv_auth_failures_total")).toBeGreaterThanOrEqual(1);
  expect(s.get("nokv_database_bytes")).toBeGreaterThan(0);
  expect(s.has("nokv_wal_bytes")).toBe(true);
  expect(s.get("nokv_gc_runs_total")).toBe(1);
  expect(s.get("nokv_gc_last_pass_failed")).toBe(0);
  expect(text).toContain("# TYPE nokv_object_store_errors_total counter");
  // Buckets are cumulative and end at the count.
  const buckets = [...s].filter(([k]) => k.startsWith('nokv_op_latency_seconds_bucket{op="create_file_path"')).map(([, v]) => v);
  expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  const [auth] = events("auth_failure");
  expect(auth).toMatchObject({ level: "warn", via: "rpc", reason: "wrong or missing token" });
  expect(JSON.stringify(auth)).not.toContain("wrong-token-0123456789");
  await c.close();
});

test("GC delete failures reach /stats gc.lastError, /metrics and one JSON log line per pass", async () => {
  const store = await startS3rver("gc-errors");
  h = await startMetad({ objectsUrl: s3StoreUrl(store, "gc"), logFormat: "json" });
  const c = await h.client();
  for (let i = 0; i < 3; i++) await c.writeFile(`/g${i}`, new Uint8Array(100).fill(i));
  for (let i = 0; i < 3; i++) await c.unlink(`/g${i}`);
  await store.stop();
  const report = (await h.metad.runGc()) as { objectDeleteErrors: number };
  expect(report.objectDeleteErrors).toBe(3);
  const stats = (await (await fetch(`http://127.0.0.1:${h.port}/stats`)).json()) as { gc: { lastError: string | null } };
  expect(stats.gc.lastError).toStartWith("3 object delete(s) failed; last: ");
  const gcLines = events("gc_error");
  expect(gcLines).toHaveLength(1);
  expect(gcLines[0]).toMatchObject({ level: "error", failures: 3 });
  const s = samples(await (await fetch(`http://127.0.0.1:${h.port}/metrics`)).text());
  expect(s.get('nokv_object_store_errors_total{op="delete"}')).toBe(3);
  expect(s.get("nokv_gc_last_pass_failed")).toBe(1);
  // And the store being gone makes metad not ready.
  const ready = await fetch(`http://127.0.0.1:${h.port}/readyz`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { checks: { objectStore: string } }).checks.objectStore).not.toBe("ok");
}, 60_000);

test("/readyz is ready with a reachable store, and not once the store stops answering", async () => {
  h = await startMetad({ objectsUrl: s3StoreUrl(s3, "ready") });
  const ok = await fetch(`http://127.0.0.1:${h.port}/readyz`);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ ready: true, checks: { objectStore: "ok" } });
  await h.stop();
  // A store that answered at start (metad checks its store id then) and then went away.
  const doomed = await startS3rver("doomed");
  h = await startMetad({ objectsUrl: s3StoreUrl(doomed, "ready") });
  expect((await fetch(`http://127.0.0.1:${h.port}/readyz`)).status).toBe(200);
  await doomed.stop();
  await Bun.sleep(2_100); // the probe's answer is reused for up to 2 s
  const gone = await fetch(`http://127.0.0.1:${h.port}/readyz`);
  expect(gone.status).toBe(503);
  const body = (await gone.json()) as { ready: boolean; reason: string };
  expect(body.ready).toBe(false);
  expect(body.reason.length).toBeGreaterThan(0);
}, 60_000);

test("metad refuses to start on a missing bucket, naming it", async () => {
  const { Metad } = await import("../../src/server/metad.ts");
  const { DEFAULT_CONFIG } = await import("../../src/server/config.ts");
  const dir = await mkdtemp(join(tmpdir(), "nokv-missing-bucket-"));
  try {
    const err = (await Metad.start({ ...DEFAULT_CONFIG, port: 0, dataDir: join(dir, "data"), objectsUrl: s3StoreUrl({ endpoint: s3.endpoint, bucket: "missing-bucket" }, "ready"), gcIntervalMs: 0 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain("NoSuchBucket");
    expect(err.message).toContain("missing-bucket");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);

test("metad refuses credentials in the object store URL without printing them", async () => {
  const { Metad } = await import("../../src/server/metad.ts");
  const { DEFAULT_CONFIG } = await import("../../src/server/config.ts");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "nokv-redact-"));
  const secret = "s3cr3t-Key-That-Must-Not-Leak";
  try {
    const err = (await Metad.start({ ...DEFAULT_CONFIG, port: 0, dataDir: join(dir, "data"), objectsUrl: `s3://AKIALEAK:${secret}@bucket-x/p?endpoint=${encodeURIComponent(s3.endpoint)}`, gcIntervalMs: 0 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain("credentials in the URL");
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain("AKIALEAK");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
