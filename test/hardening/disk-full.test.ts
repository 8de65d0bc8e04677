import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CONFIG } from "../../src/server/config.ts";
import { Metad } from "../../src/server/metad.ts";
import { connect, type NoKVClient } from "../../src/sdk/index.ts";
import { fsckDataDir } from "../../src/cli/fsck.ts";

// The metadata disk fills up: writes fail with ENOSPC, reads keep working, and once space is
// back nothing is corrupt. Needs root for a small tmpfs; skipped (with the reason) otherwise.

const isRoot = process.getuid?.() === 0;
const root = mkdtempSync(join(tmpdir(), "nokv-full-"));
const mnt = join(root, "mnt");
let mounted = false;

beforeAll(() => {
  if (!isRoot) return;
  mkdirSync(mnt);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
  mounted = r.status === 0;
  if (!mounted) console.log(`disk-full: skipped, tmpfs mount failed: ${r.stderr}`);
});
afterAll(() => {
  if (mounted) spawnSync("umount", ["-l", mnt]);
  rmSync(root, { recursive: true, force: true });
});

if (!isRoot) console.log("disk-full: skipped, needs root to mount a small tmpfs");

// Once turned SQLITE_FULL into EIO and then wedged every later write: a second ROLLBACK after
// SQLite's own masked the ENOSPC, and a failed COMMIT left the transaction open.
test("a full metadata disk: writes ENOSPC, reads work, nothing corrupt", async () => {
  if (!isRoot) throw new Error("needs root: reported as skipped above");
  if (!mounted) throw new Error("tmpfs mount failed");
  const config = { ...DEFAULT_CONFIG, port: 0, dataDir: join(mnt, "data"), objectsUrl: `file://${join(root, "objects")}`, gcIntervalMs: 0 };
  let metad = await Metad.start(config);
  const url = () => `nokv://127.0.0.1:${metad.address.port}`;
  let c: NoKVClient = await connect(url());
  await c.writeFile("/before", "kept");
  let made = 0;
  let failure: { code?: string } | null = null;
  for (let i = 0; i < 200_000 && !failure; i += 200) {
    let results;
    try {
      results = await c.batch(Array.from({ length: 200 }, (_, j) => ({ op: "mkdir_path", args: { path: `/d-${i + j}-${"x".repeat(100)}` } })));
    } catch (err) {
      // The disk filled during the group's commit: the whole transaction, this batch with it, failed.
      failure = err as { code?: string };
      break;
    }
    for (const r of results) {
      if (r.ok) made++;
      else failure ??= r.error;
    }
  }
  console.log(`disk-full: ${made} directories before the 2 MB disk filled: ${JSON.stringify(failure)}`);
  expect(failure?.code).toBe("ENOSPC");
  // The store is not wedged: a small write after the failure either fits or is ENOSPC again.
  let extra = 0;
  try {
    await c.mkdir("/one-more");
    extra = 1;
  } catch (err) {
    expect((err as { code?: string }).code).toBe("ENOSPC");
  }
  // Reads keep working on a full disk.
  expect(await c.readFile("/before", "utf8")).toBe("kept");
  const listed = (await c.readdir("/")).length;
  expect(listed).toBe(made + 1 + extra);
  await c.close();
  await metad.stop();
  spawnSync("mount", ["-o", "remount,size=64m", mnt]);
  const report = await fsckDataDir({ dataDir: config.dataDir, objectsUrl: config.objectsUrl });
  expect(report.violations).toEqual([]);
  metad = await Metad.start(config);
  c = await connect(url());
  await c.mkdir("/after-space-is-back");
  expect((await c.readdir("/")).length).toBe(made + 2 + extra);
  await c.close();
  await metad.stop();
}, 60_000);
