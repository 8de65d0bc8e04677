import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { CacheLayout } from "../../src/sdk/node-cache/layout.ts";
import { sumStats } from "../../src/sdk/node-cache/stats.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, startMount } from "./fuse-harness.ts";

// The mount reads through the node cache it is given: a first mount fills it, a later mount (the
// kernel's page cache gone with the first) and an SDK process read the same blocks from it.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE node cache tests: ${skip}`);

const FILES = 3;
const FILE_BYTES = 700 * 1024; // several blocks each

describe.skipIf(skip !== null)("the mount and the node cache", () => {
  let metad: MetadHarness;
  let writer: NoKVClient;
  let cacheDir: string;
  const bodies: Uint8Array[] = [];

  beforeAll(async () => {
    metad = await startMetad();
    writer = await metad.client();
    cacheDir = mkdtempSync(join(tmpdir(), "nokv-fuse-cache-"));
    await writer.mkdir("/data");
    for (let i = 0; i < FILES; i++) {
      const body = new Uint8Array(FILE_BYTES).map((_, k) => (k * 31 + i * 7) & 0xff);
      bodies.push(body);
      await writer.writeFile(`/data/f${i}.bin`, body);
    }
  });

  afterAll(async () => {
    writer?.close();
    await metad?.stop();
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  async function readThroughMount(): Promise<void> {
    const mount = await startMount(metad, ["--cache-dir", cacheDir]);
    try {
      for (let i = 0; i < FILES; i++) {
        const bytes = new Uint8Array(await Bun.file(join(mount.mountpoint, "data", `f${i}.bin`)).arrayBuffer());
        expect(bytes.byteLength).toBe(FILE_BYTES);
        expect(Buffer.compare(Buffer.from(bytes), Buffer.from(bodies[i]!))).toBe(0);
      }
    } finally {
      // A clean stop writes the mount process's final stats file.
      expect(await mount.stop()).toBe(0);
    }
  }

  test("a first mount fills the cache; a second mount and an SDK process read from it without filling", async () => {
    await readThroughMount();
    const layout = new CacheLayout(cacheDir);
    const first = sumStats(layout);
    expect(first.misses).toBeGreaterThan(0);
    expect(first.bytesFilled).toBeGreaterThanOrEqual(FILES * FILE_BYTES);

    await readThroughMount();
    const second = sumStats(layout);
    expect(second.bytesFilled).toBe(first.bytesFilled);
    expect(second.hits).toBeGreaterThan(first.hits);
    expect(second.bytesFromCache - first.bytesFromCache).toBeGreaterThanOrEqual(FILES * FILE_BYTES);

    const reader = await metad.client({ cacheDir, cacheBytes: 0 });
    try {
      for (let i = 0; i < FILES; i++) expect(Buffer.compare(Buffer.from(await reader.readFile(`/data/f${i}.bin`)), Buffer.from(bodies[i]!))).toBe(0);
    } finally {
      reader.close();
    }
    const third = sumStats(layout);
    expect(third.bytesFilled).toBe(first.bytesFilled);
    expect(third.hits).toBeGreaterThan(second.hits);
  }, 120_000);
});
