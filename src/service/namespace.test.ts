import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ROOT_INODE, type InodeAttrs } from "../types/index.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

let h: ServiceHarness;
let m: number;
beforeEach(() => {
  h = openTestService();
  m = h.mount;
});
afterEach(() => h.cleanup());

const ns = () => h.service.ns;
const mkdir = (parent: number, name: string) => ns().mkdir({ mount: m, parent, name });
const create = (parent: number, name: string) => ns().create({ mount: m, parent, name });
const names = (inode: number) => ns().readdir({ mount: m, inode }).entries.map((e) => e.name);

describe("mounts", () => {
  test("bootstrap is idempotent and mounts are separate namespaces", () => {
    expect(h.service.mounts.list()).toEqual([{ id: m, name: "default" }]);
    h.service.mounts.bootstrap();
    const other = h.service.mounts.create("other");
    expect(h.service.mounts.list().length).toBe(2);
    expect(errnoOf(() => h.service.mounts.create("other"))).toBe("EEXIST");
    expect(errnoOf(() => h.service.mounts.resolve("missing"))).toBe("ENOENT");
    create(ROOT_INODE, "only-in-default");
    expect(ns().readdir({ mount: other.id, inode: ROOT_INODE }).entries).toEqual([]);
    h.reopen();
    expect(h.service.mounts.resolve("other")).toBe(other.id);
  });
});

describe("create, lookup, getattr", () => {
  test("a new file has sane attributes and bumps the parent's times", () => {
    const before = ns().getattr({ mount: m, inode: ROOT_INODE });
    const f = ns().create({ mount: m, parent: ROOT_INODE, name: "f", mode: 0o600, uid: 7, gid: 8 });
    expect(f).toMatchObject({ type: "file", mode: 0o600, uid: 7, gid: 8, sizeBytes: 0, nlink: 1, parent: ROOT_INODE });
    expect(ns().lookup({ mount: m, parent: ROOT_INODE, name: "f" })).toEqual(f);
    expect(ns().getattr({ mount: m, inode: f.inode })).toEqual(f);
    const after = ns().getattr({ mount: m, inode: ROOT_INODE });
    expect(after.mtimeNs).toBeGreaterThanOrEqual(before.mtimeNs);
    expect(after.version).toBeGreaterThan(before.version);
  });

  test("errors: EEXIST, ENOENT, ENOTDIR, EINVAL, ENAMETOOLONG", () => {
    const f = create(ROOT_INODE, "f");
    expect(errnoOf(() => create(ROOT_INODE, "f"))).toBe("EEXIST");
    expect(errnoOf(() => mkdir(ROOT_INODE, "f"))).toBe("EEXIST");
    expect(errnoOf(() => ns().lookup({ mount: m, parent: ROOT_INODE, name: "nope" }))).toBe("ENOENT");
    expect(errnoOf(() => create(999_999, "x"))).toBe("ENOENT");
    expect(errnoOf(() => create(f.inode, "x"))).toBe("ENOTDIR");
    expect(errnoOf(() => ns().readdir({ mount: m, inode: f.inode }))).toBe("ENOTDIR");
    for (const bad of ["", ".", "..", "a/b", "a\0b", "\ud800"]) expect(errnoOf(() => create(ROOT_INODE, bad))).toBe("EINVAL");
    expect(errnoOf(() => create(ROOT_INODE, "x".repeat(256)))).toBe("ENAMETOOLONG");
    expect(errnoOf(() => create(ROOT_INODE, "é".repeat(128)))).toBe("ENAMETOOLONG");
    expect(errnoOf(() => ns().getattr({ mount: m, inode: 424242 }))).toBe("ENOENT");
  });

  test("unicode names and names of exactly 255 bytes", () => {
    const long = "x".repeat(255);
    const wide = "é".repeat(127) + "x";
    for (const name of ["日本語.txt", "emoji-🙂", long, wide, " spaced name "]) create(ROOT_INODE, name);
    expect(names(ROOT_INODE).sort()).toEqual([" spaced name ", "emoji-🙂", long, wide, "日本語.txt"].sort());
    expect(ns().lookup({ mount: m, parent: ROOT_INODE, name: "日本語.txt" }).type).toBe("file");
  });

  test("create-many makes all names in one command or none", () => {
    const d = mkdir(ROOT_INODE, "d");
    const commits = h.service.store.counters.commits;
    const made = ns().createFiles({ mount: m, parent: d.inode, names: ["a", "b", "c"] });
    expect(made.map((a) => a.type)).toEqual(["file", "file", "file"]);
    expect(h.service.store.counters.commits).toBe(commits + 1);
    expect(errnoOf(() => ns().createFiles({ mount: m, parent: d.inode, names: ["x", "b"] }))).toBe("EEXIST");
    expect(errnoOf(() => ns().createFiles({ mount: m, parent: d.inode, names: ["y", "y"] }))).toBe("EINVAL");
    expect(errnoOf(() => ns().createFiles({ mount: m, parent: d.inode, names: [] }))).toBe("EINVAL");
    expect(names(d.inode)).toEqual(["a", "b", "c"]);
  });

  test("remove-many takes all names in one command or none; two links of one file in it cost two links", () => {
    const d = mkdir(ROOT_INODE, "r");
    ns().createFiles({ mount: m, parent: d.inode, names: ["a", "b", "c", "kept", "dir-is-not"] });
    const sub = mkdir(d.inode, "sub");
    const a = ns().lookup({ mount: m, parent: d.inode, name: "a" });
    const kept = ns().lookup({ mount: m, parent: d.inode, name: "kept" });
    ns().link({ mount: m, inode: a.inode, newParent: d.inode, newName: "a2" });
    ns().link({ mount: m, inode: kept.inode, newParent: ROOT_INODE, newName: "kept-elsewhere" });
    // Refused whole: a missing name, a directory, a name twice, nothing, past the limit.
    for (const [bad, code] of [[["b", "missing"], "ENOENT"], [["b", "sub"], "EISDIR"], [["b", "b"], "EINVAL"], [[], "EINVAL"]] as const) {
      expect(errnoOf(() => ns().removeFiles({ mount: m, parent: d.inode, names: [...bad] }))).toBe(code);
    }
    expect(errnoOf(() => ns().removeFiles({ mount: m, parent: d.inode, names: Array.from({ length: 4097 }, (_, i) => `n${i}`) }))).toBe("EINVAL");
    expect(names(d.inode)).toEqual(["a", "a2", "b", "c", "dir-is-not", "kept", "sub"]);
    const commits = h.service.store.counters.commits;
    const dirBefore = ns().getattr({ mount: m, inode: d.inode });
    ns().removeFiles({ mount: m, parent: d.inode, names: ["a", "a2", "b", "kept"], requestKey: "r:1" });
    expect(h.service.store.counters.commits).toBe(commits + 1);
    expect(names(d.inode)).toEqual(["c", "dir-is-not", "sub"]);
    // Both of a's names went: the file is gone. kept has its other name left, with one link.
    expect(errnoOf(() => ns().getattr({ mount: m, inode: a.inode }))).toBe("ENOENT");
    expect(ns().getattr({ mount: m, inode: kept.inode }).nlink).toBe(1);
    const dirAfter = ns().getattr({ mount: m, inode: d.inode });
    expect(dirAfter.nlink).toBe(dirBefore.nlink);
    expect(dirAfter.mtimeNs).toBeGreaterThanOrEqual(dirBefore.mtimeNs);
    // A retry with the same key changes nothing, though the names are gone now.
    ns().removeFiles({ mount: m, parent: d.inode, names: ["a", "a2", "b", "kept"], requestKey: "r:1" });
    expect(h.service.store.counters.commits).toBe(commits + 1);
    // One event per name, in the order named.
    const events = h.service.watch.replay({ mount: m, scope: d.inode, cursor: { version: dirBefore.version, ordinal: 0xffff_ffff } }).events;
    expect(events.map((e) => [e.kind, e.name])).toEqual([["remove", "a"], ["remove", "a2"], ["remove", "b"], ["remove", "kept"]]);
  });

  test("a repeated request key replays the first result and creates nothing more", () => {
    const first = ns().create({ mount: m, parent: ROOT_INODE, name: "once", requestKey: "c1:1" });
    const again = ns().create({ mount: m, parent: ROOT_INODE, name: "once", requestKey: "c1:1" });
    expect(again).toEqual(first);
    const many = ns().createFiles({ mount: m, parent: ROOT_INODE, names: ["p", "q"], requestKey: "c1:2" });
    expect(ns().createFiles({ mount: m, parent: ROOT_INODE, names: ["p", "q"], requestKey: "c1:2" })).toEqual(many);
    ns().unlink({ mount: m, parent: ROOT_INODE, name: "once", requestKey: "c1:3" });
    ns().unlink({ mount: m, parent: ROOT_INODE, name: "once", requestKey: "c1:3" });
    expect(names(ROOT_INODE)).toEqual(["p", "q"]);
  });
});

describe("mkdir, rmdir, unlink", () => {
  test("directory link counts follow subdirectories", () => {
    const d = mkdir(ROOT_INODE, "d");
    expect(d.nlink).toBe(2);
    mkdir(d.inode, "s1");
    mkdir(d.inode, "s2");
    create(d.inode, "f");
    expect(ns().getattr({ mount: m, inode: d.inode }).nlink).toBe(4);
    ns().rmdir({ mount: m, parent: d.inode, name: "s1" });
    expect(ns().getattr({ mount: m, inode: d.inode }).nlink).toBe(3);
  });

  test("unlink and rmdir with returnParent answer with the directory as they left it, a retry the same", () => {
    const d = mkdir(ROOT_INODE, "d");
    mkdir(d.inode, "s");
    create(d.inode, "f");
    create(d.inode, "g");
    expect(ns().unlink({ mount: m, parent: d.inode, name: "g" })).toBeUndefined();
    const afterUnlink = ns().unlink({ mount: m, parent: d.inode, name: "f", returnParent: true, requestKey: "c9:1" });
    expect(afterUnlink).toEqual(ns().getattr({ mount: m, inode: d.inode }));
    // A retry with the same request key answers what the first attempt did, removing nothing more.
    expect(ns().unlink({ mount: m, parent: d.inode, name: "f", returnParent: true, requestKey: "c9:1" })).toEqual(afterUnlink!);
    const afterRmdir = ns().rmdir({ mount: m, parent: d.inode, name: "s", returnParent: true });
    expect(afterRmdir).toEqual(ns().getattr({ mount: m, inode: d.inode }));
    expect(afterRmdir!.nlink).toBe(afterUnlink!.nlink - 1);
    expect(afterRmdir!.version).toBeGreaterThan(afterUnlink!.version);
  });

  test("rmdir refuses non-empty dirs and files; unlink refuses dirs", () => {
    const d = mkdir(ROOT_INODE, "d");
    create(d.inode, "f");
    expect(errnoOf(() => ns().rmdir({ mount: m, parent: ROOT_INODE, name: "d" }))).toBe("ENOTEMPTY");
    expect(errnoOf(() => ns().rmdir({ mount: m, parent: d.inode, name: "f" }))).toBe("ENOTDIR");
    expect(errnoOf(() => ns().unlink({ mount: m, parent: ROOT_INODE, name: "d" }))).toBe("EISDIR");
    expect(errnoOf(() => ns().unlink({ mount: m, parent: ROOT_INODE, name: "missing" }))).toBe("ENOENT");
    ns().unlink({ mount: m, parent: d.inode, name: "f" });
    ns().rmdir({ mount: m, parent: ROOT_INODE, name: "d" });
    expect(errnoOf(() => ns().getattr({ mount: m, inode: d.inode }))).toBe("ENOENT");
  });

  test("rmdir of a directory that gained a child since it was checked fails and removes nothing", () => {
    const d = mkdir(ROOT_INODE, "d");
    // The check and the command are separated by a create the way two clients would interleave.
    const service = h.service;
    service.group(() => {
      create(d.inode, "late");
      expect(errnoOf(() => ns().rmdir({ mount: m, parent: ROOT_INODE, name: "d" }))).toBe("ENOTEMPTY");
    });
    expect(names(d.inode)).toEqual(["late"]);
  });
});

describe("symlinks and hard links", () => {
  test("symlink stores its target; readlink reads it; bad targets are refused", () => {
    const l = ns().symlink({ mount: m, parent: ROOT_INODE, name: "l", target: "../x/y" });
    expect(l).toMatchObject({ type: "symlink", sizeBytes: 6, target: "../x/y" });
    expect(ns().readlink({ mount: m, inode: l.inode })).toBe("../x/y");
    const f = create(ROOT_INODE, "f");
    expect(errnoOf(() => ns().readlink({ mount: m, inode: f.inode }))).toBe("EINVAL");
    expect(errnoOf(() => ns().symlink({ mount: m, parent: ROOT_INODE, name: "e", target: "" }))).toBe("EINVAL");
    expect(errnoOf(() => ns().symlink({ mount: m, parent: ROOT_INODE, name: "e", target: "x".repeat(4097) }))).toBe("ENAMETOOLONG");
  });

  test("hard links share an inode, count links, and the last unlink removes it", () => {
    const f = create(ROOT_INODE, "f");
    const d = mkdir(ROOT_INODE, "d");
    const linked = ns().link({ mount: m, inode: f.inode, newParent: d.inode, newName: "g" });
    expect(linked.nlink).toBe(2);
    expect(ns().lookup({ mount: m, parent: d.inode, name: "g" }).inode).toBe(f.inode);
    expect(errnoOf(() => ns().link({ mount: m, inode: d.inode, newParent: ROOT_INODE, newName: "dl" }))).toBe("EPERM");
    expect(errnoOf(() => ns().link({ mount: m, inode: f.inode, newParent: d.inode, newName: "g" }))).toBe("EEXIST");
    ns().unlink({ mount: m, parent: ROOT_INODE, name: "f" });
    expect(ns().getattr({ mount: m, inode: f.inode }).nlink).toBe(1);
    ns().unlink({ mount: m, parent: d.inode, name: "g" });
    expect(errnoOf(() => ns().getattr({ mount: m, inode: f.inode }))).toBe("ENOENT");
  });
});

describe("rename", () => {
  const rename = (a: { parent: number; name: string; newParent: number; newName: string; noReplace?: boolean; exchange?: boolean }) =>
    ns().rename({ mount: m, ...a });

  test("moves within and across directories, fixing parents and link counts", () => {
    const a = mkdir(ROOT_INODE, "a");
    const b = mkdir(ROOT_INODE, "b");
    const f = create(a.inode, "f");
    rename({ parent: a.inode, name: "f", newParent: b.inode, newName: "g" });
    expect(names(a.inode)).toEqual([]);
    expect(ns().lookup({ mount: m, parent: b.inode, name: "g" }).inode).toBe(f.inode);
    const sub = mkdir(a.inode, "sub");
    rename({ parent: a.inode, name: "sub", newParent: b.inode, newName: "sub" });
    expect(ns().getattr({ mount: m, inode: a.inode }).nlink).toBe(2);
    expect(ns().getattr({ mount: m, inode: b.inode }).nlink).toBe(3);
    expect(ns().getattr({ mount: m, inode: sub.inode }).parent).toBe(b.inode);
    rename({ parent: b.inode, name: "g", newParent: b.inode, newName: "g" });
    expect(names(b.inode)).toEqual(["g", "sub"]);
  });

  test("replace drops the old target; noReplace refuses; type mismatches fail", () => {
    const f1 = create(ROOT_INODE, "f1");
    const f2 = create(ROOT_INODE, "f2");
    const d1 = mkdir(ROOT_INODE, "d1");
    const d2 = mkdir(ROOT_INODE, "d2");
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "f1", newParent: ROOT_INODE, newName: "f2", noReplace: true }))).toBe("EEXIST");
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "f1", newParent: ROOT_INODE, newName: "d1" }))).toBe("EISDIR");
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "d1", newParent: ROOT_INODE, newName: "f1" }))).toBe("ENOTDIR");
    create(d2.inode, "x");
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "d1", newParent: ROOT_INODE, newName: "d2" }))).toBe("ENOTEMPTY");
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "nope", newParent: ROOT_INODE, newName: "x" }))).toBe("ENOENT");
    rename({ parent: ROOT_INODE, name: "f1", newParent: ROOT_INODE, newName: "f2" });
    expect(ns().lookup({ mount: m, parent: ROOT_INODE, name: "f2" }).inode).toBe(f1.inode);
    expect(errnoOf(() => ns().getattr({ mount: m, inode: f2.inode }))).toBe("ENOENT");
    expect(names(ROOT_INODE)).toEqual(["d1", "d2", "f2"]);
    expect(d1.type).toBe("dir");
  });

  test("a directory cannot move into its own subtree", () => {
    const a = mkdir(ROOT_INODE, "a");
    const b = mkdir(a.inode, "b");
    const c = mkdir(b.inode, "c");
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "a", newParent: c.inode, newName: "a" }))).toBe("EINVAL");
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "a", newParent: a.inode, newName: "x" }))).toBe("EINVAL");
    expect(names(ROOT_INODE)).toEqual(["a"]);
  });

  test("exchange swaps two entries atomically", () => {
    const x = create(ROOT_INODE, "x");
    const d = mkdir(ROOT_INODE, "d");
    const y = create(d.inode, "y");
    rename({ parent: ROOT_INODE, name: "x", newParent: d.inode, newName: "y", exchange: true });
    expect(ns().lookup({ mount: m, parent: ROOT_INODE, name: "x" }).inode).toBe(y.inode);
    expect(ns().lookup({ mount: m, parent: d.inode, name: "y" }).inode).toBe(x.inode);
    expect(errnoOf(() => rename({ parent: ROOT_INODE, name: "x", newParent: d.inode, newName: "zz", exchange: true }))).toBe("ENOENT");
  });

  test("rename over a file that another writer replaced in between fails cleanly", () => {
    create(ROOT_INODE, "src");
    create(ROOT_INODE, "dst");
    h.service.group(() => {
      // Replace dst with a new file, then rename src over it: the second sees the new dst.
      ns().unlink({ mount: m, parent: ROOT_INODE, name: "dst" });
      const fresh = create(ROOT_INODE, "dst");
      rename({ parent: ROOT_INODE, name: "src", newParent: ROOT_INODE, newName: "dst" });
      expect(errnoOf(() => ns().getattr({ mount: m, inode: fresh.inode }))).toBe("ENOENT");
    });
    expect(names(ROOT_INODE)).toEqual(["dst"]);
  });
});

describe("setattr", () => {
  test("chmod, chown and utimes change only what they name and bump ctime", () => {
    const f = create(ROOT_INODE, "f");
    const t = 1_600_000_000_123_456_789n;
    const after = ns().setattr({ mount: m, inode: f.inode, changes: { mode: 0o4755, uid: 10, mtimeNs: t, atimeNs: t } });
    expect(after).toMatchObject({ mode: 0o4755, uid: 10, gid: 0, mtimeNs: t, atimeNs: t });
    expect(after.ctimeNs).toBeGreaterThanOrEqual(f.ctimeNs);
    expect(ns().getattr({ mount: m, inode: f.inode })).toEqual(after);
    expect(errnoOf(() => ns().setattr({ mount: m, inode: f.inode, changes: { mode: -1 } }))).toBe("EINVAL");
    expect(errnoOf(() => ns().setattr({ mount: m, inode: f.inode, changes: { uid: 1.5 } }))).toBe("EINVAL");
  });

  test("truncate of an empty file extends with a hole and bumps the generation", () => {
    const f = create(ROOT_INODE, "f");
    const grown: InodeAttrs = ns().setattr({ mount: m, inode: f.inode, changes: { sizeBytes: 10_000 } });
    expect(grown.sizeBytes).toBe(10_000);
    expect(grown.generation).toBeGreaterThan(f.generation);
    const plan = h.service.publisher.readPlan({ mount: m, inode: f.inode, offsetBytes: 0, lengthBytes: 20_000 });
    expect(plan).toMatchObject({ lengthBytes: 10_000, ranges: [] });
    const d = mkdir(ROOT_INODE, "d");
    expect(errnoOf(() => ns().setattr({ mount: m, inode: d.inode, changes: { sizeBytes: 1 } }))).toBe("EISDIR");
    expect(errnoOf(() => ns().setattr({ mount: m, inode: f.inode, changes: { sizeBytes: -1 } }))).toBe("EINVAL");
    expect(errnoOf(() => ns().setattr({ mount: m, inode: f.inode, changes: { sizeBytes: 2 ** 51 } }))).toBe("EFBIG");
  });
});

describe("readdir", () => {
  test("readdir-plus pages in name order and resumes after a name", () => {
    const d = mkdir(ROOT_INODE, "d");
    ns().createFiles({ mount: m, parent: d.inode, names: Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, "0")}`) });
    const p1 = ns().readdirPlus({ mount: m, inode: d.inode, limit: 10 });
    expect(p1.entries.length).toBe(10);
    expect(p1.nextAfter).toBe("n09");
    const p3 = ns().readdirPlus({ mount: m, inode: d.inode, limit: 10, after: "n19" });
    expect(p3.entries.map((e) => e.name)).toEqual(["n20", "n21", "n22", "n23", "n24"]);
    expect(p3.nextAfter).toBeNull();
    expect(p3.entries[0]!.attrs.type).toBe("file");
    expect(errnoOf(() => ns().readdir({ mount: m, inode: d.inode, limit: 0 }))).toBe("EINVAL");
  });

  test("a 100,000-entry directory pages through completely, in order", () => {
    const d = mkdir(ROOT_INODE, "big");
    const total = 100_000;
    h.service.group(() => {
      for (let i = 0; i < total; i += 4096) {
        const batch = Array.from({ length: Math.min(4096, total - i) }, (_, j) => `file-${String(i + j).padStart(6, "0")}`);
        ns().createFiles({ mount: m, parent: d.inode, names: batch });
      }
    });
    let after: string | undefined;
    let count = 0;
    let last = "";
    for (;;) {
      const page = ns().readdirPlus({ mount: m, inode: d.inode, limit: 4096, ...(after === undefined ? {} : { after }) });
      for (const e of page.entries) {
        expect(e.name > last).toBe(true);
        last = e.name;
        count++;
      }
      if (page.nextAfter === null) break;
      after = page.nextAfter;
    }
    expect(count).toBe(total);
  });
});

describe("durability across reopen", () => {
  test("everything committed is there after close and reopen, and new ids stay fresh", () => {
    const d = mkdir(ROOT_INODE, "d");
    const f = create(d.inode, "f");
    const service = h.reopen();
    expect(service.ns.lookup({ mount: m, parent: d.inode, name: "f" })).toEqual(f);
    const g = service.ns.create({ mount: m, parent: d.inode, name: "g" });
    expect(g.inode).toBeGreaterThan(f.inode);
    expect(g.version).toBeGreaterThan(f.version);
  });
});
