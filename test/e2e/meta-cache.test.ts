import { afterAll, beforeAll, expect, test } from "bun:test";
import { startMetad, type MetadHarness } from "../harness.ts";

// The metadata cache against a real metad: repeated reads skip stat and plan requests, a change by
// another client reaches the cache through the watch, a dropped connection drops everything.

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad();
});
afterAll(() => h.stop());

async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

test("repeated reads hit; another client's rewrite is seen once its event arrives", async () => {
  const writer = await h.client();
  await writer.mkdir("/m/d", { recursive: true });
  await writer.writeFile("/m/d/f", "one");
  const reader = await h.client({ metadataCache: true, cacheBytes: 0 });
  expect(await reader.readFile("/m/d/f", "utf8")).toBe("one");
  await Bun.sleep(50); // the watches on /, /m and /m/d become live
  await reader.readFile("/m/d/f");
  const before = reader.metadataCacheStats();
  for (let i = 0; i < 5; i++) expect(await reader.readFile("/m/d/f", "utf8")).toBe("one");
  expect(reader.metadataCacheStats().hits - before.hits).toBe(10); // a stat and a plan each
  await writer.writeFile("/m/d/f", "two, longer");
  await until(async () => (await reader.readFile("/m/d/f", "utf8")) === "two, longer");
  await writer.rename("/m/d", "/m/e");
  await until(async () => (await reader.readFile("/m/e/f", "utf8").catch(() => "")) === "two, longer");
  expect(await reader.readFile("/m/d/f").then(() => "read", (err) => err.code)).toBe("ENOENT");
});

test("this client's own write is seen at once; a dropped connection empties the cache", async () => {
  const c = await h.client({ metadataCache: true, cacheBytes: 0 });
  await c.mkdir("/own", { recursive: true });
  await c.writeFile("/own/f", "a");
  await c.readFile("/own/f");
  await Bun.sleep(50);
  await c.readFile("/own/f");
  await c.writeFile("/own/f", "bb");
  expect(await c.readFile("/own/f", "utf8")).toBe("bb");
  await c.readFile("/own/f");
  const hits = c.metadataCacheStats().hits;
  c.dropConnection();
  await Bun.sleep(20); // the socket's close event: the client notices the drop
  expect(await c.readFile("/own/f", "utf8")).toBe("bb");
  expect(c.metadataCacheStats().hits).toBe(hits);
});

test("with the node cache, repeated reads take the fast path and still see a rewrite", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const cacheDir = mkdtempSync(join(tmpdir(), "nokv-meta-node-"));
  try {
    const writer = await h.client();
    await writer.mkdir("/fast", { recursive: true });
    await writer.writeFile("/fast/f", "first");
    const reader = await h.client({ metadataCache: true, cacheBytes: 0, cacheDir });
    expect(await reader.readFile("/fast/f", "utf8")).toBe("first");
    await Bun.sleep(50);
    await reader.readFile("/fast/f");
    const before = reader.nodeCacheStats()!.hits;
    for (let i = 0; i < 5; i++) expect(await reader.readFile("/fast/f", "utf8")).toBe("first");
    expect(reader.nodeCacheStats()!.hits - before).toBe(5);
    await writer.writeFile("/fast/f", "second");
    await until(async () => (await reader.readFile("/fast/f", "utf8")) === "second");
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
