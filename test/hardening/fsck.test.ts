import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CONFIG } from "../../src/server/config.ts";
import { Metad } from "../../src/server/metad.ts";
import { DataDirBusy } from "../../src/server/data-lock.ts";
import { connect } from "../../src/sdk/index.ts";
import { openObjectStore } from "../../src/objstore/index.ts";
import { fsckDataDir } from "../../src/cli/fsck.ts";
import type { FsckReport } from "../../src/service/fsck.ts";

// fsck over a store a realistic workload left behind: clean; then one corruption at a time, each
// on its own copy of the store, must be reported with its keys; --repair removes leaked objects.

const root = mkdtempSync(join(tmpdir(), "nokv-fsck-"));
const clean = { data: join(root, "clean", "data"), objects: join(root, "clean", "objects") };
const cli = join(import.meta.dir, "..", "..", "src", "cli", "fsck.ts");
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function workload(): Promise<void> {
  const metad = await Metad.start({ ...DEFAULT_CONFIG, port: 0, dataDir: clean.data, objectsUrl: `file://${clean.objects}`, gcIntervalMs: 0 });
  const c = await connect(`nokv://127.0.0.1:${metad.address.port}`);
  try {
    await c.mkdir("/ws/src/lib", { recursive: true });
    await c.mkdir("/ws/empty");
    for (let i = 0; i < 20; i++) await c.writeFile(`/ws/src/f${i}.txt`, `file ${i} `.repeat(i * 50));
    await c.publish("/ws/ckpt.bin", new Uint8Array(300_000).map((_, i) => i % 251), { blockSizeBytes: 64 * 1024 });
    await c.writeFile("/ws/src/f1.txt", "replaced");
    await c.rename("/ws/src/f2.txt", "/ws/src/lib/f2.txt");
    await c.rename("/ws/src/lib", "/ws/lib");
    await c.unlink("/ws/src/f3.txt");
    await c.link("/ws/src/f4.txt", "/ws/hard4.txt");
    await c.symlink("../ws/src/f5.txt", "/ws/sym5");
    await c.truncate("/ws/src/f6.txt", 10);
    await c.truncate("/ws/src/f7.txt", 100_000);
    const snap = await c.snapshot("/ws");
    await c.unlink("/ws/src/f8.txt");
    await c.writeFile("/ws/src/f9.txt", "after the snapshot");
    await c.rm("/ws/empty", { recursive: true });
    await snap.retire();
    await c.gc();
    await c.createFile("/ws/new-empty");
  } finally {
    await c.close();
    await metad.stop();
  }
}

function copyOf(name: string): { data: string; objects: string } {
  const to = { data: join(root, name, "data"), objects: join(root, name, "objects") };
  cpSync(clean.data, to.data, { recursive: true });
  cpSync(clean.objects, to.objects, { recursive: true });
  return to;
}

function sql(dir: { data: string }, statement: string, ...params: Array<string | number>): void {
  const db = new Database(join(dir.data, "meta.db"));
  db.run(statement, params);
  db.close();
}

function one<T>(dir: { data: string }, statement: string, ...params: Array<string | number>): T {
  const db = new Database(join(dir.data, "meta.db"), { readonly: true });
  const row = db.query(statement).get(...params) as T;
  db.close();
  return row;
}

const check = (dir: { data: string; objects: string }, repair = false): Promise<FsckReport> =>
  fsckDataDir({ dataDir: dir.data, objectsUrl: `file://${dir.objects}`, repair });

const kinds = (report: FsckReport) => [...new Set(report.violations.map((v) => v.kind))].sort();

/** The inode a path names (walking dentries from the default mount's root). */
function inodeOf(dir: { data: string }, path: string): number {
  let inode = 1;
  for (const name of path.split("/").filter(Boolean)) {
    inode = one<{ child: number }>(dir, "SELECT child FROM dentry_current WHERE mount = 1 AND parent = ? AND name = ?", inode, name).child;
  }
  return inode;
}

beforeAll(workload, 60_000);

describe("fsck", () => {
  test("a store after a realistic workload is clean", async () => {
    const report = await check(clean);
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.counts.inodes).toBeGreaterThan(20);
    expect(report.counts.blocksReferenced).toBeGreaterThan(5);
  });

  test("an inode row deleted under its dentry: the dentry dangles, its manifests are orphans", async () => {
    const dir = copyOf("dangling");
    const inode = inodeOf(dir, "/ws/src/f10.txt");
    sql(dir, "DELETE FROM inode_current WHERE mount = 1 AND inode = ?", inode);
    const report = await check(dir);
    expect(kinds(report)).toContain("dentry-dangling");
    expect(kinds(report)).toContain("manifest-orphan");
    expect(report.violations.find((v) => v.kind === "dentry-dangling")!.keys).toMatchObject({ mount: 1, name: "f10.txt", child: inode });
  });

  test("a wrong nlink on a file and on a directory", async () => {
    const dir = copyOf("nlink");
    const file = inodeOf(dir, "/ws/src/f11.txt");
    const ws = inodeOf(dir, "/ws");
    sql(dir, "UPDATE inode_current SET nlink = 5 WHERE mount = 1 AND inode IN (?, ?)", file, ws);
    const report = await check(dir);
    expect(kinds(report)).toEqual(["nlink-mismatch"]);
    expect(report.violations.map((v) => v.keys.inode).sort()).toEqual([file, ws].sort());
  });

  test("an orphan inode (its only dentry gone) is unreachable", async () => {
    const dir = copyOf("orphan");
    const inode = inodeOf(dir, "/ws/src/f12.txt");
    sql(dir, "DELETE FROM dentry_current WHERE mount = 1 AND child = ?", inode);
    const report = await check(dir);
    expect(kinds(report)).toEqual(["unreachable-inode"]);
    expect(report.violations[0]!.keys).toEqual({ mount: 1, inode });
  });

  test("a leaked object is listed, and --repair deletes it", async () => {
    const dir = copyOf("leak");
    const store = await openObjectStore(`file://${dir.objects}`);
    await store.put("blocks/1/999999/999999/0/0", new Uint8Array([1, 2, 3]));
    await store.close();
    const report = await check(dir);
    expect(kinds(report)).toEqual(["object-leak"]);
    expect(report.violations[0]!.keys).toEqual({ objectKey: "blocks/1/999999/999999/0/0" });
    const repaired = await check(dir, true);
    expect(repaired.repaired.objectsDeleted).toBe(1);
    expect((await check(dir)).ok).toBe(true);
  });

  test("a missing block and a short block", async () => {
    const dir = copyOf("missing");
    const store = await openObjectStore(`file://${dir.objects}`);
    const keys = (await store.list("blocks/")).keys;
    const inode = inodeOf(dir, "/ws/ckpt.bin");
    const ckpt = keys.filter((k) => k.startsWith(`blocks/1/${inode}/`));
    expect(ckpt.length).toBeGreaterThan(2);
    await store.delete(ckpt[0]!);
    await store.put(ckpt[1]!, new Uint8Array(10));
    await store.close();
    const report = await check(dir);
    expect(kinds(report)).toEqual(["block-missing", "block-short"]);
    expect(report.violations.find((v) => v.kind === "block-missing")!.keys).toEqual({ objectKey: ckpt[0]! });
  });

  test("a directory cycle", async () => {
    const dir = copyOf("cycle");
    const ws = inodeOf(dir, "/ws");
    const lib = inodeOf(dir, "/ws/lib");
    // Move /ws under its own child /ws/lib: entry and parent pointer agree, so only the loop is wrong.
    sql(dir, "UPDATE dentry_current SET parent = ? WHERE mount = 1 AND child = ?", lib, ws);
    sql(dir, "UPDATE inode_current SET parent = ? WHERE mount = 1 AND inode = ?", lib, ws);
    const report = await check(dir);
    expect(kinds(report)).toContain("dir-cycle");
    expect(kinds(report)).toContain("unreachable-inode");
    expect(report.violations.find((v) => v.kind === "dir-cycle")!.keys.cycle).toBeDefined();
  });

  test("a dentry whose type disagrees, a dir whose parent pointer disagrees, a bad summary", async () => {
    const dir = copyOf("mixed");
    const f13 = inodeOf(dir, "/ws/src/f13.txt");
    const src = inodeOf(dir, "/ws/src");
    const ckpt = inodeOf(dir, "/ws/ckpt.bin");
    sql(dir, "UPDATE dentry_current SET type = 2 WHERE mount = 1 AND child = ?", f13);
    sql(dir, "UPDATE inode_current SET parent = 1 WHERE mount = 1 AND inode = ?", src);
    sql(dir, "UPDATE inode_current SET size = size + 1 WHERE mount = 1 AND inode = ?", ckpt);
    const report = await check(dir);
    expect(kinds(report)).toEqual(["body-bad-summary", "dentry-type-mismatch", "dir-parent-mismatch"]);
  });

  test("the version clock behind a stored version, and a history row out of order", async () => {
    const dir = copyOf("clock");
    // The clock is the shard's row or its newest log entry, whichever is newer: both go back.
    sql(dir, "UPDATE shard SET version = 1 WHERE shard = 1");
    sql(dir, "DELETE FROM command_log WHERE shard = 1 AND version > 1");
    sql(dir, "INSERT INTO history (family, mount, k1, k2, k3, name, version, replaced_version, value) VALUES (1, 1, 424242, 0, 0, '', 7, 7, '[]')");
    const report = await check(dir);
    expect(kinds(report)).toEqual(["history-order", "version-clock-behind"]);
  });

  test("an id allocator behind an inode in use", async () => {
    const dir = copyOf("ids");
    sql(dir, "UPDATE shard SET next_id = 3 WHERE shard = 1");
    expect(kinds(await check(dir))).toEqual(["id-clock-behind"]);
  });

  test("fsck refuses a data directory metad is running on", async () => {
    const dir = copyOf("busy");
    const metad = await Metad.start({ ...DEFAULT_CONFIG, port: 0, dataDir: dir.data, objectsUrl: `file://${dir.objects}`, gcIntervalMs: 0 });
    try {
      await expect(check(dir)).rejects.toBeInstanceOf(DataDirBusy);
      // And a second metad on the same directory is refused, too.
      await expect(Metad.start({ ...DEFAULT_CONFIG, port: 0, dataDir: dir.data, objectsUrl: `file://${dir.objects}`, gcIntervalMs: 0 })).rejects.toThrow(/in use/);
    } finally {
      await metad.stop();
    }
    expect((await check(dir)).ok).toBe(true);
  });

  test("the CLI: exit 0 clean, 1 with problems, 0 after --repair fixed them, --json, 2 when busy or missing", async () => {
    const dir = copyOf("cli");
    const run = async (...args: string[]) => {
      const child = Bun.spawn([process.execPath, cli, "--data", dir.data, "--objects", `file://${dir.objects}`, ...args], { stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { stdout, stderr, code };
    };
    const ok = await run();
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("clean");
    const store = await openObjectStore(`file://${dir.objects}`);
    await store.put("blocks/1/77/77/0/0", new Uint8Array(1));
    await store.close();
    const bad = await run();
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("object-leak: object 'blocks/1/77/77/0/0'");
    const json = await run("--json");
    expect(JSON.parse(json.stdout).violations[0].kind).toBe("object-leak");
    expect((await run("--repair")).code).toBe(0);
    expect((await run()).code).toBe(0);
    const missing = Bun.spawn([process.execPath, cli, "--data", join(root, "nowhere")], { stdout: "pipe", stderr: "pipe" });
    expect(await missing.exited).toBe(2);
  });
});
