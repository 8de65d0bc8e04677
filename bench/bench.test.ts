import { expect, test } from "bun:test";
import { join } from "node:path";

// The benchmarks are how speed is reported, so a schema or manifest change that breaks one must
// fail here, not in the next person's measurement. The smoke profile of the workload harness
// runs every workload on small shapes; only that it completes and prints its table is checked
// (speed is never asserted in tests).

const ROOT = join(import.meta.dir, "..");

test("bun run bench --profile smoke completes every workload and prints the table", async () => {
  const proc = Bun.spawn([process.execPath, "bench/main.ts", "--profile", "smoke"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) console.log(err.slice(-4000));
  expect(code).toBe(0);
  for (const workload of ["mdtest-easy", "mdtest-hard", "stat-storm", "readdir", "rename-storm", "agent-mix", "checkpoint-publish", "training-read", "store-footprint"]) {
    expect(out).toContain(workload);
  }
}, 180_000);

test("the clone benchmark runs on a small tree (its fixtures follow the current schema)", async () => {
  const proc = Bun.spawn([process.execPath, "bench/clone.bench.ts", "--sizes", "10000"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) console.log(err.slice(-4000));
  expect(code).toBe(0);
  expect(out).toContain("clone");
}, 180_000);

test("the node cache benchmark runs its smoke profile over file:// and s3rver", async () => {
  const proc = Bun.spawn([process.execPath, "bench/cache.bench.ts", "--smoke"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) console.log(err.slice(-4000));
  expect(code).toBe(0);
  for (const row of ["epoch 1: cold node cache", "epoch 2: warm node cache, same client", "epoch 3: warm node cache, new process"]) {
    expect(out.match(new RegExp(`^(file|s3) +${row}`, "gm"))?.length).toBe(2);
  }
}, 180_000);

test("the create CPU benchmark runs one round and prints every row beside its floor", async () => {
  const proc = Bun.spawn([process.execPath, "bench/create-cpu.bench.ts", "--rounds", "1", "--json"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) console.log(err.slice(-4000));
  expect(code).toBe(0);
  const rows = JSON.parse(out.trim().split("\n").pop()!) as Array<{ what: string; value: number; unit: string; floor?: number }>;
  expect(rows.map((r) => r.what)).toContain("metad CPU per batched create, one directory");
  for (const row of rows.filter((r) => r.unit === "µs" || r.unit === "bytes")) expect(row.floor).toBeGreaterThan(0);
}, 180_000);

test("the write latency benchmark prints a write beside a read, the WAL pages of each commit by table, and a small file's steps", async () => {
  const proc = Bun.spawn([process.execPath, "bench/write-latency.bench.ts", "--creates", "50", "--json"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) console.log(err.slice(-4000));
  expect(code).toBe(0);
  const rows = JSON.parse(out.trim().split("\n").pop()!) as Array<{ what: string; value: number }>;
  const value = (what: string) => rows.find((r) => r.what === what)?.value ?? 0;
  expect(value("create_prepared round trip, 1 client")).toBeGreaterThan(0);
  expect(value("getattr round trip, 1 client (floor: a read)")).toBeGreaterThan(0);
  // A create writes at least its inode, its name and the log entry.
  expect(value("WAL pages per create commit")).toBeGreaterThanOrEqual(3);
  expect(rows.some((r) => r.what.includes("inode_current"))).toBe(true);
  // The small file's steps: each timed, each more than nothing.
  for (const step of ["create_prepared round trip", "put of its 4 KiB block", "publish round trip"]) expect(value(`small file: ${step}`)).toBeGreaterThan(0);
}, 120_000);

