// The training-read workload with the node cache (docs/cache.md): samples read in random order,
// 64 in flight, printed beside the plain-fs floor of the same run on the same disk.
//   epoch 1: cold node cache (every block downloaded and filled)
//   epoch 2: same client again (process memory cache off: the node cache serves every block)
//   epoch 2b: once more, the steady state of a long job (the hit path's code is compiled by now)
//   epoch 3: a new process and connection on the warm node cache
// over file:// and over s3rver, beside the client without either cache (as before issue #19).
// Goal (issue #19): epoch 2 >= 0.8 x the floor.
// Run: ./node_modules/.bin/bun bench/cache.bench.ts [--json] [--samples N] [--smoke]
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { S3RVER_ENV, s3StoreUrl } from "../src/objstore/s3/testing/s3-harness.ts";
import { startS3rver } from "../src/objstore/s3/testing/s3rver.ts";
import { connect, type ConnectOptions, type NoKVClient } from "../src/sdk/index.ts";
import { runConcurrent, shuffled, spawnServer, type RunResult } from "./lib/run.ts";

const args = process.argv.slice(2);
const IN_FLIGHT = 64;
const SAMPLE_BYTES = 16 * 1024;

/** One epoch over /samples/s0..count-1 in random order; the figures of the run. */
async function epoch(client: NoKVClient, count: number): Promise<RunResult> {
  const order = shuffled(count);
  return runConcurrent(count, IN_FLIGHT, (i) => client.readFile(`/samples/s${order[i]!}`));
}

function clientOptions(cacheDir: string): ConnectOptions {
  // The process memory cache is off so that every warm read is a node-cache read.
  return { cacheDir, cacheBytes: 0, metadataCache: true };
}

if (args[0] === "--epoch-child") {
  const [, url, cacheDir, count] = args;
  const client = await connect(url!, clientOptions(cacheDir!));
  const r = await epoch(client, Number(count));
  await client.close();
  console.log(JSON.stringify(r));
  process.exit(0);
}

const json = args.includes("--json");
const smoke = args.includes("--smoke");
const countArg = args.indexOf("--samples");
const COUNT = countArg >= 0 ? Number(args[countArg + 1]) : smoke ? 200 : 4000;
/** Rounds of floor and epochs, each on a fresh cache directory; every row shows its best round. */
const ROUNDS = smoke ? 1 : 3;
const root = join(import.meta.dir, "..");
const dir = join(process.cwd(), ".nokv", `bench-cache-${process.pid}`);
const progress = (msg: string) => process.stderr.write(`  ${msg}\n`);

interface Row {
  store: string;
  name: string;
  samplesPerSec: number;
  p50Us: number;
  p99Us: number;
  bytes: number;
  ratioToFloor: number;
}
const rows: Row[] = [];

/**
 * Every row over the rounds: its best rate (with that run's latencies) and its median ratio to
 * the floor of the same round, the floor being measured right before and right after the round's
 * epochs (the machine is shared: a busy moment must weigh on both sides of a ratio alike).
 */
const runs = new Map<string, { store: string; name: string; results: RunResult[]; ratios: number[] }>();

function record(store: string, name: string, r: RunResult, floorPerSec: number | null): void {
  const key = `${store}\0${name}`;
  let run = runs.get(key);
  if (!run) runs.set(key, (run = { store, name, results: [], ratios: [] }));
  run.results.push(r);
  run.ratios.push(floorPerSec === null ? 1 : r.opsPerSec / floorPerSec);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function rowsFromRuns(): void {
  for (const { store, name, results, ratios } of runs.values()) {
    const r = results.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
    rows.push({ store, name, samplesPerSec: Math.round(r.opsPerSec), p50Us: Math.round(r.p50Us), p99Us: Math.round(r.p99Us), bytes: r.ops * SAMPLE_BYTES, ratioToFloor: Number(median(ratios).toFixed(2)) });
  }
}

async function childEpoch(url: string, cacheDir: string): Promise<RunResult> {
  const proc = Bun.spawn([process.execPath, import.meta.path, "--epoch-child", url, cacheDir, String(COUNT)], { stdout: "pipe", stderr: "inherit", env: process.env });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`epoch child exited ${code}`);
  return JSON.parse(out.trim()) as RunResult;
}

async function workload(store: string, url: string): Promise<void> {
  const floorDir = join(dir, `floor-${store}`);
  mkdirSync(floorDir, { recursive: true });
  const writer = await connect(url);
  progress(`${store}: writing ${COUNT} samples of 16 KiB (NoKV and node:fs) ...`);
  await writer.mkdir("/samples", { recursive: true });
  await runConcurrent(COUNT, 32, async (i) => {
    const sample = randomBytes(SAMPLE_BYTES);
    await writer.writeFile(`/samples/s${i}`, sample);
    await writeFile(join(floorDir, `s${i}`), sample);
  });
  await writer.close();
  const floorRead = () => {
    const order = shuffled(COUNT);
    return runConcurrent(COUNT, IN_FLIGHT, (i) => readFile(join(floorDir, `s${order[i]!}`)));
  };
  const FLOOR = `floor: node:fs readFile, ${IN_FLIGHT} in flight`;
  await floorRead();
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`${store}: round ${round} of ${ROUNDS}: floor, epochs 1, 2, 2b, 3, floor ...`);
    const cacheDir = join(dir, `cache-${store}-${round}`);
    const measured: Array<[string, RunResult]> = [];
    const floorBefore = await floorRead();
    const plain = await connect(url, { cacheBytes: 0 });
    measured.push(["before #19: no node or metadata cache", await epoch(plain, COUNT)]);
    await plain.close();
    const client = await connect(url, clientOptions(cacheDir));
    measured.push(["epoch 1: cold node cache", await epoch(client, COUNT)]);
    measured.push(["epoch 2: warm node cache, same client", await epoch(client, COUNT)]);
    measured.push(["epoch 2b: same client once more (JIT warm)", await epoch(client, COUNT)]);
    await client.close();
    measured.push(["epoch 3: warm node cache, new process", await childEpoch(url, cacheDir)]);
    const floorAfter = await floorRead();
    const floorPerSec = (floorBefore.opsPerSec + floorAfter.opsPerSec) / 2;
    record(store, FLOOR, floorBefore.opsPerSec >= floorAfter.opsPerSec ? floorBefore : floorAfter, null);
    for (const [name, r] of measured) record(store, name, r, floorPerSec);
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

function print(): void {
  if (json) return void console.log(JSON.stringify(rows, null, 2));
  console.log(`\ntraining read through the node cache: ${COUNT} samples of 16 KiB, ${IN_FLIGHT} in flight, block memory cache off, ${ROUNDS} rounds: best rate, median ratio to the same round's floor`);
  console.log(["store".padEnd(8), "what".padEnd(42), "samples/s".padStart(10), "p50 µs".padStart(8), "p99 µs".padStart(8), "MiB".padStart(6), "x floor".padStart(8)].join(" "));
  for (const r of rows) {
    console.log([r.store.padEnd(8), r.name.padEnd(42), String(r.samplesPerSec).padStart(10), String(r.p50Us).padStart(8), String(r.p99Us).padStart(8), (r.bytes / 2 ** 20).toFixed(0).padStart(6), r.ratioToFloor.toFixed(2).padStart(8)].join(" "));
  }
}

mkdirSync(dir, { recursive: true });
try {
  const metad = await spawnServer([process.execPath, join(root, "src/server/main.ts"), "--listen", "127.0.0.1:0", "--data", join(dir, "data"), "--objects", `file://${join(dir, "objects")}`, "--gc-interval-ms", "0"]);
  try {
    await workload("file", `nokv://127.0.0.1:${metad.port}`);
  } finally {
    await metad.stop();
  }
  const s3 = await startS3rver("nokv-bench-cache");
  Object.assign(process.env, S3RVER_ENV);
  const credentials = Object.entries(S3RVER_ENV).map(([name, value]) => `${name}=${value}`);
  const s3metad = await spawnServer(["env", ...credentials, process.execPath, join(root, "src/server/main.ts"), "--listen", "127.0.0.1:0", "--data", join(dir, "data-s3"), "--objects", s3StoreUrl(s3, "bench"), "--gc-interval-ms", "0"]);
  try {
    await workload("s3", `nokv://127.0.0.1:${s3metad.port}`);
  } finally {
    await s3metad.stop();
    await s3.stop();
  }
  rowsFromRuns();
  print();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
