import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ROOT_INODE, type WatchEvent } from "../types/index.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

let h: ServiceHarness;
let m: number;
beforeEach(() => {
  h = openTestService();
  m = h.mount;
});
afterEach(() => h.cleanup());

const p = () => h.service.paths;
const start = { version: 0, ordinal: 0 };

describe("watch", () => {
  test("every kind of change logs a typed event in its directory's scope", () => {
    const d = p().mkdir({ mount: m, path: "/d" })!;
    p().createFile({ mount: m, path: "/d/a" });
    p().setattr({ mount: m, path: "/d/a", changes: { mode: 0o600 } });
    p().rename({ mount: m, path: "/d/a", newPath: "/d/b" });
    p().rename({ mount: m, path: "/d/b", newPath: "/moved" });
    p().remove({ mount: m, path: "/moved" });
    const kinds = (scope: number) => h.service.watch.replay({ mount: m, scope, cursor: start }).events.map((e) => `${e.kind}:${e.name}${e.toName ? ">" + e.toName : ""}`);
    expect(kinds(d.inode)).toEqual(["create:a", "update_attr:", "rename:a>b", "rename:b>moved"]);
    expect(kinds(ROOT_INODE)).toEqual(["create:d", "rename:b>moved", "remove:moved"]);
  });

  test("replay resumes after a cursor and pages", () => {
    const d = p().mkdir({ mount: m, path: "/d" })!;
    h.service.ns.createFiles({ mount: m, parent: d.inode, names: ["a", "b", "c", "d", "e"] });
    const first = h.service.watch.replay({ mount: m, scope: d.inode, cursor: start, limit: 2 });
    expect(first.events.map((e) => e.name)).toEqual(["a", "b"]);
    expect(first.more).toBe(true);
    const rest = h.service.watch.replay({ mount: m, scope: d.inode, cursor: first.cursor, limit: 10 });
    expect(rest.events.map((e) => e.name)).toEqual(["c", "d", "e"]);
    expect(rest.more).toBe(false);
    const none = h.service.watch.replay({ mount: m, scope: d.inode, cursor: rest.cursor });
    expect(none.events).toEqual([]);
    expect(none.cursor).toEqual(rest.cursor);
    const head = h.service.watch.head(m);
    p().createFile({ mount: m, path: "/d/f" });
    expect(h.service.watch.replay({ mount: m, scope: d.inode, cursor: head }).events.map((e) => e.name)).toEqual(["f"]);
  });

  test("listeners get a group's events only when its replies are out, never for a rolled-back group", () => {
    const seen: WatchEvent[] = [];
    h.service.core.onEvents((_mount, events) => seen.push(...events));
    p().createFile({ mount: m, path: "/x" });
    expect(seen.map((e) => e.name)).toEqual(["x"]);
    h.service.group(() => {
      p().createFile({ mount: m, path: "/y" });
      expect(seen.length).toBe(1);
      p().createFile({ mount: m, path: "/z" });
    });
    expect(seen.length).toBe(1);
    h.service.core.publishEvents();
    expect(seen.map((e) => e.name)).toEqual(["x", "y", "z"]);
    expect(() => h.service.group(() => {
      p().createFile({ mount: m, path: "/w" });
      throw new Error("abort");
    })).toThrow("abort");
    h.service.core.publishEvents();
    expect(seen.length).toBe(3);
    expect(errnoOf(() => p().stat({ mount: m, path: "/w" }))).toBe("ENOENT");
  });
});
