import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { ok, runCli } from "./cli-harness.ts";

// nokv-fs warmup, cache stats, cache clear against a real metad and a real cache directory.

let h: MetadHarness;
let s: string[];
let cacheDir: string;
const FILES = 6;

beforeAll(async () => {
  h = await startMetad();
  s = ["--server", h.url];
  cacheDir = mkdtempSync(join(tmpdir(), "nokv-cli-cache-"));
  const c = await h.client();
  await c.mkdir("/data/sub", { recursive: true });
  for (let i = 0; i < FILES; i++) await c.writeFile(i % 2 ? `/data/sub/f${i}` : `/data/f${i}`, randomBytes(50_000));
});

afterAll(async () => {
  await h.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

interface Stats {
  hits: number;
  misses: number;
  bytesFilled: number;
  entries: number;
  bytesOnDisk: number;
  limitBytes: number;
  evictions: number;
  corrupt: number;
}

test("warmup fills the cache for a subtree; a second warmup fetches nothing", async () => {
  const first = JSON.parse(await ok(["warmup", "/data", "--json", "--cache-dir", cacheDir, ...s])) as { files: number; bytes: number; blocksFilled: number };
  expect(first).toMatchObject({ files: FILES, bytes: FILES * 50_000, blocksFilled: FILES });
  const again = JSON.parse(await ok(["warmup", "/data", "--json", ...s], { env: { NOKV_CACHE_DIR: cacheDir } })) as { blocksFilled: number; blocksCached: number };
  expect(again).toMatchObject({ blocksFilled: 0, blocksCached: FILES });
  const stats = JSON.parse(await ok(["cache", "stats", "--json", "--cache-dir", cacheDir, "--cache-max-bytes", "1GiB"])) as Stats;
  expect(stats).toMatchObject({ hits: FILES, misses: FILES, bytesFilled: FILES * 50_000, entries: FILES, bytesOnDisk: FILES * 50_000, limitBytes: 2 ** 30, evictions: 0, corrupt: 0 });
  expect(await ok(["cache", "stats", "--cache-dir", cacheDir])).toMatch(/entries +6\n/);
});

test("cache clear removes every entry", async () => {
  expect(JSON.parse(await ok(["cache", "clear", "--json", "--cache-dir", cacheDir]))).toEqual({ removed: FILES });
  const stats = JSON.parse(await ok(["cache", "stats", "--json", "--cache-dir", cacheDir])) as Stats;
  expect(stats.entries).toBe(0);
  const refill = JSON.parse(await ok(["warmup", "/data/sub", "--json", "--cache-dir", cacheDir, ...s])) as { files: number; blocksFilled: number };
  expect(refill).toMatchObject({ files: FILES / 2, blocksFilled: FILES / 2 });
});

test("without a cache directory warmup and cache stats are usage errors", async () => {
  const r = await runCli(["warmup", "/data", ...s], { env: { NOKV_CACHE_DIR: "" } });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--cache-dir");
  expect((await runCli(["cache", "stats"], { env: { NOKV_CACHE_DIR: "" } })).code).toBe(2);
  expect((await runCli(["cache", "stats", "--cache-dir", cacheDir, "--cache-max-bytes", "lots"])).code).toBe(2);
});
