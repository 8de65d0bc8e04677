import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DirentBuffer, ownBytes, type RawFileSystem, type RequestContext } from "../../src/fuse/kernel/index.ts";
import { O_RDWR, O_TRUNC, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE } from "../../src/fuse/kernel/abi.ts";
import { createNoKVFs, type NoKVFs } from "../../src/fuse/inode/bridge.ts";
import { LiveSource } from "../../src/fuse/inode/live-source.ts";
import { SnapshotSource } from "../../src/fuse/inode/snapshot-source.ts";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { LIMITS } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { lookupVisible, until } from "./bridge-harness.ts";

// The inode layer driven directly, as the session would drive it, against a real metad: no
// kernel, no root. What needs the kernel (caching, real programs) is in the mount tests.

const ctx: RequestContext = { unique: 1n, nodeid: 1, uid: 0, gid: 0, pid: 1 };
const O_CREAT_EXCL = 0o100 | 0o200;

let metad: MetadHarness;
let client: NoKVClient;
let nokv: NoKVFs;
let fs: Required<RawFileSystem>;

beforeAll(async () => {
  metad = await startMetad();
  client = await metad.client();
  nokv = await createNoKVFs(new LiveSource(await metad.client(), false));
  fs = nokv.fs as Required<RawFileSystem>;
  // As after the kernel's INIT: the root is watched, and cached for long once that is live.
  fs.init({ major: 7, minor: 38, maxWriteBytes: 1 << 20, maxReadaheadBytes: 1 << 17, flags: 0 });
  while (nokv.invalidator!.timeoutFor(1) === 0) await Bun.sleep(1);
});

afterAll(async () => {
  await nokv.close();
  await metad.stop();
});

async function listAll(nodeid: number, plus: boolean, bufferBytes: number, between?: (round: number) => Promise<void>): Promise<string[]> {
  const { fh } = await fs.opendir(ctx, nodeid, 0);
  const names: string[] = [];
  let offset = 0;
  for (let round = 0; ; round++) {
    const sink = new DirentBuffer(plus, bufferBytes);
    const added: Array<{ name: string; nextOffset: number }> = [];
    const add = sink.add.bind(sink);
    sink.add = (e) => (add(e) ? (added.push(e), true) : false);
    await fs.readdir(ctx, nodeid, fh, offset, sink);
    if (added.length === 0) break;
    names.push(...added.map((e) => e.name));
    offset = added[added.length - 1]!.nextOffset;
    await between?.(round);
  }
  await fs.releasedir(ctx, nodeid, fh);
  return names;
}

function writeText(nodeid: number, fh: number, offsetBytes: number, text: string): Promise<number> {
  return fs.write(ctx, nodeid, fh, offsetBytes, new TextEncoder().encode(text), false);
}

async function readAll(nodeid: number): Promise<string> {
  const { fh } = await fs.open(ctx, nodeid, 0, false);
  const bytes = await fs.read(ctx, nodeid, fh, 0, 1 << 20);
  await fs.release(ctx, nodeid, fh);
  return new TextDecoder().decode(ownBytes(bytes));
}

describe("inode layer over the SDK", () => {
  test("readdir pages resume by name: entries removed or added meanwhile are never repeated or skipped", async () => {
    // More entries than one readdir-plus page, so the listing resumes from metad by name.
    const total = LIMITS.readdirPageDefaultEntries + 500;
    await client.mkdir("/list");
    const { ino: inode } = await client.stat("/list");
    const names = Array.from({ length: total }, (_, i) => `e${String(i).padStart(5, "0")}`);
    await client.batch([{ op: "create_files", args: { parent: inode, names } }]);
    const dir = await lookupVisible(fs, ctx, 1, "list");
    const late = names[total - 10]!;
    const listed = await listAll(dir.nodeid, false, 4096, async (round) => {
      if (round !== 1) return;
      await client.unlink("/list/e00001"); // already listed
      await client.unlink(`/list/${late}`); // on a page not fetched yet
      await client.createFile(`/list/${late}x`); // sorts among the entries not fetched yet
    });
    expect(listed.slice(0, 2)).toEqual([".", ".."]);
    const entries = listed.slice(2);
    expect(new Set(entries).size).toBe(entries.length);
    expect(entries).toContain("e00001");
    expect(entries).not.toContain(late);
    expect(entries).toContain(`${late}x`);
    for (const name of names) if (name !== late) expect(entries).toContain(name);
  });

  test("READDIRPLUS counts one lookup for each entry the kernel took, none for dots", async () => {
    await client.mkdir("/plus");
    for (const n of ["a", "b", "c"]) await client.createFile(`/plus/${n}`);
    const dir = await lookupVisible(fs, ctx, 1, "plus");
    expect(await listAll(dir.nodeid, true, 4096)).toEqual([".", "..", "a", "b", "c"]);
    const a = nokv.state.nodes.get(nokv.state.nodes.childOf(dir.nodeid, "a")!)!;
    expect(a.lookups).toBe(1);
    fs.forget(a.nodeid, 1);
    expect(nokv.state.nodes.get(a.nodeid)).toBeUndefined();
  });

  test("a listing fetches no attribute names until one of its files is asked; then the whole page's at once", async () => {
    await client.mkdir("/xp");
    for (const n of ["a", "b", "c"]) await client.createFile(`/xp/${n}`);
    await client.inode.setxattr((await client.stat("/xp/b")).ino, "user.k", new TextEncoder().encode("v"));
    const dir = await lookupVisible(fs, ctx, 1, "xp");
    expect(await listAll(dir.nodeid, true, 4096)).toEqual([".", "..", "a", "b", "c"]);
    const id = (name: string) => nokv.state.nodes.childOf(dir.nodeid, name)!;
    expect(nokv.state.local.xattrNames(id("a"))).toBeUndefined();
    await expect(fs.getxattr(ctx, id("a"), "security.capability")).rejects.toMatchObject({ code: "ENODATA" });
    expect(nokv.state.local.xattrNames(id("b"))).toEqual(["user.k"]);
    expect(nokv.state.local.xattrNames(id("c"))).toEqual([]);
    expect(new TextDecoder().decode(await fs.getxattr(ctx, id("b"), "user.k"))).toBe("v");
  });

  test("a lookup of a missing name is a negative entry the kernel may cache, once its directory is watched", async () => {
    const entry = await fs.lookup(ctx, 1, "nope");
    expect(entry.nodeid).toBe(0);
    expect(entry.entryValidMs).toBe(LIMITS.fuseLiveCacheTimeoutMs);
    await client.mkdir("/fresh");
    const dir = await fs.lookup(ctx, 1, "fresh");
    // Nothing under a directory is cached until its subscription is live: a change could slip by.
    expect((await fs.lookup(ctx, dir.nodeid, "nope")).entryValidMs).toBe(0);
    while (nokv.invalidator!.timeoutFor(dir.nodeid) === 0) await Bun.sleep(1);
    expect((await fs.lookup(ctx, dir.nodeid, "nope")).entryValidMs).toBe(LIMITS.fuseLiveCacheTimeoutMs);
  });

  test("a name this mount removed is absent without asking metad, until another client makes it again", async () => {
    const { entry, open } = await fs.create(ctx, 1, "journal", 0o644, O_WRONLY | O_CREAT_EXCL, false);
    await fs.release(ctx, entry.nodeid, open.fh);
    await fs.unlink(ctx, 1, "journal");
    const negative = nokv.state.local.counts.negativeLookups;
    expect((await fs.lookup(ctx, 1, "journal")).nodeid).toBe(0);
    expect(nokv.state.local.counts.negativeLookups).toBe(negative + 1);
    await client.writeFile("/journal", "theirs");
    expect((await lookupVisible(fs, ctx, 1, "journal")).attr.sizeBytes).toBe(6);
  });

  test("GETATTR of a file read from metad answers locally until our change or an event from elsewhere", async () => {
    const eventsBefore = nokv.invalidator!.counts.events;
    await client.writeFile("/attrs.txt", "abc");
    const entry = await lookupVisible(fs, ctx, 1, "attrs.txt");
    while (nokv.invalidator!.timeoutFor(1) === 0) await Bun.sleep(1);
    // The writeFile's event arrives first: a late one would end the local answers below (a
    // publish of another generation than the mount holds drops its attributes).
    await until(async () => nokv.invalidator!.counts.events > eventsBefore);
    const before = nokv.state.local.counts.fileGetattrs;
    expect((await fs.getattr(ctx, entry.nodeid, undefined)).attr.sizeBytes).toBe(3);
    expect(nokv.state.local.counts.fileGetattrs).toBe(before + 1);
    // Our write asks metad next: its attributes come with the publish, not the write.
    const { fh } = await fs.open(ctx, entry.nodeid, O_RDWR, false);
    await writeText(entry.nodeid, fh, 3, "d");
    await fs.release(ctx, entry.nodeid, fh);
    const counted = nokv.state.local.counts.fileGetattrs;
    expect((await fs.getattr(ctx, entry.nodeid, undefined)).attr.sizeBytes).toBe(4);
    expect(nokv.state.local.counts.fileGetattrs).toBe(counted);
    // Our chmod's reply is metad's state after it: the next GETATTR is answered from it.
    await fs.setattr(ctx, entry.nodeid, { mode: 0o600 });
    const afterChmod = await client.stat("/attrs.txt");
    const attr = (await fs.getattr(ctx, entry.nodeid, undefined)).attr;
    expect(nokv.state.local.counts.fileGetattrs).toBe(counted + 1);
    expect(attr.mode & 0o7777).toBe(0o600);
    expect(attr.ctimeNs).toBe(afterChmod.ctimeNs);
    // Another client's change arrives as an event, which ends the local answer.
    await client.writeFile("/attrs.txt", "longer now");
    await until(async () => (await fs.getattr(ctx, entry.nodeid, undefined)).attr.sizeBytes === 10);
  });

  test("writes publish on flush; a file opened for write without O_TRUNC starts from its bytes", async () => {
    const { entry, open } = await fs.create(ctx, 1, "w.txt", 0o644, O_WRONLY | O_CREAT_EXCL, false);
    await writeText(entry.nodeid, open.fh, 0, "hello world");
    expect((await fs.getattr(ctx, entry.nodeid, undefined)).attr.sizeBytes).toBe(11);
    expect((await client.stat("/w.txt")).size).toBe(0);
    await fs.flush(ctx, entry.nodeid, open.fh);
    await fs.release(ctx, entry.nodeid, open.fh);
    expect(await client.readFile("/w.txt", "utf8")).toBe("hello world");

    const again = await fs.open(ctx, entry.nodeid, O_RDWR, false);
    await writeText(entry.nodeid, again.fh, 6, "there");
    await fs.release(ctx, entry.nodeid, again.fh);
    expect(await client.readFile("/w.txt", "utf8")).toBe("hello there");

    const trunc = await fs.open(ctx, entry.nodeid, O_WRONLY | O_TRUNC, false);
    // O_TRUNC empties the file for this mount at once; everyone else reads the old bytes until the publish.
    expect((await fs.getattr(ctx, entry.nodeid, undefined)).attr.sizeBytes).toBe(0);
    expect(await client.readFile("/w.txt", "utf8")).toBe("hello there");
    await writeText(entry.nodeid, trunc.fh, 0, "new");
    await fs.release(ctx, entry.nodeid, trunc.fh);
    expect(await readAll(entry.nodeid)).toBe("new");
  });

  test("a small file this mount wrote is read back from its own bytes after the last close, until it changes", async () => {
    const { published } = nokv.state;
    const { entry, open } = await fs.create(ctx, 1, "kept.txt", 0o644, O_WRONLY | O_CREAT_EXCL, false);
    await writeText(entry.nodeid, open.fh, 0, "mine");
    await fs.flush(ctx, entry.nodeid, open.fh);
    await fs.release(ctx, entry.nodeid, open.fh);
    await until(async () => published.bytes > 0);
    const served = published.counts.served;
    expect(await readAll(entry.nodeid)).toBe("mine");
    expect(published.counts.served).toBe(served + 1);

    // Kept again, then changed elsewhere: the event moves the node on and the kept bytes go.
    const again = await fs.open(ctx, entry.nodeid, O_WRONLY | O_TRUNC, false);
    await writeText(entry.nodeid, again.fh, 0, "mine again");
    await fs.release(ctx, entry.nodeid, again.fh);
    await until(async () => published.bytes > 0);
    await client.writeFile("/kept.txt", "theirs");
    await until(async () => published.bytes === 0);
    expect(await readAll(entry.nodeid)).toBe("theirs");
    expect(published.counts.served).toBe(served + 1);
  });

  test("a reader open across a write through another handle reads the new bytes, not what it fetched ahead", async () => {
    await client.writeFile("/shared.txt", "first version");
    const entry = await lookupVisible(fs, ctx, 1, "shared.txt");
    const reader = await fs.open(ctx, entry.nodeid, 0, false);
    expect(new TextDecoder().decode(ownBytes(await fs.read(ctx, entry.nodeid, reader.fh, 0, 5)))).toBe("first");
    const writer = await fs.open(ctx, entry.nodeid, O_WRONLY | O_TRUNC, false);
    await writeText(entry.nodeid, writer.fh, 0, "second!");
    await fs.release(ctx, entry.nodeid, writer.fh);
    expect(new TextDecoder().decode(ownBytes(await fs.read(ctx, entry.nodeid, reader.fh, 0, 100)))).toBe("second!");
    await fs.release(ctx, entry.nodeid, reader.fh);
  });

  test("CREATE without O_EXCL of a name that exists opens it; with O_EXCL it is EEXIST", async () => {
    await client.writeFile("/exists.txt", "keep");
    const { entry, open } = await fs.create(ctx, 1, "exists.txt", 0o644, O_RDWR, false);
    await fs.release(ctx, entry.nodeid, open.fh);
    expect(await client.readFile("/exists.txt", "utf8")).toBe("keep");
    expect(fs.create(ctx, 1, "exists.txt", 0o644, O_RDWR | O_CREAT_EXCL, false)).rejects.toMatchObject({ code: "EEXIST" });
  });

  test("bytes written to a file unlinked while open are dropped, never published under its old name", async () => {
    const { entry, open } = await fs.create(ctx, 1, "gone.txt", 0o644, O_WRONLY | O_CREAT_EXCL, false);
    await writeText(entry.nodeid, open.fh, 0, "lost");
    await fs.unlink(ctx, 1, "gone.txt");
    await fs.flush(ctx, entry.nodeid, open.fh);
    await fs.release(ctx, entry.nodeid, open.fh);
    expect(await client.exists("/gone.txt")).toBe(false);
  });

  test("a rename while a file is open publishes under the new name", async () => {
    const { entry, open } = await fs.create(ctx, 1, "before.txt", 0o644, O_WRONLY | O_CREAT_EXCL, false);
    await writeText(entry.nodeid, open.fh, 0, "moved");
    await fs.rename(ctx, { parent: 1, name: "before.txt", newParent: 1, newName: "after.txt", flags: 0 });
    await fs.release(ctx, entry.nodeid, open.fh);
    expect(await client.readFile("/after.txt", "utf8")).toBe("moved");
    expect(await client.exists("/before.txt")).toBe(false);
  });

  test("truncate of an open file applies to its unpublished body", async () => {
    const { entry, open } = await fs.create(ctx, 1, "t.txt", 0o644, O_RDWR | O_CREAT_EXCL, false);
    await writeText(entry.nodeid, open.fh, 0, "0123456789");
    const after = await fs.setattr(ctx, entry.nodeid, { sizeBytes: 4 });
    expect(after.attr.sizeBytes).toBe(4);
    await fs.release(ctx, entry.nodeid, open.fh);
    expect(await client.readFile("/t.txt", "utf8")).toBe("0123");
  });

  test("a setuid file loses setuid/setgid when the kernel says a write must drop them", async () => {
    const { entry, open } = await fs.create(ctx, 1, "suid", 0o755, O_WRONLY | O_CREAT_EXCL, false);
    await fs.setattr(ctx, entry.nodeid, { mode: 0o6755 });
    await fs.write(ctx, entry.nodeid, open.fh, 0, new Uint8Array([1]), true);
    await fs.release(ctx, entry.nodeid, open.fh);
    expect((await client.stat("/suid")).mode & 0o7777).toBe(0o755);
  });

  test("rename with RENAME_EXCHANGE swaps two names, RENAME_NOREPLACE refuses to replace", async () => {
    await client.writeFile("/xa", "A");
    await client.writeFile("/xb", "B");
    const a = await lookupVisible(fs, ctx, 1, "xa");
    await fs.rename(ctx, { parent: 1, name: "xa", newParent: 1, newName: "xb", flags: RENAME_EXCHANGE });
    expect(await client.readFile("/xa", "utf8")).toBe("B");
    expect(nokv.state.nodes.childOf(1, "xb")).toBe(a.nodeid);
    expect(fs.rename(ctx, { parent: 1, name: "xa", newParent: 1, newName: "xb", flags: RENAME_NOREPLACE })).rejects.toMatchObject({ code: "EEXIST" });
  });

  test("snapshot sources are read-only and read the snapshot's bytes", async () => {
    await client.writeFile("/snap.txt", "v1");
    const view = await client.snapshot("/");
    await client.writeFile("/snap.txt", "v2");
    const snap = await createNoKVFs(new SnapshotSource(view));
    const sfs = snap.fs as Required<RawFileSystem>;
    const entry = await sfs.lookup(ctx, 1, "snap.txt");
    const { fh } = await sfs.open(ctx, entry.nodeid, 0, false);
    expect(new TextDecoder().decode(ownBytes(await sfs.read(ctx, entry.nodeid, fh, 0, 100)))).toBe("v1");
    expect(sfs.mkdir(ctx, 1, "x", 0o755)).rejects.toMatchObject({ code: "EROFS" });
    expect(sfs.open(ctx, entry.nodeid, O_WRONLY, false)).rejects.toMatchObject({ code: "EROFS" });
    expect(snap.invalidator).toBeNull();
    await snap.close();
  });

  test("a directory this mount makes is live at once: a change made there before metad holds its watch still arrives", async () => {
    // A new directory's subscription reaches metad late on purpose, after another client's changes.
    const gate = Promise.withResolvers<void>();
    class LateWatches extends LiveSource {
      override async watch(inode: number, path: string, afterVersion?: number) {
        if (afterVersion !== undefined) await gate.promise;
        return await super.watch(inode, path, afterVersion);
      }
    }
    const late = await createNoKVFs(new LateWatches(await metad.client(), false));
    const lfs = late.fs as Required<RawFileSystem>;
    try {
      lfs.init({ major: 7, minor: 38, maxWriteBytes: 1 << 20, maxReadaheadBytes: 1 << 17, flags: 0 });
      while (late.invalidator!.timeoutFor(1) === 0) await Bun.sleep(1);
      const made = await lfs.mkdir(ctx, 1, "made-here", 0o755);
      const gone = await lfs.mkdir(ctx, 1, "made-then-removed", 0o755);
      // Absent names and the directory's attributes are the mount's to answer, with no round trip.
      const negative = late.state.local.counts.negativeLookups;
      const absent = await lfs.lookup(ctx, made.nodeid, "theirs");
      expect(absent.nodeid).toBe(0);
      expect(absent.entryValidMs).toBe(LIMITS.fuseLiveCacheTimeoutMs);
      expect(late.state.local.counts.negativeLookups).toBe(negative + 1);
      const dirGetattrs = late.state.local.counts.dirGetattrs;
      expect((await lfs.getattr(ctx, made.nodeid, undefined)).attr.nlink).toBe(2);
      expect(late.state.local.counts.dirGetattrs).toBe(dirGetattrs + 1);
      // Another client's changes commit before the subscription exists: it starts after the mkdir, so they are replayed.
      await client.writeFile("/made-here/theirs", "x");
      await client.rmdir("/made-then-removed");
      gate.resolve();
      expect((await lookupVisible(lfs, ctx, made.nodeid, "theirs")).attr.sizeBytes).toBe(1);
      // A directory gone before its watch started is not live: nothing under it is answered locally.
      await until(async () => late.invalidator!.timeoutFor(gone.nodeid) !== LIMITS.fuseLiveCacheTimeoutMs);
      expect(late.state.local.knownAbsent(gone.nodeid, "anything")).toBe(false);
    } finally {
      gate.resolve();
      await late.close();
    }
  });
});
