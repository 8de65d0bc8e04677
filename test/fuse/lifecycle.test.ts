import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runUmount } from "../../src/fuse/mount-main.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, isMounted, run, sh, startMount } from "./fuse-harness.ts";

// Mounts end cleanly: SIGTERM unmounts, an outside umount ends the server, a killed server
// leaves a stale mount that programs fail on at once (never hang) and `nokv-fs umount` clears.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE lifecycle tests: ${skip}`);

describe.skipIf(skip !== null)("mount lifecycle", () => {
  let metad: MetadHarness;

  beforeAll(async () => {
    metad = await startMetad();
  });

  afterAll(async () => {
    await metad?.stop();
  });

  test("SIGTERM unmounts cleanly and leaves nothing in /proc/mounts", async () => {
    const mount = await startMount(metad);
    expect(isMounted(mount.mountpoint)).toBe(true);
    await run("echo kept > kept.txt", { cwd: mount.mountpoint });
    mount.proc.kill("SIGTERM");
    expect(await mount.proc.exited).toBe(0);
    expect(isMounted(mount.mountpoint)).toBe(false);
    await mount.stop();
    const client = await metad.client();
    expect(await client.readFile("/kept.txt", "utf8")).toBe("kept\n");
  });

  test("SIGTERM while a program sits in the mount still ends the server", async () => {
    const mount = await startMount(metad);
    const squatter = Bun.spawn(["bash", "-c", `cd ${mount.mountpoint} && sleep 30`]);
    await Bun.sleep(200);
    mount.proc.kill("SIGTERM");
    const code = await Promise.race([mount.proc.exited, Bun.sleep(15_000).then(() => "hung")]);
    squatter.kill();
    expect(code).toBe(0);
    expect(isMounted(mount.mountpoint)).toBe(false);
    await mount.stop();
  });

  test("an umount from outside ends the server by itself", async () => {
    const mount = await startMount(metad);
    await runUmount(mount.mountpoint);
    expect(await Promise.race([mount.proc.exited, Bun.sleep(10_000).then(() => "hung")])).toBe(0);
    expect(isMounted(mount.mountpoint)).toBe(false);
    await mount.stop();
  });

  test("a killed server leaves a stale mount: programs fail fast, umount clears it", async () => {
    const mount = await startMount(metad);
    mount.proc.kill("SIGKILL");
    await mount.proc.exited;
    expect(isMounted(mount.mountpoint)).toBe(true);
    const stale = await sh(`ls ${mount.mountpoint}`, { timeoutMs: 5_000 });
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain("Transport endpoint is not connected");
    await runUmount(mount.mountpoint);
    expect(isMounted(mount.mountpoint)).toBe(false);
    await mount.stop();
  });

  test("bad arguments and a missing server fail with a message, mounting nothing", async () => {
    const bad = await sh(`${process.execPath} src/fuse/mount-main.ts mount`, { cwd: `${import.meta.dir}/../..` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("no mountpoint");
    const noServer = await sh(`${process.execPath} src/fuse/mount-main.ts mount /tmp --server nokv://127.0.0.1:1`, { cwd: `${import.meta.dir}/../..`, timeoutMs: 20_000 });
    expect(noServer.code).toBe(1);
    expect(isMounted("/tmp")).toBe(false);
  });
});
