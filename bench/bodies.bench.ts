// The client data path end to end: metad in its own process, the SDK here, bytes straight between
// the SDK and the object store. Each workload prints next to a floor measured in the same run on
// the same disk: plain node:fs for file://, the bare object store client for s3rver.
//   checkpoint publish: one large body, blocks uploaded in parallel, one publish request
//   training read:      many 16 KiB samples in random order, readFile each, with and without cache
// Run: ./node_modules/.bin/bun bench/bodies.bench.ts [--json] [--quick]
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openObjectStore, type ObjectStore } from "../src/objstore/index.ts";
import { S3RVER_ENV, s3StoreUrl } from "../src/objstore/s3/testing/s3-harness.ts";
import { startS3rver } from "../src/objstore/s3/testing/s3rver.ts";
import { connect, type NoKVClient } from "../src/sdk/index.ts";
import { runConcurrent, spawnServer, type RunResult } from "./lib/run.ts";

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const KiB = 1024;
const MiB = 1024 * KiB;
const SAMPLE_BYTES = 16 * KiB;
/** Samples read at once by the training loop (a data loader's prefetch depth). */
const SAMPLE_IN_FLIGHT = 64;
const root = join(import.meta.dir, "..");
// Under the working directory, on the disk a default store (file://./.nokv/objects) uses.
const dir = join(process.cwd(), ".nokv", `bench-bodies-${process.pid}`);
const floorDir = join(dir, "floor");
mkdirSync(floorDir, { recursive: true });
const progress = (msg: string) => process.stderr.write(`  ${msg}\n`);

interface Row {
  group: string;
  name: string;
  unit: "MiB/s" | "samples/s";
  rate: number;
  p50Ms: number;
  p99Ms: number;
  floor?: string;
  ratioToFloor?: number;
  note?: string;
}
const rows: Row[] = [];

/** Flushes dirty pages (untimed), so one run's writeback is not billed to the next. */
function settle(): void {
  spawnSync("sync");
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/**
 * `reps` timed runs of `run(i)`, each after an untimed `settle` and followed by an untimed
 * `cleanup(i)`. The rate is from the median run: page-cache writeback makes single runs noisy.
 */
async function timedBytes(group: string, name: string, sizeBytes: number, reps: number, run: (i: number) => Promise<unknown>, cleanup: (i: number) => Promise<unknown>, floor?: string): Promise<void> {
  progress(`${group}: ${name} ...`);
  const msList: number[] = [];
  for (let i = 0; i < reps; i++) {
    settle();
    const t0 = performance.now();
    await run(i);
    msList.push(performance.now() - t0);
    await cleanup(i);
  }
  msList.sort((a, b) => a - b);
  const p50Ms = percentile(msList, 0.5);
  rows.push({ group, name, unit: "MiB/s", rate: sizeBytes / MiB / (p50Ms / 1000), p50Ms, p99Ms: percentile(msList, 0.99), ...(floor ? { floor } : {}) });
}

function samplesRow(group: string, name: string, result: RunResult, floor?: string, note?: string): void {
  rows.push({ group, name, unit: "samples/s", rate: result.opsPerSec, p50Ms: result.p50Us / 1000, p99Ms: result.p99Us / 1000, ...(floor ? { floor } : {}), ...(note ? { note } : {}) });
}

function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function cacheNote(client: NoKVClient): string {
  const { hits, misses } = client.cacheStats();
  return `cache ${hits} hits / ${misses} misses`;
}

async function checkpointsToFile(client: NoKVClient): Promise<void> {
  const group = "checkpoint publish, file://";
  const sizes = quick ? [{ label: "64 MiB", bytes: 64 * MiB, reps: 5 }] : [{ label: "64 MiB", bytes: 64 * MiB, reps: 9 }, { label: "1 GiB", bytes: 1024 * MiB, reps: 3 }];
  await client.mkdir("/ckpt", { recursive: true });
  for (const { label, bytes, reps } of sizes) {
    const body = randomBytes(bytes);
    const floorName = `floor: fs.writeFile ${label}`;
    await timedBytes(group, floorName, bytes, reps, (i) => writeFile(join(floorDir, `ckpt-${i}`), body), async (i) => rmSync(join(floorDir, `ckpt-${i}`)));
    // What the digest alone costs: one sequential pass, the ceiling of a publish that computes it.
    await timedBytes(group, `reference: sha256 of ${label} in memory, no I/O`, bytes, reps, async () => createHash("sha256").update(body).digest(), async () => {}, floorName);
    // With the sha256 digest (the default) and without it: the digest is one sequential pass.
    for (const digest of [true, false]) {
      for (const concurrency of [8, 16]) {
        const path = (i: number) => `/ckpt/${label}-${concurrency}-${digest}-${i}`;
        const name = `publish ${label}, ${concurrency} uploads in flight${digest ? ", sha256" : ", digest off"}`;
        await timedBytes(group, name, bytes, reps, (i) => client.publish(path(i), body, { concurrency, digest }), async (i) => {
          await client.unlink(path(i));
          await client.gc();
        }, floorName);
      }
    }
  }
}

async function makeSamples(client: NoKVClient, count: number, floor?: (i: number, bytes: Uint8Array) => Promise<void>): Promise<string[]> {
  await client.mkdir("/samples", { recursive: true });
  const paths = Array.from({ length: count }, (_, i) => `/samples/s${i}`);
  await runConcurrent(count, 32, async (i) => {
    const bytes = randomBytes(SAMPLE_BYTES);
    await client.writeFile(paths[i]!, bytes);
    await floor?.(i, bytes);
  });
  return paths;
}

/** `epochs` passes over `count` samples, each pass in a fresh random order, `inFlight` at a time. */
function epochs(count: number, passes: number, inFlight: number, read: (i: number) => Promise<unknown>): Promise<RunResult> {
  const order = Array.from({ length: passes }, () => shuffled(count)).flat();
  return runConcurrent(order.length, inFlight, (i) => read(order[i]!));
}

async function trainingFromFile(url: string, client: NoKVClient): Promise<void> {
  const group = "training read, file://";
  const count = quick ? 500 : 2000;
  progress(`${group}: writing ${count} samples of 16 KiB ...`);
  const paths = await makeSamples(client, count, (i, bytes) => writeFile(join(floorDir, `s${i}`), bytes));
  const cached = await connect(url);
  const uncached = await connect(url, { cacheBytes: 0 });
  const timedPasses = quick ? 3 : 5;
  const warm = (fn: (i: number) => Promise<unknown>) => epochs(count, 1, SAMPLE_IN_FLIGHT, fn);
  const epoch = (fn: (i: number) => Promise<unknown>, inFlight = SAMPLE_IN_FLIGHT) => epochs(count, inFlight === 1 ? 1 : timedPasses, inFlight, fn);
  // One untimed epoch each first: the OS page cache (and the block cache) are warm for all.
  const floorName = `floor: fs.readFile, ${SAMPLE_IN_FLIGHT} in flight`;
  progress(`${group}: floor ...`);
  await warm((i) => readFile(join(floorDir, `s${i}`)));
  samplesRow(group, floorName, await epoch((i) => readFile(join(floorDir, `s${i}`))));
  progress(`${group}: without cache ...`);
  await warm((i) => uncached.readFile(paths[i]!));
  samplesRow(group, `readFile, no cache, ${SAMPLE_IN_FLIGHT} in flight`, await epoch((i) => uncached.readFile(paths[i]!)), floorName, cacheNote(uncached));
  progress(`${group}: with cache ...`);
  await warm((i) => cached.readFile(paths[i]!));
  samplesRow(group, `readFile, cache warm, ${SAMPLE_IN_FLIGHT} in flight`, await epoch((i) => cached.readFile(paths[i]!)), floorName, cacheNote(cached));
  progress(`${group}: one at a time ...`);
  samplesRow(group, "floor: fs.readFile, 1 in flight", await epoch((i) => readFile(join(floorDir, `s${i}`)), 1));
  samplesRow(group, "readFile, no cache, 1 in flight", await epoch((i) => uncached.readFile(paths[i]!), 1), "floor: fs.readFile, 1 in flight");
  await Promise.all([cached.close(), uncached.close()]);
}

async function againstS3rver(): Promise<void> {
  const group = "s3rver";
  const server = await startS3rver("nokv-bench");
  Object.assign(process.env, S3RVER_ENV);
  const objectsUrl = s3StoreUrl(server, "bench");
  // Credentials ride in the environment, as in production; env(1) hands them to the child.
  const credentials = Object.entries(S3RVER_ENV).map(([name, value]) => `${name}=${value}`);
  const metad = await spawnServer(["env", ...credentials, process.execPath, join(root, "src/server/main.ts"), "--listen", "127.0.0.1:0", "--data", join(dir, "data-s3"), "--objects", objectsUrl, "--gc-interval-ms", "0"]);
  const url = `nokv://127.0.0.1:${metad.port}`;
  const client = await connect(url);
  const raw: ObjectStore = await openObjectStore(s3StoreUrl(server, "raw"));
  try {
    const bytes = (quick ? 16 : 64) * MiB;
    const label = `${bytes / MiB} MiB`;
    const body = randomBytes(bytes);
    const blockBytes = 4 * MiB;
    await client.mkdir("/ckpt");
    for (const concurrency of [8, 16]) {
      const floorName = `floor: bare store put of ${label} as 4 MiB objects, ${concurrency} in flight`;
      await timedBytes(group, floorName, bytes, 3, (i) => runConcurrent(bytes / blockBytes, concurrency, (b) => raw.put(`floor/${concurrency}/${i}/${b}`, body.subarray(b * blockBytes, (b + 1) * blockBytes))), async () => {});
      await timedBytes(group, `publish ${label}, ${concurrency} uploads in flight`, bytes, 3, (i) => client.publish(`/ckpt/${concurrency}-${i}`, body, { concurrency }), async (i) => {
        await client.unlink(`/ckpt/${concurrency}-${i}`);
        await client.gc();
      }, floorName);
    }
    const count = quick ? 200 : 500;
    progress(`${group}: writing ${count} samples of 16 KiB ...`);
    const paths = await makeSamples(client, count, (i, sample) => raw.put(`samples/${i}`, sample));
    const uncached = await connect(url, { cacheBytes: 0 });
    const cached = await connect(url);
    const epoch = (fn: (i: number) => Promise<unknown>) => epochs(count, 1, SAMPLE_IN_FLIGHT, fn);
    const floorName = `floor: bare store get, ${SAMPLE_IN_FLIGHT} in flight`;
    progress(`${group}: training read ...`);
    samplesRow(group, floorName, await epoch((i) => raw.get(`samples/${i}`)));
    samplesRow(group, `readFile, no cache, ${SAMPLE_IN_FLIGHT} in flight`, await epoch((i) => uncached.readFile(paths[i]!)), floorName, cacheNote(uncached));
    await epoch((i) => cached.readFile(paths[i]!));
    samplesRow(group, `readFile, cache warm, ${SAMPLE_IN_FLIGHT} in flight`, await epoch((i) => cached.readFile(paths[i]!)), floorName, cacheNote(cached));
    await Promise.all([cached.close(), uncached.close()]);
  } finally {
    await client.close();
    await raw.close();
    await metad.stop();
    await server.stop();
  }
}

const metad = await spawnServer([process.execPath, join(root, "src/server/main.ts"), "--listen", "127.0.0.1:0", "--data", join(dir, "data"), "--objects", `file://${join(dir, "objects")}`, "--gc-interval-ms", "0"]);
const url = `nokv://127.0.0.1:${metad.port}`;
try {
  const client = await connect(url);
  await checkpointsToFile(client);
  await trainingFromFile(url, client);
  await client.close();
  await againstS3rver();
} finally {
  await metad.stop();
  rmSync(dir, { recursive: true, force: true });
}

for (const row of rows) {
  const floor = rows.find((r) => r.name === row.floor && r.group === row.group);
  if (floor) row.ratioToFloor = row.rate / floor.rate;
}
if (json) {
  console.log(JSON.stringify({ quick, rows }, null, 2));
} else {
  const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(2));
  for (const group of [...new Set(rows.map((r) => r.group))]) {
    console.log(`\n${group}`);
    const header = ["workload", "rate", "p50 ms", "p99 ms", "vs floor", ""];
    const lines = rows.filter((r) => r.group === group).map((r) => [
      r.name, `${fmt(r.rate)} ${r.unit}`, fmt(r.p50Ms), fmt(r.p99Ms), r.ratioToFloor === undefined ? "" : `${(r.ratioToFloor * 100).toFixed(0)}%`, r.note ?? "",
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    for (const l of [header, ...lines]) console.log(l.map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
  }
  console.log("\ntargets: publish to file:// >= 80% of the fs.writeFile floor; >= 20,000 samples/s of 16 KiB from file://");
  console.log("publish rates are from the median of the runs; p50/p99 are per publish (per sample for reads)");
}
