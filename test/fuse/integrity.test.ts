import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, run, sh, startMount, type MountProcess } from "./fuse-harness.ts";
import { objectFilePath } from "../../src/objstore/file/layout.ts";

// FUSE reads go through the SDK's verified reader: a flipped byte in a block is EIO to the
// program reading through the mount (live and snapshot mounts alike), while the other blocks of
// the same file still read.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE integrity tests: ${skip}`);

const BLOCK = 256 * 1024;

describe.skipIf(skip !== null)("a corrupt block through the mount", () => {
  let metad: MetadHarness;
  let client: NoKVClient;
  const mounts: MountProcess[] = [];

  beforeAll(async () => {
    metad = await startMetad();
    client = await metad.client();
    const data = new Uint8Array(4 * BLOCK).map((_, i) => (i * 13) % 251);
    await client.writeFile("/corrupt.bin", data, { blockSizeBytes: BLOCK });
    const st = await client.stat("/corrupt.bin");
    const key = metad.metad.service.publisher.readPlan({ mount: client.mount.id, inode: st.ino, offsetBytes: 2 * BLOCK, lengthBytes: 1 }).ranges[0]!.key;
    const path = objectFilePath(join(metad.dir, "objects"), key);
    const bytes = readFileSync(path);
    bytes[1000]! ^= 0xff;
    writeFileSync(path, bytes);
  });

  afterAll(async () => {
    for (const m of mounts) await m.stop();
    await metad?.stop();
  });

  test("cat of the file fails with EIO; reads of intact blocks succeed", async () => {
    const snap = await client.snapshot("/");
    for (const extra of [[], ["--snapshot", String(snap.id)]]) {
      const mount = await startMount(metad, extra);
      mounts.push(mount);
      // Block 0 and block 3 are intact and read fine; block 2 fails whoever reads it.
      expect(await run("head -c 65536 corrupt.bin | wc -c", { cwd: mount.mountpoint })).toBe("65536\n");
      expect(await run(`dd if=corrupt.bin bs=65536 skip=${(3 * BLOCK) / 65536} status=none | wc -c`, { cwd: mount.mountpoint })).toBe(`${BLOCK}\n`);
      const whole = await sh("cat corrupt.bin > /dev/null", { cwd: mount.mountpoint });
      expect(whole.code).not.toBe(0);
      expect(whole.stderr).toContain("Input/output error");
      const ranged = await sh(`dd if=corrupt.bin bs=4096 skip=${(2 * BLOCK) / 4096} count=1 status=none > /dev/null`, { cwd: mount.mountpoint });
      expect(ranged.stderr).toContain("Input/output error");
    }
  });
});
