import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { LIMITS } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, run, startMount, type MountProcess } from "./fuse-harness.ts";

// A sequential reader through the mount asks metad for one plan per stretch of
// fusePlanAheadBytes, not one per readahead window: the windows inside a stretch are cut from it.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE sequential-read tests: ${skip}`);

const MiB = 1024 * 1024;

describe.skipIf(skip !== null)("sequential reads through the mount", () => {
  let metad: MetadHarness;
  let client: NoKVClient;
  let mount: MountProcess;

  beforeAll(async () => {
    metad = await startMetad();
    client = await metad.client();
    mount = await startMount(metad);
  });

  afterAll(async () => {
    await mount?.stop();
    await metad?.stop();
  });

  const plansServed = () => metad.metad.stats.opStats().get("read_plan")?.count ?? 0;

  test("a file read front to back costs one plan per stretch, and reads back whole", async () => {
    // Written through the SDK (4 MiB blocks), so the mount's kernel has none of its pages.
    const sizeBytes = 100 * MiB;
    const bytes = new Uint8Array(sizeBytes).map((_, i) => (i * 2_654_435_761) >>> 24);
    await client.writeFile("/seq.bin", bytes);
    const before = plansServed();
    const sha = await run("sha256sum < seq.bin", { cwd: mount.mountpoint, timeoutMs: 60_000 });
    expect(sha).toBe(`${createHash("sha256").update(bytes).digest("hex")}  -\n`);
    const plans = plansServed() - before;
    const windows = sizeBytes / LIMITS.fuseReadaheadBytes;
    console.log(`read ${sizeBytes / MiB} MiB through the mount: ${plans} read plans for ${windows} readahead windows`);
    // One per window (and more: reads the kernel sends out of order ask too) without the plans;
    // with them one per stretch, plus windows started together at a stretch's end, and reads
    // out of order past what is planned, which a loaded machine sees more of.
    expect(plans).toBeLessThan(windows / 2);
  }, 120_000);
});
