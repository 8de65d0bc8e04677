// End-to-end over the RPC: metad in its own process (as in production), the SDK in this one,
// beside the transport floor (an echo server on the same framing and codec) measured in the
// same run. `bun bench/rpc.bench.ts [--json] [--scale N]`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../src/sdk/index.ts";
import { RpcClient } from "../src/sdk/rpc-client.ts";
import { runConcurrent, spawnServer, type RunResult } from "./lib/run.ts";

const json = process.argv.includes("--json");
const scaleAt = process.argv.indexOf("--scale");
const scale = scaleAt > 0 ? Number(process.argv[scaleAt + 1]) : 1;
const root = join(import.meta.dir, "..");
const bun = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "nokv-bench-rpc-"));
const progress = (msg: string) => !json && process.stderr.write(`  ${msg}\n`);

const metad = await spawnServer([bun, join(root, "src/server/main.ts"), "--listen", "127.0.0.1:0", "--data", join(dir, "data"), "--objects", `file://${join(dir, "objects")}`, "--gc-interval-ms", "0"]);
const echo = await spawnServer([bun, join(root, "bench/peers/echo-server.ts"), "0"]);
const client = await connect(`nokv://127.0.0.1:${metad.port}`);
const echoClient = new RpcClient({ host: "127.0.0.1", port: echo.port });

interface Row extends RunResult {
  name: string;
  floor?: string;
}
const rows: Row[] = [];
async function measure(name: string, run: () => Promise<RunResult>, floor?: string) {
  progress(`${name} ...`);
  const result = await run();
  rows.push({ name, ...result, ...(floor ? { floor } : {}) });
}

const n = (base: number) => Math.max(1, Math.round(base * scale));
const stopAll = async () => {
  echoClient.close();
  await client.close();
  await metad.stop();
  await echo.stop();
  rmSync(dir, { recursive: true, force: true });
};
// A failed workload must not leave child servers running or the bench hanging.
process.on("unhandledRejection", async (err) => {
  console.error("bench failed:", err);
  await stopAll();
  process.exit(1);
});
await measure("floor: echo round trip, 1 in flight", () => runConcurrent(n(5000), 1, () => echoClient.call("echo", { mount: 1, inode: 1 })));
await measure("floor: echo pipelined, 256 in flight", () => runConcurrent(n(100_000), 256, () => echoClient.call("echo", { mount: 1, inode: 1 })));

await client.mkdir("/bench/batched", { recursive: true });
const batched = await client.stat("/bench/batched");
await measure("create, batches of 256, 1 batch in flight", () =>
  runConcurrent(n(256), 1, (i) => client.batch(Array.from({ length: 256 }, (_, j) => ({ op: "create", args: { parent: batched.ino, name: `f${i}-${j}` } }))), 256),
);
await measure("create, batches of 256, 4 in flight", () =>
  runConcurrent(n(256), 4, (i) => client.batch(Array.from({ length: 256 }, (_, j) => ({ op: "create", args: { parent: batched.ino, name: `g${i}-${j}` } }))), 256),
);
await client.mkdir("/bench/single");
const single = await client.stat("/bench/single");
await measure("create, unbatched, 64 in flight (group commit)", () => runConcurrent(n(20_000), 64, (i) => client.inode.create(single.ino, `s${i}`)));
await measure("create, 1 in flight", () => runConcurrent(n(2000), 1, (i) => client.inode.create(single.ino, `one${i}`)), "floor: echo round trip, 1 in flight");
await measure("getattr, pipelined 256 in flight", () => runConcurrent(n(100_000), 256, () => client.inode.getattr(batched.ino)), "floor: echo pipelined, 256 in flight");
await measure("lookup, pipelined 256 in flight", () => runConcurrent(n(100_000), 256, (i) => client.inode.lookup(batched.ino, `f${(i >> 8) % n(256)}-${i & 255}`)), "floor: echo pipelined, 256 in flight");
await measure("getattr, 1 in flight", () => runConcurrent(n(5000), 1, () => client.inode.getattr(batched.ino)), "floor: echo round trip, 1 in flight");
await client.mkdir("/bench/list");
const list = await client.stat("/bench/list");
await client.batch(Array.from({ length: 1000 }, (_, i) => ({ op: "create", args: { parent: list.ino, name: `e${i}` } })));
await measure("readdir-plus of 1,000 entries, 1 in flight", () => runConcurrent(n(300), 1, () => client.inode.readdirPlus(list.ino, { limit: 1000 })));

const stats = (await client.serverStats()) as { groupCommit: { opsPerCommit: unknown }; writes: unknown };
await stopAll();

for (const row of rows) {
  const floor = rows.find((r) => r.name === row.floor);
  if (floor) Object.assign(row, { ratioToFloor: row.opsPerSec / floor.opsPerSec });
}
if (json) {
  console.log(JSON.stringify({ rows, groupCommit: stats.groupCommit, writes: stats.writes }, null, 2));
} else {
  const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1));
  console.log("\nmetad over RPC (client and metad in separate processes, loopback TCP)");
  const header = ["workload", "ops/s", "p50 µs", "p99 µs", "vs floor"];
  const lines = rows.map((r) => [r.name, fmt(r.opsPerSec), fmt(r.p50Us), fmt(r.p99Us), "ratioToFloor" in r ? `${((r as { ratioToFloor: number }).ratioToFloor * 100).toFixed(0)}%` : ""]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const l of [header, ...lines]) console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
  console.log(`\ngroup commit ops per transaction: ${JSON.stringify(stats.groupCommit.opsPerCommit)}`);
}
