import { afterEach, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE } from "../types/index.ts";
import { errnoOf, openTestService, type ServiceHarness } from "./testing.ts";

// Unlinked-while-open files: kept for the session that holds them, collected when it lets go.

let h: ServiceHarness;
let clockMs = 1_700_000_000_000;
afterEach(() => h?.cleanup());

function open(): ServiceHarness {
  h = openTestService({ nowMs: () => clockMs });
  return h;
}

test("unlink with keepOpen keeps a nameless inode (nlink 0) until its session releases it", () => {
  const { service, mount } = open();
  const file = service.ns.create({ mount, parent: ROOT_INODE, name: "f" });
  service.ns.unlink({ mount, parent: ROOT_INODE, name: "f", keepOpen: "s1" });
  expect(errnoOf(() => service.ns.lookup({ mount, parent: ROOT_INODE, name: "f" }))).toBe("ENOENT");
  const orphan = service.ns.getattr({ mount, inode: file.inode });
  expect(orphan.nlink).toBe(0);
  expect(orphan.ctimeNs).toBeGreaterThanOrEqual(file.ctimeNs);
  // Another session cannot free it.
  expect(service.orphans.release({ mount, inode: file.inode, session: "s2" })).toEqual({ released: 0 });
  expect(service.ns.getattr({ mount, inode: file.inode }).nlink).toBe(0);
  expect(service.orphans.release({ mount, inode: file.inode, session: "s1" })).toEqual({ released: 1 });
  expect(errnoOf(() => service.ns.getattr({ mount, inode: file.inode }))).toBe("ENOENT");
  expect(service.store.getOrphan(mount, file.inode)).toBeNull();
});

test("unlink without keepOpen, or of a file with another link, frees nothing into an orphan", () => {
  const { service, mount } = open();
  const a = service.ns.create({ mount, parent: ROOT_INODE, name: "a" });
  service.ns.unlink({ mount, parent: ROOT_INODE, name: "a" });
  expect(errnoOf(() => service.ns.getattr({ mount, inode: a.inode }))).toBe("ENOENT");
  const b = service.ns.create({ mount, parent: ROOT_INODE, name: "b" });
  service.ns.link({ mount, inode: b.inode, newParent: ROOT_INODE, newName: "b2" });
  service.ns.unlink({ mount, parent: ROOT_INODE, name: "b", keepOpen: "s1" });
  expect(service.store.getOrphan(mount, b.inode)).toBeNull();
  expect(service.ns.getattr({ mount, inode: b.inode }).nlink).toBe(1);
});

test("rename over an open file keeps the replaced inode for the session", () => {
  const { service, mount } = open();
  const old = service.ns.create({ mount, parent: ROOT_INODE, name: "target" });
  const fresh = service.ns.create({ mount, parent: ROOT_INODE, name: "tmp" });
  service.ns.rename({ mount, parent: ROOT_INODE, name: "tmp", newParent: ROOT_INODE, newName: "target", keepOpen: "s1" });
  expect(service.ns.lookup({ mount, parent: ROOT_INODE, name: "target" }).inode).toBe(fresh.inode);
  expect(service.ns.getattr({ mount, inode: old.inode }).nlink).toBe(0);
  expect(service.orphans.closeSession({ mount, session: "s1" })).toEqual({ released: 1 });
  expect(errnoOf(() => service.ns.getattr({ mount, inode: old.inode }))).toBe("ENOENT");
});

test("a session that stops renewing loses its orphans to GC after the lease; renewing keeps them", () => {
  const { service, mount } = open();
  const kept = service.ns.create({ mount, parent: ROOT_INODE, name: "kept" });
  const lost = service.ns.create({ mount, parent: ROOT_INODE, name: "lost" });
  service.ns.unlink({ mount, parent: ROOT_INODE, name: "kept", keepOpen: "live" });
  service.ns.unlink({ mount, parent: ROOT_INODE, name: "lost", keepOpen: "dead" });
  expect(service.orphans.renew({ mount, session: "nobody" })).toEqual({ orphans: 0, expiresAtMs: null });
  for (let elapsedMs = 0; elapsedMs <= LIMITS.orphanLeaseMs; elapsedMs += LIMITS.orphanRenewIntervalMs) {
    clockMs += LIMITS.orphanRenewIntervalMs;
    expect(service.orphans.renew({ mount, session: "live" }).orphans).toBe(1);
    service.gc.collectMetadata();
  }
  expect(service.store.getOrphan(mount, kept.inode)).not.toBeNull();
  expect(service.store.getOrphan(mount, lost.inode)).toBeNull();
  expect(errnoOf(() => service.ns.getattr({ mount, inode: lost.inode }))).toBe("ENOENT");
  // Survives a restart: the orphan table is durable.
  h.reopen();
  expect(h.service.ns.getattr({ mount, inode: kept.inode }).nlink).toBe(0);
});

test("session ids are bounded", () => {
  const { service, mount } = open();
  service.ns.create({ mount, parent: ROOT_INODE, name: "f" });
  expect(errnoOf(() => service.ns.unlink({ mount, parent: ROOT_INODE, name: "f", keepOpen: "x".repeat(LIMITS.sessionIdMaxBytes + 1) }))).toBe("EINVAL");
  expect(errnoOf(() => service.orphans.renew({ mount, session: "" }))).toBe("EINVAL");
});

test("an orphan linked again (O_TMPFILE + linkat) has a name and is no orphan any more", () => {
  const { service, mount } = open();
  const file = service.ns.create({ mount, parent: ROOT_INODE, name: ".tmp" });
  service.ns.unlink({ mount, parent: ROOT_INODE, name: ".tmp", keepOpen: "s1" });
  const linked = service.ns.link({ mount, inode: file.inode, newParent: ROOT_INODE, newName: "named" });
  expect(linked.nlink).toBe(1);
  expect(service.store.getOrphan(mount, file.inode)).toBeNull();
  expect(service.orphans.release({ mount, inode: file.inode, session: "s1" })).toEqual({ released: 0 });
  expect(service.ns.lookup({ mount, parent: ROOT_INODE, name: "named" }).inode).toBe(file.inode);
  // A nameless inode that is no orphan cannot be linked (there is none: unlink without keepOpen frees it).
  service.ns.unlink({ mount, parent: ROOT_INODE, name: "named" });
  expect(errnoOf(() => service.ns.link({ mount, inode: file.inode, newParent: ROOT_INODE, newName: "again" }))).toBe("ENOENT");
});
