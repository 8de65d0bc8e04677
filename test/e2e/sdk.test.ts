import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FsError, LIMITS } from "../../src/types/index.ts";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { codeOf, startMetad, type MetadHarness } from "../harness.ts";

let h: MetadHarness;
let c: NoKVClient;
beforeAll(async () => {
  h = await startMetad();
  c = await h.client();
});
afterAll(() => h.stop());


describe("SDK path API over TCP", () => {
  test("mkdir, createFile, stat, lstat, readdir with and without types", async () => {
    expect(await c.mkdir("/t1/a/b", { recursive: true })).toBe("/t1/a/b");
    expect(await c.mkdir("/t1/a/b", { recursive: true })).toBeUndefined();
    await c.mkdir("/t1/plain");
    const f = await c.createFile("/t1/a/b/file.txt", { mode: 0o600 });
    expect(f.isFile()).toBe(true);
    expect(f.mode & 0o777).toBe(0o600);
    expect(f.mode & 0o170000).toBe(0o100000);
    const s = await c.stat("/t1/a");
    expect(s.isDirectory()).toBe(true);
    expect(s.mtime).toBeInstanceOf(Date);
    expect(await c.readdir("/t1")).toEqual(["a", "plain"]);
    const dirents = await c.readdir("/t1/a/b", { withFileTypes: true });
    expect(dirents.map((d) => [d.name, d.isFile(), d.isDirectory(), d.parentPath])).toEqual([["file.txt", true, false, "/t1/a/b"]]);
    const plus = await c.readdirStats("/t1/a/b");
    expect(plus[0]!.stats.ino).toBe(f.ino);
    expect(await c.exists("/t1/a/b/file.txt")).toBe(true);
    expect(await c.exists("/t1/zzz")).toBe(false);
  });

  test("errors carry node's code, syscall, path and message shape", async () => {
    try {
      await c.stat("/t-missing/x");
      throw new Error("no error");
    } catch (err) {
      const e = err as FsError;
      expect(e.code).toBe("ENOENT");
      expect(e.errno).toBe(-2);
      expect(e.syscall).toBe("stat");
      expect(e.path).toBe("/t-missing/x");
      expect(e.message).toBe("ENOENT: no such file or directory, stat '/t-missing/x'");
    }
    await c.mkdir("/t2");
    await c.createFile("/t2/f");
    expect(await codeOf(c.mkdir("/t2"))).toBe("EEXIST");
    expect(await codeOf(c.createFile("/t2/f"))).toBe("EEXIST");
    expect(await codeOf(c.rmdir("/t2"))).toBe("ENOTEMPTY");
    expect(await codeOf(c.rmdir("/t2/f"))).toBe("ENOTDIR");
    expect(await codeOf(c.unlink("/t2"))).toBe("EISDIR");
    expect(await codeOf(c.readdir("/t2/f"))).toBe("ENOTDIR");
    expect(await codeOf(c.stat("/t2/" + "n".repeat(256)))).toBe("ENAMETOOLONG");
    expect(await codeOf(c.stat("t2"))).toBe("EINVAL");
    expect(await codeOf(c.rm("/t2"))).toBe("EISDIR");
    expect(await codeOf(c.rename("/t2", "/t2/inside"))).toBe("EINVAL");
    expect(await codeOf(c.readlink("/t2/f"))).toBe("EINVAL");
    expect(await codeOf(c.rm("/nothing-here", { force: true }))).toBe("none");
    expect(await codeOf(c.rmdir("/"))).toBe("EBUSY");
  });

  test("rename, symlink, readlink, link, chmod, chown, utimes, truncate, unlink, rm -r", async () => {
    await c.mkdir("/t3/src", { recursive: true });
    await c.createFile("/t3/src/a");
    await c.rename("/t3/src/a", "/t3/b");
    expect(await codeOf(c.stat("/t3/src/a"))).toBe("ENOENT");
    await c.createFile("/t3/c");
    expect(await codeOf(c.rename("/t3/b", "/t3/c", { noReplace: true }))).toBe("EEXIST");
    await c.symlink("src", "/t3/link");
    expect(await c.readlink("/t3/link")).toBe("src");
    expect((await c.lstat("/t3/link")).isSymbolicLink()).toBe(true);
    expect((await c.stat("/t3/link")).isDirectory()).toBe(true);
    await c.link("/t3/b", "/t3/b2");
    expect((await c.stat("/t3/b")).nlink).toBe(2);
    await c.chmod("/t3/b", 0o640);
    await c.chown("/t3/b", 1000, 1001);
    await c.utimes("/t3/b", new Date(1_000_000), 1_700_000_000.5);
    const s = await c.stat("/t3/b");
    expect([s.mode & 0o777, s.uid, s.gid]).toEqual([0o640, 1000, 1001]);
    expect(s.atimeMs).toBe(1_000_000);
    expect(s.mtimeNs).toBe(1_700_000_000_500_000_000n);
    await c.truncate("/t3/b", 100);
    expect((await c.stat("/t3/b")).size).toBe(100);
    await c.unlink("/t3/b2");
    await c.createFile("/t3/src/deep1");
    await c.mkdir("/t3/src/d/e/f", { recursive: true });
    await c.createFile("/t3/src/d/e/f/g");
    await c.rm("/t3", { recursive: true });
    expect(await c.exists("/t3")).toBe(false);
  });

  test("a batch runs every op in order with its own result, failures in the middle included", async () => {
    await c.mkdir("/t4");
    const root = await c.stat("/t4");
    const results = await c.batch([
      { op: "create", args: { parent: root.ino, name: "a" } },
      { op: "create", args: { parent: root.ino, name: "b" } },
      { op: "create", args: { parent: root.ino, name: "a" } },
      { op: "stat_path", args: { path: "/t4/missing" } },
      { op: "mkdir_path", args: { path: "/t4/d" } },
      { op: "no_such_op", args: {} },
      { op: "create", args: { parent: root.ino, name: "c" } },
    ]);
    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["ok", "ok", "EEXIST", "ENOENT", "ok", "ENOSYS", "ok"]);
    expect(await c.readdir("/t4")).toEqual(["a", "b", "c", "d"]);
    const commits = async () => ((await c.serverStats()) as { writes: { commits: number } }).writes.commits;
    const before = await commits();
    const merged = Array.from({ length: 300 }, (_, i) => ({ op: "create", args: { parent: root.ino, name: `m${i}` } }));
    expect((await c.batch(merged)).every((r) => r.ok)).toBe(true);
    // 300 consecutive creates in one directory commit as one command.
    expect((await commits()) - before).toBe(1);
    expect((await c.readdir("/t4")).length).toBe(304);
    // So do consecutive unlinks; a bad one among them sends the run back to one command each.
    const removeBefore = await commits();
    expect((await c.batch(merged.slice(0, 200).map((op) => ({ op: "unlink", args: op.args })))).every((r) => r.ok)).toBe(true);
    expect((await commits()) - removeBefore).toBe(1);
    const mixed = await c.batch(["m200", "missing", "m201", "d"].map((name) => ({ op: "unlink", args: { parent: root.ino, name } })));
    expect(mixed.map((r) => (r.ok ? r.value : r.error.code))).toEqual([null, "ENOENT", null, "EISDIR"]);
    expect((await c.readdir("/t4")).length).toBe(102);
    expect(await codeOf(c.batch(Array.from({ length: 5000 }, () => ({ op: "getattr", args: { inode: 1 } }))))).toBe("EINVAL");
    const groupsBefore = ((await c.serverStats()) as { groupCommit: { commits: number } }).groupCommit.commits;
    const reads = await c.batch([{ op: "getattr", args: { inode: 1 } }, { op: "stat_path", args: { path: "/t4" } }]);
    expect(reads.every((r) => r.ok)).toBe(true);
    const groupsAfter = ((await c.serverStats()) as { groupCommit: { commits: number } }).groupCommit.commits;
    expect(groupsAfter).toBe(groupsBefore);
  });

  test("the inode API maps one to one onto inode ops", async () => {
    const dir = await c.inode.mkdir(1, "t5");
    const f = await c.inode.create(dir.inode, "f", { mode: 0o600 });
    expect((await c.inode.lookup(dir.inode, "f")).inode).toBe(f.inode);
    expect((await c.inode.getattr(f.inode)).mode).toBe(0o600);
    const page = await c.inode.readdirPlus(dir.inode);
    expect(page.entries.map((e) => e.name)).toEqual(["f"]);
    const l = await c.inode.symlink(dir.inode, "l", "f");
    expect(await c.inode.readlink(l.inode)).toBe("f");
    await c.inode.rename({ parent: dir.inode, name: "f", newParent: dir.inode, newName: "g" });
    await c.inode.setattr(f.inode, { mode: 0o644 });
    await c.inode.link(f.inode, dir.inode, "h");
    await c.inode.unlink(dir.inode, "h");
    await c.inode.unlink(dir.inode, "g");
    await c.inode.unlink(dir.inode, "l");
    await c.inode.rmdir(1, "t5");
    expect(await codeOf(c.inode.getattr(dir.inode))).toBe("ENOENT");
  });

  test("snapshots are read-only views that keep what was deleted", async () => {
    await c.mkdir("/t6/keep", { recursive: true });
    await c.createFile("/t6/keep/x");
    const snap = await c.snapshot("/t6");
    await c.rm("/t6/keep", { recursive: true });
    await c.createFile("/t6/new");
    // A snapshot of /t6 uses the live namespace's absolute paths; outside /t6 there is nothing.
    expect(await snap.readdir("/t6")).toEqual(["keep"]);
    expect(await snap.readdir("/t6/keep")).toEqual(["x"]);
    expect((await snap.stat("/t6/keep/x")).isFile()).toBe(true);
    expect(await snap.readdir("/t6/keep/../keep")).toEqual(["x"]);
    expect(await codeOf(snap.readdir("/"))).toBe("ENOENT");
    expect(await codeOf(snap.stat("/keep"))).toBe("ENOENT");
    expect(await c.readdir("/t6")).toEqual(["new"]);
    const again = await c.openSnapshot(snap.id);
    expect(await again.readdir("/t6/keep")).toEqual(["x"]);
    expect((await c.listSnapshots()).map((s) => s.snapshotId)).toContain(snap.id);
    await snap.retire();
    expect(await codeOf(c.openSnapshot(snap.id))).toBe("ENOENT");
  });

  test("watch events arrive pushed, in order, and resume from a cursor", async () => {
    await c.mkdir("/t7");
    const watcher = await c.watch("/t7").ready;
    const other = await h.client();
    await other.createFile("/t7/a");
    await other.rename("/t7/a", "/t7/b");
    await other.chmod("/t7/b", 0o600);
    const got: string[] = [];
    for await (const e of watcher) {
      got.push(`${e.kind}:${e.name}`);
      if (got.length === 3) break;
    }
    expect(got).toEqual(["create:a", "rename:a", "update_attr:"]);
    const cursor = watcher.cursor;
    await other.unlink("/t7/b");
    const resumed = await c.watch("/t7", { cursor }).ready;
    const next = await resumed.next();
    expect(`${next.value!.kind}:${next.value!.name}`).toBe("remove:b");
    await resumed.close();
    expect(await codeOf(c.watch("/t7", { cursor: "bogus" }).ready)).toBe("EINVAL");
    const dir = await c.stat("/t7");
    const byInode = await c.watch({ inode: dir.ino }).ready;
    await c.rename("/t7", "/t7-moved");
    await other.createFile("/t7-moved/c");
    expect((await byInode.next()).value!.name).toBe("c");
    await byInode.close();
  });

  test("a watch whose consumer stops reading fails with EOVERFLOW past its buffer limit", async () => {
    await c.mkdir("/t-flood");
    const dir = await c.stat("/t-flood");
    const watcher = await c.watch("/t-flood").ready;
    const total = LIMITS.watchBufferMaxEvents + 1;
    for (let i = 0; i < total; i += LIMITS.createManyMaxNames) {
      const names = Array.from({ length: Math.min(LIMITS.createManyMaxNames, total - i) }, (_, j) => `f${i + j}`);
      await c.batch(names.map((name) => ({ op: "create", args: { parent: dir.ino, name } })));
    }
    // Pushes arrive asynchronously; drain until the overflow shows.
    let code = "none";
    try {
      for (let read = 0; read <= total; read++) await watcher.next();
    } catch (err) {
      code = (err as FsError).code;
    }
    expect(code).toBe("EOVERFLOW");
    await watcher.close();
  }, 60_000);

  test("pipelined requests complete out of order: a slow op does not hold up fast ones", async () => {
    const order: string[] = [];
    const slow = c.gc().then(() => order.push("gc"));
    const fast = Promise.all(Array.from({ length: 50 }, () => c.inode.getattr(1))).then(() => order.push("getattr"));
    await Promise.all([slow, fast]);
    expect(order.length).toBe(2);
    const many = await Promise.all(Array.from({ length: 2000 }, (_, i) => c.exists(`/t-pipe-${i}`)));
    expect(many.every((x) => x === false)).toBe(true);
  });

  test("a connect to a missing mount fails with ENOENT; mounts can be created", async () => {
    expect(await codeOf(h.client({ mount: "nope" }))).toBe("ENOENT");
  });
});
