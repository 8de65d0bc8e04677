import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { LIMITS } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, run, startMount, type MountProcess } from "./fuse-harness.ts";

// Small files fetched ahead in listing order are stored into the kernel's page cache, so a
// program reading a cold directory file by file (tar, cp -r, grep -r) sends no READ, and no
// GETATTR after it, for the files stored before it opened them; a change made elsewhere still
// reaches the mount's readers.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE page-store tests: ${skip}`);

const FILES = LIMITS.fusePrefetchFilesAhead + 2;
const name = (i: number) => `f${String(i).padStart(2, "0")}`;
const contents = (i: number, round = 0) => new Uint8Array(3_000 + i * 101).map((_, k) => (k * 31 + i * 7 + round) % 251);

/** A file's bytes read through the mount by another process (metad runs in this one: a sync read here would wait on itself). */
async function readThrough(path: string): Promise<Uint8Array> {
  return new Uint8Array(Buffer.from((await run(`base64 -w0 ${path}`)).trim(), "base64"));
}

/** A count from the mount's NOKV_FUSE_STATS lines (printed when it stops). */
function statOf(output: string, pattern: RegExp): number {
  const match = pattern.exec(output);
  if (!match) throw new Error(`no ${pattern} in the mount's stats:\n${output}`);
  return Number(match[1]);
}

describe.skipIf(skip !== null)("fetched small files stored into the kernel's page cache", () => {
  let metad: MetadHarness;
  let client: NoKVClient;
  let mount: MountProcess;

  beforeAll(async () => {
    metad = await startMetad();
    client = await metad.client();
    await client.mkdir("/ahead");
    // Written through the SDK: the mount's kernel has none of these pages.
    for (let i = 0; i < FILES; i++) await client.writeFile(`/ahead/${name(i)}`, contents(i));
    mount = await startMount(metad, [], { env: { NOKV_FUSE_STATS: "1" } });
  });

  afterAll(async () => {
    await mount?.stop();
    await metad?.stop();
  });

  test("files read in listing order after the first send no READ, and read back whole", async () => {
    const dir = join(mount.mountpoint, "ahead");
    // The listing and the first file's read start the fetches ahead.
    await run(`ls ahead > /dev/null && cat ahead/${name(0)} > /dev/null`, { cwd: mount.mountpoint });
    await Bun.sleep(1_500);
    for (let i = 0; i < FILES; i++) expect(await readThrough(join(dir, name(i)))).toEqual(contents(i));

    // Another client rewrites a stored file: the mount's readers see the new bytes, not the stored ones.
    await client.writeFile(`/ahead/${name(3)}`, contents(3, 1));
    const deadline = Date.now() + 15_000;
    let seen = await readThrough(join(dir, name(3)));
    while (!Buffer.from(seen).equals(contents(3, 1)) && Date.now() < deadline) {
      await Bun.sleep(100);
      seen = await readThrough(join(dir, name(3)));
    }
    expect(seen).toEqual(contents(3, 1));

    await mount.stop();
    const output = mount.output();
    const stored = statOf(output, /stored in the kernel's page cache (\d+)/);
    const reads = statOf(output, /nokv-fs: READ\s+(\d+) requests/);
    console.log(`${FILES} cold files read through the mount: ${stored} stored ahead into the page cache, ${reads} READ requests`);
    expect(stored).toBeGreaterThanOrEqual(LIMITS.fusePrefetchFilesAhead);
    // The first file's READ and the rewritten file's; without the stores, one per file and more.
    expect(reads).toBeLessThanOrEqual(4);
  }, 60_000);
});
