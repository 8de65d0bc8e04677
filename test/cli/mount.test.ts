import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { ok, spawnCli } from "./cli-harness.ts";

// `nokv-fs mount` / `umount` end to end. Needs /dev/fuse and root or fusermount3: without them
// the test is skipped (the FUSE layer's own tests say more; here only the CLI wiring is checked).
const canMount = existsSync("/dev/fuse") && (process.getuid?.() === 0 || Bun.which("fusermount3") !== null);

let h: MetadHarness;
let dir: string;
beforeAll(async () => {
  h = await startMetad();
  dir = mkdtempSync(join(tmpdir(), "nokv-cli-mnt-"));
});
afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!canMount)("mount serves the namespace to ordinary tools; umount ends it with exit 0", async () => {
  const c = await h.client();
  await c.mkdir("/data", { recursive: true });
  await c.writeFile("/data/hello.txt", "through the mount\n");
  const proc = spawnCli(["mount", dir, "--server", h.url]);
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("serving")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  try {
    expect(out).toContain(`nokv-fs: serving mount 'default' at ${dir}`);
    // Async only: metad runs in this process, and a sync call into the mount would block the
    // event loop metad needs to answer the mount's own lookups.
    expect(await readdir(join(dir, "data"))).toEqual(["hello.txt"]);
    expect(await readFile(join(dir, "data", "hello.txt"), "utf8")).toBe("through the mount\n");
  } finally {
    await ok(["umount", dir]);
  }
  expect(await proc.exited).toBe(0);
});
