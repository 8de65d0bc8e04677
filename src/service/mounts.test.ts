import { afterEach, beforeEach, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE } from "../types/index.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

let h: ServiceHarness;
beforeEach(() => (h = openTestService()));
afterEach(() => h.cleanup());

test("a mount created in a group that rolls back leaves no name behind, and ids stay one namespace each", () => {
  expect(() =>
    h.service.group(() => {
      h.service.mounts.create("ghost");
      throw new Error("disk full");
    }),
  ).toThrow("disk full");
  // The name map is a projection of applied commands: rebuilt, not left holding the ghost.
  expect(errnoOf(() => h.service.mounts.resolve("ghost"))).toBe("ENOENT");
  const real = h.service.mounts.create("real");
  const other = h.service.mounts.create("other");
  expect(new Set(h.service.mounts.list().map((m) => m.id)).size).toBe(3);
  h.service.paths.createFile({ mount: real.id, path: "/only-in-real" });
  expect(errnoOf(() => h.service.paths.stat({ mount: other.id, path: "/only-in-real" }))).toBe("ENOENT");
  // Each mount is its own shard: its log starts at 1 with its root.
  expect(h.service.store.readLog(real.id, 1, 1)[0]!.kind).toBe("init_shard");
  expect(h.service.ns.getattr({ mount: real.id, inode: ROOT_INODE }).type).toBe("dir");
  h.reopen();
  expect(h.service.mounts.list().map((m) => m.name).sort()).toEqual(["default", "other", "real"]);
});

test("mount ids stop at the log's key range: the next create is ENOSPC and the last id works", () => {
  // Move the counter near the end through a command, as a long-lived store would have.
  const catalog = h.service.core.command("create_mount", 0);
  catalog.mutations.push({ family: "system", op: "put", key: { name: "next_mount_id" }, value: { int: LIMITS.mountIdMax - 1 } });
  h.service.core.commit(catalog);
  const last = h.service.mounts.create("last");
  expect(last.id).toBe(LIMITS.mountIdMax);
  h.service.paths.createFile({ mount: last.id, path: "/works" });
  expect(errnoOf(() => h.service.mounts.create("one-too-many"))).toBe("ENOSPC");
});
