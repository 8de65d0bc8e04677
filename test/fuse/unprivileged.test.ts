import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { isMounted, run, startMount } from "./fuse-harness.ts";

// Mounting without root: fusermount3 mounts and passes /dev/fuse back over a unix socket. As
// root the test serves as `nobody` (setpriv); as another user it serves as that user.

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

function skipReason(): string | null {
  if (process.platform !== "linux") return "needs Linux";
  if (!Bun.which("fusermount3")) return "needs fusermount3 (apt-get install fuse3)";
  if (!existsSync("/dev/fuse")) return "needs /dev/fuse";
  if (asRoot) {
    if (!Bun.which("setpriv")) return "needs setpriv to drop root";
    return null;
  }
  try {
    accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/fuse is not readable and writable by this user";
  }
  return null;
}

const skip = skipReason();
if (skip) console.log(`skipping unprivileged FUSE tests: ${skip}`);

describe.skipIf(skip !== null)("mounting without root (fusermount3)", () => {
  let metad: MetadHarness;
  let client: NoKVClient;
  let home: string;
  const user = asRoot ? { uid: NOBODY, gid: NOBODY } : { uid: process.getuid!(), gid: process.getgid!() };
  const prefix = asRoot ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"] : [];

  // Distributions make /dev/fuse 0666; some containers make it 0600, root only. As root the test
  // gives the device the distributions' mode while it runs and puts the original back after.
  let fuseModeBefore: number | null = null;

  beforeAll(async () => {
    if (asRoot && (statSync("/dev/fuse").mode & 0o006) !== 0o006) {
      fuseModeBefore = statSync("/dev/fuse").mode & 0o7777;
      chmodSync("/dev/fuse", 0o666);
      console.log(`/dev/fuse was mode ${fuseModeBefore.toString(8)}: opened to 0666 for this test, restored after`);
    }
    metad = await startMetad();
    client = await metad.client();
    home = mkdtempSync(join(tmpdir(), "nokv-user-home-"));
    if (asRoot) {
      chownSync(home, NOBODY, NOBODY);
      // The mount's SDK uploads blocks to the file:// store itself, as the user it runs as.
      chmodSync(metad.dir, 0o711);
      chownSync(join(metad.dir, "objects"), NOBODY, NOBODY);
    }
  });

  afterAll(async () => {
    if (fuseModeBefore !== null) chmodSync("/dev/fuse", fuseModeBefore);
    await metad?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test("a user mounts, writes and reads through the mount, and unmounts cleanly", async () => {
    const mountpoint = mkdtempSync(join(tmpdir(), "nokv-user-mnt-"));
    if (asRoot) chownSync(mountpoint, NOBODY, NOBODY);
    const mount = await startMount(metad, [], { mountpoint, prefix, env: { HOME: home } });
    try {
      expect(await run("mkdir mine && echo private > mine/note && cat mine/note && stat -c %u mine/note", { cwd: mountpoint, prefix })).toBe(`private\n${user.uid}\n`);
      expect(await client.readFile("/mine/note", "utf8")).toBe("private\n");
    } finally {
      expect(await mount.stop()).toBe(0);
    }
    expect(isMounted(mountpoint)).toBe(false);
  });
});
