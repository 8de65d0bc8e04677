// The training-read workload with the node cache (docs/cache.md): samples read in random order,
// 64 in flight, printed beside the plain-fs floor of the same run on the same disk.
//   epoch 1: cold node cache (every block downloaded and filled)
//   epoch 2: same client again (process memory cache off: the node cache serves every block)
//   epoch 3: a new process and connection on the warm node cache
// over file:// and over s3rver. Goal (issue #19): epoch 2 >= 0.8 x the floor.
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

function row(store: string, name: string, r: RunResult, floor: RunResult | null): void {
  rows.push({ store, name, samplesPerSec: Math.round(r.opsPerSec), p50Us: Math.round(r.p50Us), p99Us: Math.round(r.p99Us), bytes: r.ops * SAMPLE_BYTES, ratioToFloor: floor ? Number((r.opsPerSec / floor.opsPerSec).toFixed(2)) : 1 });
}

async function childEpoch(url: string, cacheDir: string): Promise<RunResult> {
  const proc = Bun.spawn([process.execPath, import.meta.path, "--epoch-child", url, cacheDir, String(COUNT)], { stdout: "pipe", stderr: "inherit", env: process.env });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`epoch child exited ${code}`);
  return JSON.parse(out.trim()) as RunResult;
}

async function workload(store: string, url: string): Promise<void> {
  const floorDir = join(dir, `floor-${store}`);
  const cacheDir = join(dir, `cache-${store}`);
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
  progress(`${store}: floor, epochs ...`);
  const floorRead = () => { const order = shuffled(COUNT); return runConcurrent(COUNT, IN_FLIGHT, (i) => readFile(join(floorDir, `s${order[i]!}`))); };
  await floorRead();
  const floor = await floorRead();
  row(store, `floor: node:fs readFile, ${IN_FLIGHT} in flight`, floor, null);
  const client = await connect(url, clientOptions(cacheDir));
  row(store, "epoch 1: cold node cache", await epoch(client, COUNT), floor);
  row(store, "epoch 2: warm node cache, same client", await epoch(client, COUNT), floor);
  await client.close();
  row(store, "epoch 3: warm node cache, new process", await childEpoch(url, cacheDir), floor);
  const again = await floorRead();
  row(store, "floor again (after the epochs)", again, null);
}

function print(): void {
  if (json) return void console.log(JSON.stringify(rows, null, 2));
  console.log(`\ntraining read through the node cache: ${COUNT} samples of 16 KiB, ${IN_FLIGHT} in flight, block memory cache off`);
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
  print();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
