import { afterAll, beforeAll, expect, test } from "bun:test";
import { ownBytes, type LentBytes, type RawFileSystem, type RequestContext } from "../../src/fuse/kernel/index.ts";
import { O_RDWR, O_TRUNC, O_WRONLY } from "../../src/fuse/kernel/abi.ts";
import { createNoKVFs, type NoKVFs } from "../../src/fuse/inode/bridge.ts";
import { LiveSource } from "../../src/fuse/inode/live-source.ts";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { S_IFCHR, S_IFIFO, S_IFMT, S_IFSOCK } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { lookupVisible } from "./bridge-harness.ts";

// The POSIX parts of the workspace through the inode layer, against a real metad (no kernel, no
// root): special files, files unlinked or replaced while open, extended attributes, O_TRUNC that
// others do not see until the publish, and a close that outlasts a metad outage.

const ctx: RequestContext = { unique: 1n, nodeid: 1, uid: 0, gid: 0, pid: 1 };
const O_CREAT_EXCL = 0o100 | 0o200;
const text = (out: Uint8Array | LentBytes) => new TextDecoder().decode(ownBytes(out));
const bytes = (s: string) => new TextEncoder().encode(s);

let metad: MetadHarness;
let client: NoKVClient;
let nokv: NoKVFs;
let fs: Required<RawFileSystem>;

async function mountFs(): Promise<{ nokv: NoKVFs; fs: Required<RawFileSystem> }> {
  const made = await createNoKVFs(new LiveSource(await metad.client(), false));
  const raw = made.fs as Required<RawFileSystem>;
  raw.init({ major: 7, minor: 38, maxWriteBytes: 1 << 20, maxReadaheadBytes: 1 << 17, flags: 0 });
  while (made.invalidator!.timeoutFor(1) === 0) await Bun.sleep(1);
  return { nokv: made, fs: raw };
}

beforeAll(async () => {
  metad = await startMetad();
  client = await metad.client();
  ({ nokv, fs } = await mountFs());
});

afterAll(async () => {
  await nokv.close();
  await metad.stop();
});

test("mknod makes fifos, sockets and devices (with their numbers) that list and stat as such", async () => {
  const fifo = await fs.mknod(ctx, 1, "pipe", S_IFIFO | 0o640, 0);
  const chr = await fs.mknod(ctx, 1, "null", S_IFCHR | 0o666, (1 << 8) | 3);
  const sock = await fs.mknod(ctx, 1, "sock", S_IFSOCK | 0o755, 0);
  expect(fifo.attr.mode).toBe(S_IFIFO | 0o640);
  expect((await fs.getattr(ctx, chr.nodeid, undefined)).attr).toMatchObject({ mode: S_IFCHR | 0o666, rdev: (1 << 8) | 3 });
  expect(sock.attr.mode & S_IFMT).toBe(S_IFSOCK);
  expect((await client.stat("/pipe")).isFIFO()).toBe(true);
  expect((await client.stat("/null")).rdev).toBe((1 << 8) | 3);
  await fs.unlink(ctx, 1, "pipe");
  expect(await client.exists("/pipe")).toBe(false);
});

test("a file unlinked while open stays readable and writable through its handle until the last close", async () => {
  const { entry, open } = await fs.create(ctx, 1, "tmpfile", 0o644, O_RDWR | O_CREAT_EXCL, false);
  await fs.write(ctx, entry.nodeid, open.fh, 0, bytes("Hello, World!"), false);
  await fs.flush(ctx, entry.nodeid, open.fh);
  const reader = await fs.open(ctx, entry.nodeid, 0, false);
  await fs.unlink(ctx, 1, "tmpfile");
  expect(await client.exists("/tmpfile")).toBe(false);
  expect((await fs.getattr(ctx, entry.nodeid, undefined)).attr.nlink).toBe(0);
  await fs.write(ctx, entry.nodeid, open.fh, 0, bytes("Jello"), false);
  expect(text(await fs.read(ctx, entry.nodeid, open.fh, 0, 100))).toBe("Jello, World!");
  await fs.release(ctx, entry.nodeid, open.fh);
  // The reader still has it: metad keeps it for this mount's session.
  expect(metad.metad.service.store.getOrphan(1, entry.nodeid)).not.toBeNull();
  expect(text(await fs.read(ctx, entry.nodeid, reader.fh, 0, 5))).toBe("Hello");
  await fs.release(ctx, entry.nodeid, reader.fh);
  expect(metad.metad.service.store.getOrphan(1, entry.nodeid)).toBeNull();
  expect(client.inode.getattr(entry.nodeid)).rejects.toMatchObject({ code: "ENOENT" });
});

test("rename over an open file leaves the open handle on the old inode", async () => {
  await client.writeFile("/config", "old data");
  const old = await lookupVisible(fs, ctx, 1, "config");
  const reader = await fs.open(ctx, old.nodeid, 0, false);
  await client.writeFile("/config.new", "new data");
  await fs.lookup(ctx, 1, "config.new");
  await fs.rename(ctx, { parent: 1, name: "config.new", newParent: 1, newName: "config", flags: 0 });
  expect(text(await fs.read(ctx, old.nodeid, reader.fh, 0, 100))).toBe("old data");
  expect(await client.readFile("/config", "utf8")).toBe("new data");
  await fs.release(ctx, old.nodeid, reader.fh);
  expect(metad.metad.service.store.getOrphan(1, old.nodeid)).toBeNull();
});

test("a mount that ends releases every orphan its session holds", async () => {
  const other = await mountFs();
  const { entry, open } = await other.fs.create(ctx, 1, "held", 0o644, O_RDWR | O_CREAT_EXCL, false);
  await other.fs.unlink(ctx, 1, "held");
  expect(metad.metad.service.store.getOrphan(1, entry.nodeid)).not.toBeNull();
  void open;
  await other.nokv.close();
  expect(metad.metad.service.store.getOrphan(1, entry.nodeid)).toBeNull();
});

test("O_TMPFILE: a nameless open file; linkat names it and its close publishes there, or its close frees it", async () => {
  const kept = await fs.tmpfile(ctx, 1, 0o644, O_RDWR);
  await fs.write(ctx, kept.entry.nodeid, kept.open.fh, 0, bytes("tmp data"), false);
  expect(text(await fs.read(ctx, kept.entry.nodeid, kept.open.fh, 0, 100))).toBe("tmp data");
  expect((await fs.getattr(ctx, kept.entry.nodeid, undefined)).attr.nlink).toBe(0);
  await fs.flush(ctx, kept.entry.nodeid, kept.open.fh);
  await fs.link(ctx, kept.entry.nodeid, 1, "from-tmpfile");
  await fs.release(ctx, kept.entry.nodeid, kept.open.fh);
  expect(await client.readFile("/from-tmpfile", "utf8")).toBe("tmp data");
  expect(metad.metad.service.store.getOrphan(1, kept.entry.nodeid)).toBeNull();

  const dropped = await fs.tmpfile(ctx, 1, 0o644, O_RDWR);
  expect(metad.metad.service.store.getOrphan(1, dropped.entry.nodeid)).not.toBeNull();
  await fs.release(ctx, dropped.entry.nodeid, dropped.open.fh);
  expect(metad.metad.service.store.getOrphan(1, dropped.entry.nodeid)).toBeNull();
  expect((await client.readdir("/")).some((name) => String(name).startsWith(".nokv-tmpfile"))).toBe(false);
});

test("extended attributes: set, get, list, remove, with the kernel's flags and errnos", async () => {
  await client.writeFile("/x", "x");
  const x = await lookupVisible(fs, ctx, 1, "x");
  expect(fs.getxattr(ctx, x.nodeid, "user.k")).rejects.toMatchObject({ code: "ENODATA" });
  await fs.setxattr(ctx, x.nodeid, "user.k", bytes("v1"), 0);
  await fs.setxattr(ctx, x.nodeid, "trusted.t", bytes(""), 0);
  expect(text(await fs.getxattr(ctx, x.nodeid, "user.k"))).toBe("v1");
  expect(await fs.listxattr(ctx, x.nodeid)).toEqual(["trusted.t", "user.k"]);
  expect(fs.setxattr(ctx, x.nodeid, "user.k", bytes("v2"), 1)).rejects.toMatchObject({ code: "EEXIST" });
  expect(fs.setxattr(ctx, x.nodeid, "user.none", bytes("v2"), 2)).rejects.toMatchObject({ code: "ENODATA" });
  expect(fs.getxattr(ctx, x.nodeid, "system.posix_acl_access")).rejects.toMatchObject({ code: "ENODATA" });
  await fs.removexattr(ctx, x.nodeid, "user.k");
  expect(await fs.listxattr(ctx, x.nodeid)).toEqual(["trusted.t"]);
  // Another client's change reaches this mount through the watch: what the mount knew is forgotten.
  await client.inode.setxattr(x.nodeid, "user.from-elsewhere", bytes("e"));
  const seen = async () => text(await fs.getxattr(ctx, x.nodeid, "user.from-elsewhere").catch(() => new Uint8Array(0)));
  for (let i = 0; i < 200 && (await seen()) !== "e"; i++) await Bun.sleep(10);
  expect(await seen()).toBe("e");
});

test("the kernel's security.capability question before each write costs one listing, then nothing", async () => {
  await client.writeFile("/caps", "x");
  const f = await lookupVisible(fs, ctx, 1, "caps");
  const before = nokv.state.local.counts.xattrMisses;
  for (let i = 0; i < 3; i++) await expect(fs.getxattr(ctx, f.nodeid, "security.capability")).rejects.toMatchObject({ code: "ENODATA" });
  // One list fetched for the first; all three answered from it.
  expect(nokv.state.local.counts.xattrMisses - before).toBe(3);
  // Set elsewhere: the event forgets the list, and the value shows.
  await client.inode.setxattr(f.nodeid, "security.capability", bytes("cap"));
  const seen = async () => text(await fs.getxattr(ctx, f.nodeid, "security.capability").catch(() => new Uint8Array(0)));
  for (let i = 0; i < 200 && (await seen()) !== "cap"; i++) await Bun.sleep(10);
  expect(await seen()).toBe("cap");
});

test("fallocate: mode 0 grows with zeros and never shrinks, KEEP_SIZE keeps the size, other modes are EOPNOTSUPP", async () => {
  await client.writeFile("/fa", "abc");
  const fa = await lookupVisible(fs, ctx, 1, "fa");
  const h = await fs.open(ctx, fa.nodeid, O_RDWR, false);
  await fs.fallocate(ctx, fa.nodeid, h.fh, 0, 10, 0);
  expect((await fs.getattr(ctx, fa.nodeid, undefined)).attr.sizeBytes).toBe(10);
  await fs.fallocate(ctx, fa.nodeid, h.fh, 0, 2, 0);
  await fs.fallocate(ctx, fa.nodeid, h.fh, 0, 100, 0x01);
  expect((await fs.getattr(ctx, fa.nodeid, undefined)).attr.sizeBytes).toBe(10);
  expect(fs.fallocate(ctx, fa.nodeid, h.fh, 0, 4, 0x02 | 0x01)).rejects.toMatchObject({ code: "ENOTSUP" });
  await fs.release(ctx, fa.nodeid, h.fh);
  expect([...(await client.readFile("/fa"))]).toEqual([97, 98, 99, 0, 0, 0, 0, 0, 0, 0]);
});

test("O_TRUNC: everyone else reads the old contents until the close publishes; no write publishes empty", async () => {
  await client.writeFile("/t", "original");
  const t = await lookupVisible(fs, ctx, 1, "t");
  const h = await fs.open(ctx, t.nodeid, O_WRONLY | O_TRUNC, false);
  expect(await client.readFile("/t", "utf8")).toBe("original");
  await fs.flush(ctx, t.nodeid, h.fh);
  await fs.release(ctx, t.nodeid, h.fh);
  expect(await client.readFile("/t", "utf8")).toBe("");
});

test("a close during a metad outage waits for metad and then publishes; the old contents stay until then", async () => {
  await client.writeFile("/outage", "before");
  const f = await lookupVisible(fs, ctx, 1, "outage");
  const h = await fs.open(ctx, f.nodeid, O_WRONLY | O_TRUNC, false);
  await fs.write(ctx, f.nodeid, h.fh, 0, bytes("after"), false);
  // Down longer than the SDK's own reconnect attempts (about 6 s), well inside the publish retry window.
  const outage = metad.restart(8_000);
  await Bun.sleep(100);
  await fs.flush(ctx, f.nodeid, h.fh);
  await outage;
  await fs.release(ctx, f.nodeid, h.fh);
  expect(await client.readFile("/outage", "utf8")).toBe("after");
}, 30_000);
