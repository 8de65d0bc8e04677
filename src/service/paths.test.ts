import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

let h: ServiceHarness;
let m: number;
beforeEach(() => {
  h = openTestService();
  m = h.mount;
});
afterEach(() => h.cleanup());

const p = () => h.service.paths;
const stat = (path: string) => p().stat({ mount: m, path });

describe("path resolution", () => {
  test("mkdir -p, create, stat and readdir by path", () => {
    const leaf = p().mkdir({ mount: m, path: "/a/b/c", recursive: true });
    expect(leaf!.type).toBe("dir");
    expect(p().mkdir({ mount: m, path: "/a/b/c", recursive: true })).toBeNull();
    p().createFile({ mount: m, path: "/a/b/c/f.txt" });
    expect(stat("/a/b/c/f.txt").type).toBe("file");
    expect(stat("//a/./b/c/").inode).toBe(leaf!.inode);
    expect(p().readdir({ mount: m, path: "/a/b/c" }).entries.map((e) => e.name)).toEqual(["f.txt"]);
    expect(p().readdirPlus({ mount: m, path: "/a/b" }).entries[0]!.attrs.inode).toBe(leaf!.inode);
    expect(stat("/").type).toBe("dir");
  });

  test("errors: ENOENT, ENOTDIR, EEXIST, EINVAL, EBUSY", () => {
    p().createFile({ mount: m, path: "/f" });
    expect(errnoOf(() => stat("/missing/x"))).toBe("ENOENT");
    expect(errnoOf(() => stat("/f/x"))).toBe("ENOTDIR");
    expect(errnoOf(() => p().mkdir({ mount: m, path: "/f/sub", recursive: true }))).toBe("ENOTDIR");
    expect(errnoOf(() => p().mkdir({ mount: m, path: "/f" }))).toBe("EEXIST");
    expect(errnoOf(() => p().mkdir({ mount: m, path: "/x/y" }))).toBe("ENOENT");
    expect(errnoOf(() => stat("relative/path"))).toBe("EINVAL");
    expect(errnoOf(() => stat("/a\0b"))).toBe("EINVAL");
    expect(errnoOf(() => p().remove({ mount: m, path: "/" }))).toBe("EBUSY");
    expect(errnoOf(() => p().mkdir({ mount: m, path: "/" }))).toBe("EBUSY");
    expect(errnoOf(() => stat("/" + "x".repeat(256)))).toBe("ENAMETOOLONG");
    expect(errnoOf(() => stat("/" + "a/".repeat(2100)))).toBe("ENAMETOOLONG");
  });

  test("symlinks: followed in the middle, at the end only for stat, relative and absolute, ELOOP", () => {
    p().mkdir({ mount: m, path: "/real/dir", recursive: true });
    p().createFile({ mount: m, path: "/real/dir/f" });
    p().symlink({ mount: m, path: "/abs", target: "/real/dir" });
    p().symlink({ mount: m, path: "/real/rel", target: "dir/f" });
    p().symlink({ mount: m, path: "/real/dir/up", target: "../dir/f" });
    expect(stat("/abs/f").type).toBe("file");
    expect(stat("/real/rel").type).toBe("file");
    expect(p().lstat({ mount: m, path: "/real/rel" }).type).toBe("symlink");
    expect(stat("/real/dir/up").type).toBe("file");
    expect(p().readlink({ mount: m, path: "/real/rel" })).toBe("dir/f");
    expect(stat("/real/dir/../dir/f").type).toBe("file");
    expect(stat("/../../real").type).toBe("dir");
    p().symlink({ mount: m, path: "/loop1", target: "/loop2" });
    p().symlink({ mount: m, path: "/loop2", target: "/loop1" });
    expect(errnoOf(() => stat("/loop1"))).toBe("ELOOP");
    expect(p().lstat({ mount: m, path: "/loop1" }).type).toBe("symlink");
    p().symlink({ mount: m, path: "/dangling", target: "/nowhere" });
    expect(errnoOf(() => stat("/dangling"))).toBe("ENOENT");
  });

  test("remove, rename and setattr by path", () => {
    p().mkdir({ mount: m, path: "/d/e", recursive: true });
    p().createFile({ mount: m, path: "/d/f" });
    expect(errnoOf(() => p().remove({ mount: m, path: "/d" }))).toBe("ENOTEMPTY");
    expect(errnoOf(() => p().remove({ mount: m, path: "/d/f", dirOnly: true }))).toBe("ENOTDIR");
    expect(errnoOf(() => p().remove({ mount: m, path: "/d/e", fileOnly: true }))).toBe("EISDIR");
    p().rename({ mount: m, path: "/d/f", newPath: "/d/e/g" });
    expect(stat("/d/e/g").type).toBe("file");
    expect(errnoOf(() => p().rename({ mount: m, path: "/d", newPath: "/d/e/inside" }))).toBe("EINVAL");
    p().createFile({ mount: m, path: "/d/h" });
    expect(errnoOf(() => p().rename({ mount: m, path: "/d/h", newPath: "/d/e/g", noReplace: true }))).toBe("EEXIST");
    const changed = p().setattr({ mount: m, path: "/d/h", changes: { mode: 0o600 } });
    expect(changed.mode).toBe(0o600);
    p().remove({ mount: m, path: "/d/h" });
    p().remove({ mount: m, path: "/d/e/g" });
    p().remove({ mount: m, path: "/d/e" });
    p().remove({ mount: m, path: "/d" });
    expect(p().readdir({ mount: m, path: "/" }).entries).toEqual([]);
  });

  test("hard link by path", () => {
    p().createFile({ mount: m, path: "/a" });
    const linked = p().link({ mount: m, path: "/a", newPath: "/b" });
    expect(linked.nlink).toBe(2);
    expect(stat("/b").inode).toBe(stat("/a").inode);
  });

  test("a retried path write returns its first result even though the namespace moved on", () => {
    p().mkdir({ mount: m, path: "/x" });
    p().rename({ mount: m, path: "/x", newPath: "/y", requestKey: "r:1" });
    p().rename({ mount: m, path: "/x", newPath: "/y", requestKey: "r:1" });
    p().remove({ mount: m, path: "/y", requestKey: "r:2" });
    p().remove({ mount: m, path: "/y", requestKey: "r:2" });
    const made = p().mkdir({ mount: m, path: "/p/q", recursive: true, requestKey: "r:3" });
    expect(p().mkdir({ mount: m, path: "/p/q", recursive: true, requestKey: "r:3" })).toEqual(made);
  });
});

describe("path resolution", () => {
  test("walks from the root every time: renames and removals are seen at once, and survive a reopen", () => {
    p().mkdir({ mount: m, path: "/a/b/c/d", recursive: true });
    p().createFile({ mount: m, path: "/a/b/c/d/f" });
    expect(stat("/a/b/c/d/f").type).toBe("file");
    p().rename({ mount: m, path: "/a/b", newPath: "/a/z" });
    expect(errnoOf(() => stat("/a/b/c/d/f"))).toBe("ENOENT");
    expect(stat("/a/z/c/d/f").type).toBe("file");
    p().mkdir({ mount: m, path: "/a/b/c/d", recursive: true });
    expect(errnoOf(() => stat("/a/b/c/d/f"))).toBe("ENOENT");
    p().remove({ mount: m, path: "/a/b/c/d" });
    p().mkdir({ mount: m, path: "/a/b/c/d" });
    p().createFile({ mount: m, path: "/a/b/c/d/new" });
    expect(stat("/a/b/c/d/new").type).toBe("file");
    h.reopen();
    expect(h.service.paths.stat({ mount: m, path: "/a/b/c/d/new" }).type).toBe("file");
    expect(h.service.paths.stat({ mount: m, path: "/a/z/c/d/f" }).type).toBe("file");
  });
});
