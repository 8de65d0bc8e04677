import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CacheLayout, scanEntries, sumStats } from "../../src/sdk/node-cache/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";

// The node cache across real processes: concurrent fillers download each block once, a second
// process reads what the first filled, eviction holds the limit, a corrupt entry is fetched again.

const READER = join(import.meta.dir, "node-cache-reader.ts");
const FILES = 24;
const FILE_BYTES = 100_000;
let h: MetadHarness;
const expected: Record<string, string> = {};
const dirs: string[] = [];

beforeAll(async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/samples");
  for (let i = 0; i < FILES; i++) {
    const bytes = randomBytes(FILE_BYTES);
    await c.writeFile(`/samples/s${i}`, bytes);
    expected[`/samples/s${i}`] = createHash("sha256").update(bytes).digest("hex");
  }
});

afterAll(async () => {
  await h.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cacheDir(): string {
  const d = mkdtempSync(join(tmpdir(), "nokv-node-cache-e2e-"));
  dirs.push(d);
  return d;
}

interface ReaderResult {
  gets: number;
  digests: Record<string, string>;
}

/** Starts `count` reader processes on `dir`; they read once `go` is written (returned). */
function readers(count: number, dir: string, paths: string[]): { go(): void; done: Promise<ReaderResult[]> } {
  const goFile = join(dir, `go-${Math.random()}`);
  const procs = Array.from({ length: count }, (_, i) => {
    const order = [...paths].sort(() => Math.random() - 0.5);
    return Bun.spawn([process.execPath, READER, h.url, `file://${join(h.dir, "objects")}`, dir, goFile, ...(i % 2 ? order : paths)], { stdout: "pipe", stderr: "pipe" });
  });
  const done = Promise.all(procs.map(async (p) => {
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`reader exited ${code}: ${err}`);
    return JSON.parse(out.trim().split("\n").pop()!) as ReaderResult;
  }));
  return { go: () => writeFileSync(goFile, "go"), done };
}

const allPaths = () => Object.keys(expected);

test("four processes filling at once download each block once and all read the right bytes", async () => {
  const dir = cacheDir();
  const run = readers(4, dir, allPaths());
  await Bun.sleep(300);
  run.go();
  const results = await run.done;
  for (const r of results) expect(r.digests).toEqual(expected);
  expect(results.reduce((sum, r) => sum + r.gets, 0)).toBe(FILES);
  const stats = sumStats(new CacheLayout(dir));
  expect(stats.processes).toBe(4);
  expect(stats.misses).toBe(FILES);
  expect(stats.hits).toBe(3 * FILES);
  expect(stats.bytesFilled).toBe(FILES * FILE_BYTES);
  expect(scanEntries(new CacheLayout(dir)).length).toBe(FILES);
}, 60_000);

test("a second process reads what the first filled: no GET at all", async () => {
  const dir = cacheDir();
  const first = readers(1, dir, allPaths());
  first.go();
  expect((await first.done)[0]!.gets).toBe(FILES);
  const second = readers(1, dir, allPaths());
  second.go();
  const [r] = await second.done;
  expect(r!.gets).toBe(0);
  expect(r!.digests).toEqual(expected);
  expect(sumStats(new CacheLayout(dir)).hits).toBe(FILES);
}, 60_000);

test("a corrupt entry is detected, counted and fetched again", async () => {
  const dir = cacheDir();
  const fill = readers(1, dir, ["/samples/s3"]);
  fill.go();
  await fill.done;
  const layout = new CacheLayout(dir);
  const [entry] = scanEntries(layout);
  const bad = Buffer.from(readFileSync(entry!.path));
  bad[FILE_BYTES / 2] = bad[FILE_BYTES / 2]! ^ 0x55;
  writeFileSync(entry!.path, bad);
  const c = await h.client({ cacheDir: dir, cacheBytes: 0 });
  expect(createHash("sha256").update(await c.readFile("/samples/s3")).digest("hex")).toBe(expected["/samples/s3"]!);
  await c.close();
  expect(sumStats(layout).corrupt).toBe(1);
  expect(createHash("sha256").update(readFileSync(entry!.path)).digest("hex")).toBe(expected["/samples/s3"]!);
}, 60_000);

test("eviction keeps the cache under its limit, oldest first", async () => {
  const dir = cacheDir();
  const limitBytes = 10 * FILE_BYTES;
  const c = await h.client({ cacheDir: dir, cacheMaxBytes: limitBytes, cacheBytes: 0 });
  for (const p of allPaths()) await c.readFile(p);
  await c.close();
  const layout = new CacheLayout(dir);
  const entries = scanEntries(layout);
  expect(entries.reduce((sum, e) => sum + e.sizeBytes, 0)).toBeLessThanOrEqual(limitBytes);
  expect(sumStats(layout).evictions).toBeGreaterThanOrEqual(FILES - 10);
  expect(entries.length).toBeGreaterThan(0);
}, 60_000);
