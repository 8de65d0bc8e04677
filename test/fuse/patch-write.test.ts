import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FileObjectStore } from "../../src/objstore/file/file-store.ts";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { LIMITS } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { fuseSkipReason, run, sh, startMount, type MountProcess } from "./fuse-harness.ts";

// Writes through the mount cost what changed: an fsync uploads the blocks a write touched and
// publishes a generation sharing the rest; full blocks stream out while a large file is written,
// so the mount's memory stays bounded; O_TRUNC keeps the old body for everyone else until the
// close; a writer whose base was replaced by someone else gets ESTALE instead of clobbering.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE patch-write tests: ${skip}`);

const BLOCK = 256 * 1024;
const MiB = 1024 * 1024;

describe.skipIf(skip !== null)("patch writes through the mount", () => {
  let metad: MetadHarness;
  let client: NoKVClient;
  let mount: MountProcess;
  let mnt: string;

  beforeAll(async () => {
    metad = await startMetad();
    client = await metad.client();
    mount = await startMount(metad);
    mnt = mount.mountpoint;
  });

  afterAll(async () => {
    await mount?.stop();
    await metad?.stop();
  });

  /** Objects stored under the current generation's key prefix of `path`: the blocks its last publish put. */
  const blocksOfCurrentGeneration = async (path: string): Promise<number> => {
    const st = await client.stat(path);
    const attrs = await client.inode.getattr(st.ino);
    const store = await FileObjectStore.open({ dir: join(metad.dir, "objects") });
    return (await store.list(`blocks/${client.mount.id}/${st.ino}/${attrs.generation}/`, { limit: LIMITS.objectListPageMaxKeys })).keys.length;
  };

  const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

  test("a file copied in front to back takes wide blocks; a small write into it rebuilds one", async () => {
    await run("head -c 9437184 /dev/urandom > wide.bin", { cwd: mnt });
    const before = await client.readFile("/wide.bin");
    // 9 MiB: two wide blocks and a 1 MiB tail.
    expect(await blocksOfCurrentGeneration("/wide.bin")).toBe(3);
    await run("printf 'abc' | dd of=wide.bin bs=1 seek=5000000 conv=notrunc,fsync status=none", { cwd: mnt });
    expect(await blocksOfCurrentGeneration("/wide.bin")).toBe(1);
    const expected = new Uint8Array(before);
    expected.set(new TextEncoder().encode("abc"), 5000000);
    expect(sha(await client.readFile("/wide.bin"))).toBe(sha(expected));
    expect(await run("sha256sum < wide.bin", { cwd: mnt })).toBe(`${sha(expected)}  -\n`);
  });

  test("a write into the middle of a large file uploads only the touched block; others read the new bytes", async () => {
    // Committed small first (as a database's first transaction is): the file keeps small blocks.
    await run("printf x > big.bin && head -c 8388608 /dev/urandom | dd of=big.bin bs=1M conv=notrunc status=none", { cwd: mnt });
    const before = await client.readFile("/big.bin");
    expect(before.byteLength).toBe(8 * MiB);
    expect(await blocksOfCurrentGeneration("/big.bin")).toBe(32);
    // 4 KiB at 3 MiB + 8 KiB: inside block 12.
    await run("head -c 4096 /dev/zero | tr '\\0' 'x' | dd of=big.bin bs=4096 seek=770 conv=notrunc,fsync status=none", { cwd: mnt });
    expect(await blocksOfCurrentGeneration("/big.bin")).toBe(1);
    const after = await client.readFile("/big.bin");
    const expected = new Uint8Array(before);
    expected.fill("x".charCodeAt(0), 770 * 4096, 771 * 4096);
    expect(sha(after)).toBe(sha(expected));
    // A write across a block boundary touches two.
    await run(`head -c 8192 /dev/zero | dd of=big.bin bs=1 seek=${5 * BLOCK - 4096} conv=notrunc,fsync status=none`, { cwd: mnt });
    expect(await blocksOfCurrentGeneration("/big.bin")).toBe(2);
    // The mount reads what everyone else reads (a spawned program: this process serves metad).
    expect(await run("sha256sum < big.bin", { cwd: mnt })).toBe(`${sha(await client.readFile("/big.bin"))}  -\n`);
  });

  test("append uploads the tail; truncate then write publishes the cut body", async () => {
    await run("head -c 1000000 /dev/urandom > grow.bin", { cwd: mnt });
    const first = await client.readFile("/grow.bin");
    await run("printf 'tail' >> grow.bin", { cwd: mnt });
    // 1,000,000 bytes end inside block 3; the append rewrites that block only.
    expect(await blocksOfCurrentGeneration("/grow.bin")).toBe(1);
    expect(Buffer.from(await client.readFile("/grow.bin")).equals(Buffer.concat([first, Buffer.from("tail")]))).toBe(true);
    await run("truncate -s 300000 grow.bin && printf 'end' | dd of=grow.bin bs=1 seek=600000 conv=notrunc,fsync status=none", { cwd: mnt });
    const cut = await client.readFile("/grow.bin");
    expect(cut.byteLength).toBe(600003);
    expect(Buffer.from(cut.subarray(0, 300000)).equals(Buffer.from(first.subarray(0, 300000)))).toBe(true);
    expect(cut.subarray(300000, 600000).every((b) => b === 0)).toBe(true);
    expect(Buffer.from(cut.subarray(600000)).toString()).toBe("end");
    expect(await run("stat -c %s grow.bin", { cwd: mnt })).toBe("600003\n");
  });

  test("O_TRUNC keeps the old contents for everyone else until the close", async () => {
    await client.writeFile("/trunc.txt", "old contents");
    const proc = Bun.spawn(["python3", "-c", PY_TRUNC_WRITER, join(mnt, "trunc.txt")], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    const line = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await line()).toContain("written");
    expect(await client.readFile("/trunc.txt", "utf8")).toBe("old contents");
    proc.stdin.write("close\n");
    await proc.stdin.end();
    expect(await proc.exited).toBe(0);
    expect(await client.readFile("/trunc.txt", "utf8")).toBe("new");
  });

  test("an fsync over a base someone else replaced fails with ESTALE; their body stays", async () => {
    await run("head -c 1048576 /dev/urandom > shared.bin", { cwd: mnt });
    const proc = Bun.spawn(["python3", "-c", PY_PATCH_WRITER, join(mnt, "shared.bin")], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    const line = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await line()).toContain("written");
    // Another client replaces the body while the mount's patch is unpublished.
    await client.writeFile("/shared.bin", "theirs");
    proc.stdin.write("fsync\n");
    await proc.stdin.end();
    let out = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) out += new TextDecoder().decode(chunk.value);
    await proc.exited;
    expect(out).toContain(`errno ${116}`);
    expect(await client.readFile("/shared.bin", "utf8")).toBe("theirs");
    // The mount dropped its unpublished writes and the kernel's pages of them: it reads theirs too.
    expect(await run("cat shared.bin", { cwd: mnt })).toBe("theirs");
  });

  test("a large file streams out while written: the mount's memory stays bounded", async () => {
    const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${mount.proc.pid}/status`, "utf8"))?.[1] ?? 0);
    let peakKiB = rssKiB();
    const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, rssKiB())), 50);
    try {
      await run("dd if=/dev/zero of=large.bin bs=1M count=384 status=none", { cwd: mnt, timeoutMs: 120_000 });
    } finally {
      clearInterval(sampler);
    }
    expect(await run("stat -c %s large.bin", { cwd: mnt })).toBe(`${384 * MiB}\n`);
    console.log(`mount RSS peak while writing 384 MiB: ${Math.round(peakKiB / 1024)} MiB`);
    expect(peakKiB * 1024).toBeLessThan(256 * MiB);
  }, 180_000);

  test("a file unlinked while open streams out too: its memory stays bounded, its bytes read back", async () => {
    const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${mount.proc.pid}/status`, "utf8"))?.[1] ?? 0);
    let peakKiB = rssKiB();
    const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, rssKiB())), 50);
    try {
      const script = join(metad.dir, "unlinked-writer.py");
      await Bun.write(script, PY_UNLINKED_WRITER);
      expect(await run(`python3 ${script} ${join(mnt, "gone.bin")} 256`, { timeoutMs: 120_000 })).toBe("ok\n");
    } finally {
      clearInterval(sampler);
    }
    console.log(`mount RSS peak while writing 256 MiB to an unlinked file: ${Math.round(peakKiB / 1024)} MiB`);
    expect(peakKiB * 1024).toBeLessThan(256 * MiB);
    expect(await client.exists("/gone.bin")).toBe(false);
  }, 180_000);

  test("SQLite on the mount: many transactions, integrity_check ok, other clients read the database", async () => {
    const script = join(metad.dir, "sqlite-txns.py");
    await Bun.write(script, PY_SQLITE);
    const out = await run(`python3 ${script} ${join(mnt, "app.db")}`, { timeoutMs: 120_000 });
    expect(out.trim()).toBe("ok 300");
    // The published database is whole for anyone: copy it out through the SDK and check it.
    const copy = join(metad.dir, "copy.db");
    await Bun.write(copy, await client.readFile("/app.db"));
    expect((await sh(`sqlite3 ${copy} 'PRAGMA integrity_check; SELECT count(*) FROM t;'`)).stdout).toBe("ok\n300\n");
  }, 180_000);

  test("an SQLite transaction asks metad only for what changed: no prepare and no chown of its journal", async () => {
    const script = join(metad.dir, "sqlite-costs.py");
    await Bun.write(script, PY_SQLITE_COSTS);
    const db = join(mnt, "costs.db");
    await run(`python3 ${script} ${db} 0`, { timeoutMs: 60_000 });
    const counts = () => new Map([...metad.metad.stats.opStats()].map(([op, s]) => [op, s.count]));
    const before = counts();
    const transactions = 20;
    expect((await run(`python3 ${script} ${db} ${transactions}`, { timeoutMs: 60_000 })).trim()).toBe(`ok ${transactions + 1}`);
    const asked = (op: string) => (counts().get(op) ?? 0) - (before.get(op) ?? 0);
    // Each: its journal made (with the prepare of its first body), published at each of its two
    // fsyncs and the database's one, then unlinked. Each publish brings the prepare of the next.
    expect(asked("create_prepared")).toBe(transactions);
    expect(asked("publish")).toBe(3 * transactions);
    expect(asked("unlink")).toBe(transactions);
    expect(asked("prepare")).toBeLessThanOrEqual(1);
    expect(asked("setattr")).toBe(0);
    // The journal's unlink answers with the directory's new attributes: no getattr after it.
    expect(asked("getattr")).toBeLessThanOrEqual(1);
    // The check for a hot journal before each transaction: the name this mount just removed is
    // known absent, though the directory (the root) was never listed.
    expect(asked("lookup")).toBeLessThanOrEqual(1);
  }, 120_000);

  test("tar's futimens, fchown and fchmod between its writes and close ride on the close's publish", async () => {
    const counts = () => new Map([...metad.metad.stats.opStats()].map(([op, s]) => [op, s.count]));
    for (const after of [false, true]) {
      const name = after ? "tar-after.bin" : "tar.bin";
      const before = counts();
      const asked = (op: string) => (counts().get(op) ?? 0) - (before.get(op) ?? 0);
      const proc = Bun.spawn(["/usr/bin/python3", "-c", PY_TAR_FILE, join(mnt, name), ...(after ? ["after"] : [])], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
      const reader = proc.stdout.getReader();
      let pending = "";
      // One whole line: a pipe may hand it over in pieces.
      const line = async () => {
        while (!pending.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the writer exited mid-line: '${pending}'`);
          pending += new TextDecoder().decode(value);
        }
        const at = pending.indexOf("\n");
        const text = pending.slice(0, at);
        pending = pending.slice(at + 1);
        return text.trim().split(" ");
      };
      const [mode, uid, gid, mtimeNs] = await line();
      // The writer sees its changes at once; a write after futimens moves mtime to now.
      expect([mode, uid, gid]).toEqual(["640", "1234", "5678"]);
      if (after) expect(BigInt(mtimeNs!)).toBeGreaterThan(1_600_000_000_000_000_000n);
      else expect(mtimeNs).toBe("1500000000123456789");
      // Nothing reached metad yet: others see the new empty file, as with its bytes.
      const early = await client.stat(`/${name}`);
      expect([early.mode & 0o7777, early.uid, early.size]).toEqual([0o600, 0, 0]);
      expect(asked("setattr")).toBe(0);
      proc.stdin.write("close\n");
      await proc.stdin.end();
      const [closedMode, closedUid, closedGid, closedMtimeNs] = await line();
      expect(await proc.exited).toBe(0);
      expect([closedMode, closedUid, closedGid, closedMtimeNs]).toEqual([mode, uid, gid, mtimeNs]);
      // One publish carried bytes, mode, owner and times; no setattr at all.
      expect(asked("publish")).toBe(1);
      expect(asked("setattr")).toBe(0);
      const st = await client.stat(`/${name}`);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o640, 1234, 5678]);
      // metad stamps a written file's mtime at its publish, a moment after the mount's last write.
      if (after) expect(st.mtimeNs).toBeGreaterThanOrEqual(BigInt(mtimeNs!));
      else expect(st.mtimeNs).toBe(BigInt(mtimeNs!));
      expect(await client.readFile(`/${name}`, "utf8")).toBe(after ? "hello tar!" : "hello tar");
    }
  }, 60_000);

  test("a chown to the owner a setuid file already has, while it is open for writing, still clears setuid at metad", async () => {
    const path = join(mnt, "suid.bin");
    await run(`printf x > ${path} && chmod 6755 ${path}`);
    expect((await client.stat("/suid.bin")).mode & 0o7777).toBe(0o6755);
    const out = await run(`/usr/bin/python3 -c '${PY_SAME_OWNER_CHOWN}' ${path}`);
    // Root's chown drops both bits of an executable, as the kernel asks (HANDLE_KILLPRIV_V2);
    // the file was written first, so the close's publish carries the new mode to metad.
    expect(out.trim()).toBe("755");
    expect((await client.stat("/suid.bin")).mode & 0o7777).toBe(0o755);
  }, 60_000);
});

/**
 * argv: path, "after" to write once more after the setattrs. What tar does per extracted file:
 * create, write, futimens, fchown, fchmod, close; prints the fd's mode, owner and mtime, waits
 * for a line on stdin, closes, prints them from stat.
 */
const PY_TAR_FILE = `
import os, sys
path, after = sys.argv[1], len(sys.argv) > 2
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"hello tar")
os.utime(fd, ns=(1_400_000_000_000_000_000, 1_500_000_000_123_456_789))
os.fchown(fd, 1234, 5678)
os.fchmod(fd, 0o640)
if after:
    os.write(fd, b"!")
st = os.fstat(fd)
print(oct(st.st_mode & 0o7777)[2:], st.st_uid, st.st_gid, st.st_mtime_ns, flush=True)
sys.stdin.readline()
os.close(fd)
st = os.stat(path)
print(oct(st.st_mode & 0o7777)[2:], st.st_uid, st.st_gid, st.st_mtime_ns, flush=True)
`;

/** argv: path. Opens it for writing, chowns it to its own owner while open, prints its mode (octal). */
const PY_SAME_OWNER_CHOWN = `
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"y")
st = os.fstat(fd)
os.fchown(fd, st.st_uid, st.st_gid)
print(oct(os.fstat(fd).st_mode & 0o7777)[2:])
os.close(fd)
`;

/** argv: database, transactions (0: create the table). Prints "ok <rows>". */
const PY_SQLITE_COSTS = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("create table if not exists t(k integer primary key, v blob)")
if int(sys.argv[2]) == 0:
    db.execute("insert into t(v) values (?)", (b"y" * 100000,))
for i in range(int(sys.argv[2])):
    db.execute("begin"); db.execute("insert into t(v) values (?)", (b"x" * 100,)); db.execute("commit")
print("ok", db.execute("select count(*) from t").fetchone()[0])
`;

const PY_TRUNC_WRITER = `
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"new")
print("written", flush=True)
sys.stdin.readline()
os.close(fd)
`;

const PY_PATCH_WRITER = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"mine", 4096)
print("written", flush=True)
sys.stdin.readline()
try:
    os.fsync(fd)
    print("fsync ok", flush=True)
except OSError as e:
    print("errno", e.errno, flush=True)
try:
    os.close(fd)
except OSError:
    pass
`;

const PY_UNLINKED_WRITER = `
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.unlink(path)
block = bytes(range(256)) * 4096
for i in range(mib):
    os.write(fd, block)
assert os.pread(fd, 1024, 100 * 1024 * 1024 + 3) == (bytes(range(256)) * 8)[3:1027]
os.close(fd)
print("ok")
`;

const PY_SQLITE = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
for i in range(300):
    with db:
        db.execute("INSERT INTO t (v) VALUES (?)", ("x" * (i % 500),))
        if i % 7 == 0:
            db.execute("UPDATE t SET v = v || 'y' WHERE id % 13 = ?", (i % 13,))
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
n = db.execute("SELECT count(*) FROM t").fetchone()[0]
print(ok, n)
db.close()
`;
