import { afterEach, expect, test } from "bun:test";
import { LIMITS, ORDINAL_END, ROOT_INODE } from "../types/index.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";
import { XATTR_CREATE, XATTR_REPLACE } from "./xattrs.ts";

let h: ServiceHarness;
afterEach(() => h?.cleanup());
const bytes = (text: string) => new TextEncoder().encode(text);

test("set, get, list and remove, with create/replace flags and Linux's errnos", () => {
  h = openTestService();
  const { service, mount } = h;
  const f = service.ns.create({ mount, parent: ROOT_INODE, name: "f" });
  const x = service.xattrs;
  expect(x.list({ mount, inode: f.inode })).toEqual([]);
  expect(errnoOf(() => x.get({ mount, inode: f.inode, name: "user.a" }))).toBe("ENODATA");
  x.set({ mount, inode: f.inode, name: "user.a", value: bytes("1") });
  x.set({ mount, inode: f.inode, name: "trusted.b", value: new Uint8Array(0) });
  x.set({ mount, inode: f.inode, name: "security.c", value: bytes("3") });
  expect(new TextDecoder().decode(x.get({ mount, inode: f.inode, name: "user.a" }))).toBe("1");
  expect(x.list({ mount, inode: f.inode })).toEqual(["security.c", "trusted.b", "user.a"]);
  expect(errnoOf(() => x.set({ mount, inode: f.inode, name: "user.a", value: bytes("2"), flags: XATTR_CREATE }))).toBe("EEXIST");
  expect(errnoOf(() => x.set({ mount, inode: f.inode, name: "user.z", value: bytes("2"), flags: XATTR_REPLACE }))).toBe("ENODATA");
  x.set({ mount, inode: f.inode, name: "user.a", value: bytes("2"), flags: XATTR_REPLACE });
  expect(new TextDecoder().decode(x.get({ mount, inode: f.inode, name: "user.a" }))).toBe("2");
  x.remove({ mount, inode: f.inode, name: "user.a" });
  expect(errnoOf(() => x.remove({ mount, inode: f.inode, name: "user.a" }))).toBe("ENODATA");
  // Setting moves ctime, as on Linux.
  expect(service.ns.getattr({ mount, inode: f.inode }).ctimeNs).toBeGreaterThanOrEqual(f.ctimeNs);
});

test("named limits: name length, value size, an inode's total, and namespaces", () => {
  h = openTestService();
  const { service, mount } = h;
  const f = service.ns.create({ mount, parent: ROOT_INODE, name: "f" });
  const x = service.xattrs;
  expect(errnoOf(() => x.set({ mount, inode: f.inode, name: "user." + "n".repeat(LIMITS.xattrNameMaxBytes), value: bytes("v") }))).toBe("ERANGE");
  expect(errnoOf(() => x.set({ mount, inode: f.inode, name: "user.big", value: new Uint8Array(LIMITS.xattrValueMaxBytes + 1) }))).toBe("E2BIG");
  expect(errnoOf(() => x.set({ mount, inode: f.inode, name: "system.posix_acl_access", value: bytes("v") }))).toBe("ENOTSUP");
  expect(errnoOf(() => x.set({ mount, inode: f.inode, name: "user.", value: bytes("v") }))).toBe("ENOTSUP");
  const per = LIMITS.xattrValueMaxBytes;
  const fits = Math.floor(LIMITS.xattrInodeMaxBytes / (per + 16));
  for (let i = 0; i < fits; i++) x.set({ mount, inode: f.inode, name: `user.v${i}`, value: new Uint8Array(per) });
  expect(errnoOf(() => x.set({ mount, inode: f.inode, name: "user.more", value: new Uint8Array(per) }))).toBe("ENOSPC");
});

test("attributes go with their inode, and set/remove are watch events in the parent's scope", () => {
  h = openTestService();
  const { service, mount } = h;
  const d = service.ns.mkdir({ mount, parent: ROOT_INODE, name: "d" });
  const f = service.ns.create({ mount, parent: d.inode, name: "f" });
  const from = service.store.shardState(mount).version;
  service.xattrs.set({ mount, inode: f.inode, name: "user.a", value: bytes("1") });
  const { events } = service.store.scanWatch(mount, d.inode, { version: from, ordinal: ORDINAL_END }, 100);
  expect(events.map((e) => [e.kind, e.inode])).toEqual([["update_attr", f.inode]]);
  service.ns.unlink({ mount, parent: d.inode, name: "f" });
  expect(service.store.listXattrs(mount, f.inode)).toEqual([]);
});
