import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ROOT_INODE } from "../types/index.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

let h: ServiceHarness;
let m: number;
beforeEach(() => {
  h = openTestService();
  m = h.mount;
});
afterEach(() => h.cleanup());

const p = () => h.service.paths;
const names = (path: string, at?: number, root?: number) =>
  p().readdir({ mount: m, path, ...(at === undefined ? {} : { at }), ...(root === undefined ? {} : { root }) }).entries.map((e) => e.name);

describe("snapshots", () => {
  test("a snapshot sees the tree as it was: later deletes still appear, later creates do not", () => {
    p().mkdir({ mount: m, path: "/w/src", recursive: true });
    p().createFile({ mount: m, path: "/w/src/a.ts" });
    p().createFile({ mount: m, path: "/w/src/b.ts" });
    p().setattr({ mount: m, path: "/w/src/a.ts", changes: { mode: 0o600 } });
    const snap = h.service.snapshots.create({ mount: m });
    p().remove({ mount: m, path: "/w/src/b.ts" });
    p().createFile({ mount: m, path: "/w/src/c.ts" });
    p().setattr({ mount: m, path: "/w/src/a.ts", changes: { mode: 0o644 } });
    p().rename({ mount: m, path: "/w/src", newPath: "/w/lib" });
    const at = snap.readVersion;
    expect(names("/w/src", at)).toEqual(["a.ts", "b.ts"]);
    expect(names("/w/lib")).toEqual(["a.ts", "c.ts"]);
    expect(errnoOf(() => names("/w/lib", at))).toBe("ENOENT");
    expect(p().stat({ mount: m, path: "/w/src/a.ts", at }).mode).toBe(0o600);
    expect(p().stat({ mount: m, path: "/w/lib/a.ts" }).mode).toBe(0o644);
    const plus = p().readdirPlus({ mount: m, path: "/w/src", at });
    expect(plus.entries.map((e) => [e.name, e.attrs.mode])).toEqual([["a.ts", 0o600], ["b.ts", 0o644]]);
  });

  test("a subtree snapshot keeps the live absolute paths, shows only its subtree and refuses writes", () => {
    const dir = p().mkdir({ mount: m, path: "/proj/data", recursive: true })!;
    p().createFile({ mount: m, path: "/proj/data/x" });
    p().createFile({ mount: m, path: "/proj/outside" });
    const snap = h.service.snapshots.create({ mount: m, inode: dir.inode });
    p().remove({ mount: m, path: "/proj/data/x" });
    p().rename({ mount: m, path: "/proj", newPath: "/moved" });
    const view = { mount: m, at: snap.readVersion, root: snap.rootInode };
    // The paths as they were when the snapshot was taken.
    expect(p().readdir({ ...view, path: "/proj/data" }).entries.map((e) => e.name)).toEqual(["x"]);
    expect(p().stat({ ...view, path: "/proj/data/x" }).type).toBe("file");
    expect(p().stat({ ...view, path: "/proj/data/../.." }).inode).toBe(dir.inode);
    for (const outside of ["/", "/proj", "/proj/outside", "/x"]) expect(errnoOf(() => p().stat({ ...view, path: outside }))).toBe("ENOENT");
    expect(errnoOf(() => p().createFile({ ...view, path: "/y" }))).toBe("EROFS");
    expect(errnoOf(() => p().mkdir({ ...view, path: "/y" }))).toBe("EROFS");
    expect(errnoOf(() => p().remove({ ...view, path: "/x" }))).toBe("EROFS");
    expect(errnoOf(() => p().rename({ ...view, path: "/x", newPath: "/z" }))).toBe("EROFS");
  });

  test("history is written only while a pin exists, and retiring makes it collectable", () => {
    p().createFile({ mount: m, path: "/f" });
    p().setattr({ mount: m, path: "/f", changes: { mode: 0o600 } });
    expect(h.service.store.counters.historyWrites).toBe(0);
    const snap = h.service.snapshots.create({ mount: m });
    p().setattr({ mount: m, path: "/f", changes: { mode: 0o644 } });
    expect(h.service.store.counters.historyWrites).toBeGreaterThan(0);
    expect(h.service.gc.collectMetadata().historyRowsDeleted).toBe(0);
    expect(p().stat({ mount: m, path: "/f", at: snap.readVersion }).mode).toBe(0o600);
    h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId });
    expect(h.service.gc.collectMetadata().historyRowsDeleted).toBeGreaterThan(0);
    expect(errnoOf(() => h.service.snapshots.get(m, snap.snapshotId))).toBe("ENOENT");
    expect(errnoOf(() => h.service.snapshots.retire({ mount: m, snapshotId: snap.snapshotId }))).toBe("ENOENT");
  });

  test("pins survive a reopen", () => {
    p().createFile({ mount: m, path: "/f" });
    const snap = h.service.snapshots.create({ mount: m });
    p().remove({ mount: m, path: "/f" });
    const service = h.reopen();
    expect(service.snapshots.list(m)).toEqual([snap]);
    expect(service.paths.readdir({ mount: m, path: "/", at: snap.readVersion }).entries.map((e) => e.name)).toEqual(["f"]);
    expect(service.paths.readdir({ mount: m, path: "/" }).entries).toEqual([]);
  });

  test("snapshot of a file or a missing inode is refused", () => {
    const f = p().createFile({ mount: m, path: "/f" });
    expect(errnoOf(() => h.service.snapshots.create({ mount: m, inode: f.inode }))).toBe("ENOTDIR");
    expect(errnoOf(() => h.service.snapshots.create({ mount: m, inode: 987_654 }))).toBe("ENOENT");
    expect(h.service.snapshots.list(m)).toEqual([]);
    expect(ROOT_INODE).toBe(1);
  });
});
