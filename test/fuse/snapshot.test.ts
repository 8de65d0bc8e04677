import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, run, sh, startMount } from "./fuse-harness.ts";

// Snapshot mounts (`--snapshot ID`) show the tree as it was and refuse every write with EROFS;
// live read-only mounts (`--read-only`) refuse writes too but follow changes.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE snapshot tests: ${skip}`);

describe.skipIf(skip !== null)("read-only mounts", () => {
  let metad: MetadHarness;
  let client: NoKVClient;

  beforeAll(async () => {
    metad = await startMetad();
    client = await metad.client();
    await client.mkdir("/proj/src", { recursive: true });
    await client.writeFile("/proj/src/main.ts", "export const v = 1;\n");
    await client.symlink("src/main.ts", "/proj/link");
  });

  afterAll(async () => {
    await metad?.stop();
  });

  test("a snapshot mount shows the snapshot, not later changes, and refuses writes with EROFS", async () => {
    const snap = await client.snapshot("/");
    await client.writeFile("/proj/src/main.ts", "export const v = 2;\n");
    await client.writeFile("/proj/src/added.ts", "later\n");
    await client.rm("/proj/link");
    const mount = await startMount(metad, ["--snapshot", String(snap.id)]);
    try {
      const mnt = mount.mountpoint;
      expect(await run("cat proj/src/main.ts && ls proj/src && readlink proj/link && cat proj/link", { cwd: mnt })).toBe(
        "export const v = 1;\nmain.ts\nsrc/main.ts\nexport const v = 1;\n",
      );
      for (const write of ["echo x > proj/new", "mkdir proj/d", "rm proj/src/main.ts", "touch proj/src/main.ts", "mv proj/src proj/s2", "chmod 600 proj/src/main.ts", "echo x >> proj/src/main.ts"]) {
        const result = await sh(write, { cwd: mnt });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain("Read-only file system");
      }
      expect(await run("cat proj/src/main.ts", { cwd: mnt })).toBe("export const v = 1;\n");
    } finally {
      await mount.stop();
    }
  });

  test("a snapshot of a subdirectory mounts that directory as the root", async () => {
    const snap = await client.snapshot("/proj/src");
    const mount = await startMount(metad, ["--snapshot", String(snap.id)]);
    try {
      expect(await run("ls && cat main.ts && stat -c %i .", { cwd: mount.mountpoint })).toBe("added.ts\nmain.ts\nexport const v = 2;\n1\n");
    } finally {
      await mount.stop();
    }
  });

  test("a live --read-only mount refuses writes but follows changes", async () => {
    const mount = await startMount(metad, ["--read-only"]);
    try {
      const mnt = mount.mountpoint;
      expect((await sh("echo x > proj/nope", { cwd: mnt })).stderr).toContain("Read-only file system");
      expect(await run("cat proj/src/main.ts", { cwd: mnt })).toBe("export const v = 2;\n");
      await client.writeFile("/proj/src/main.ts", "export const v = 3;\n");
      let out = "";
      for (let i = 0; i < 100 && out !== "export const v = 3;\n"; i++) {
        await Bun.sleep(10);
        out = await run("cat proj/src/main.ts", { cwd: mnt });
      }
      expect(out).toBe("export const v = 3;\n");
    } finally {
      await mount.stop();
    }
  });
});
