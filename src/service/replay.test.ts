import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore, type MetadataStore } from "../schema/index.ts";
import { FsError, LIMITS, ROOT_INODE, blockChecksum, blockKey, seededRandom, segmentSizeFor, type BodyManifest, type InodeId, type PreparedPublish } from "../types/index.ts";
import { MetadataService } from "./metadata-service.ts";
import type { GcObjectTarget } from "./gc.ts";
import { createEach } from "./create-each.ts";
import { fsck } from "./fsck.ts";

// The contract replicated shards rely on: the command log alone rebuilds the database. A long
// random workload over every command kind runs live (failures, retries with the same request
// key, GC, snapshots and their retirement, truncate, rename with replace and exchange, hard links,
// many mounts, group commits and a group that rolls back); then each shard's log is applied to an
// empty store and every table must hold the same rows.

const TABLES: Record<string, string> = {
  system: "name",
  shard: "shard",
  inode_current: "mount, inode",
  dentry_current: "mount, parent, name",
  chunk_manifest_current: "mount, inode, generation, chunk_index",
  history: "family, mount, k1, k2, k3, name, version",
  snapshot_pin: "mount, snapshot_id",
  gc_queue: "mount, enqueue_version, object_key",
  block_ref: "mount, object_key",
  staged: "mount, prepare_id",
  command_dedupe: "request_key",
  command_log: "shard, version",
  orphan: "mount, inode",
  xattr: "mount, inode, name",
};

function dump(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const [table, order] of Object.entries(TABLES)) out[table] = db.query(`SELECT * FROM ${table} ORDER BY ${order}`).values();
    return out;
  } finally {
    db.close();
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Objects GC deletes: a set of keys (the bytes play no part in metadata). */
class ObjectKeys implements GcObjectTarget {
  readonly keys = new Set<string>();
  async deleteObject(key: string): Promise<void> {
    this.keys.delete(key);
  }
  async listObjects(prefix: string): Promise<string[]> {
    return [...this.keys].filter((k) => k.startsWith(prefix));
  }
}

function manifestOf(prep: PreparedPublish, sizeBytes: number, objects: ObjectKeys): BodyManifest {
  const blocks = [];
  for (let b = 0, off = 0; off < sizeBytes; b++, off += prep.blockSizeBytes) {
    const key = blockKey(prep.keyPrefix, 0, b);
    objects.keys.add(key);
    const lengthBytes = Math.min(prep.blockSizeBytes, sizeBytes - off);
    blocks.push({ key, offsetInChunk: off, lengthBytes, objectOffset: 0, checksum: blockChecksum(new Uint8Array(lengthBytes), segmentSizeFor(prep.blockSizeBytes)) });
  }
  return {
    summary: { sizeBytes, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: prep.blockSizeBytes, chunkCount: blocks.length > 0 ? 1 : 0, digest: "", producer: "replay", contentType: "" },
    chunks: blocks.length > 0 ? [{ chunkIndex: 0, blocks }] : [],
  };
}

/** Replays every shard's log, catalog first, into a fresh store at `path`. */
function replayInto(source: MetadataStore, path: string): number {
  const target = new SqliteStore({ path });
  let applied = 0;
  try {
    for (const shard of source.shards()) {
      for (let from = 1; ; ) {
        const entries = source.readLog(shard.shard, from, 1_000);
        if (entries.length === 0) break;
        target.group(() => {
          for (const e of entries) {
            expect(e.version).toBe(from);
            target.applyLogged(decodeEntry(e.bytes), e.bytes);
            from++;
            applied++;
          }
        });
      }
    }
  } finally {
    target.close();
  }
  return applied;
}

import { decodeCommand as decodeEntry } from "../schema/index.ts";

test("the command log replays into an empty store with identical rows in every table", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-replay-"));
  dirs.push(dir);
  const livePath = join(dir, "live.db");
  let clockMs = 1_700_000_000_000;
  const store = new SqliteStore({ path: livePath });
  const service = new MetadataService(store, {
    nowMs: () => clockMs,
    retention: { watchRetainVersions: 400, dedupeRetainMs: 60_000, logRetainVersions: 10_000_000 },
  });
  const random = seededRandom(12);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const objects = new ObjectKeys();
  const mounts = [service.mounts.resolve("default")];
  for (let i = 0; i < 3; i++) mounts.push(service.mounts.create(`m${i}`, { requestKey: `mount-${i}` }).id);
  // Retrying a create with the same key returns the first result and commits nothing.
  expect(service.mounts.create("m0", { requestKey: "mount-0" }).id).toBe(mounts[1]!);

  const names = ["a", "b", "c", "d", "e", "f"];
  const kinds = new Map<string, number>();
  let keyed = 0;
  let failures = 0;
  const lastKeyed: Array<() => unknown> = [];
  /** Keyed calls of the step or group under way: retriable only once their transaction committed. */
  let pendingKeyed: Array<() => unknown> = [];
  const step = (mount: number) => {
    const dirs = [ROOT_INODE, ...service.store.scanDentries(mount, ROOT_INODE, { limit: 50 }).filter((d) => d.type === "dir").map((d) => d.inode)];
    const parent = pick(dirs);
    const entries = service.store.scanDentries(mount, parent, { limit: 50 });
    const name = pick(names);
    const other = pick(dirs);
    const files = entries.filter((e) => e.type === "file");
    // Every random choice is made before the op, so a retry repeats exactly the same call.
    const newName = pick(names);
    const file = files.length > 0 ? pick(files).inode : null;
    const mode = Math.floor(random() * 0o777);
    const sizeBytes = Math.floor(random() * 20_000);
    const snaps = service.snapshots.list(mount);
    const snap = snaps.length > 0 ? pick(snaps).snapshotId : null;
    const nodeType = pick(["fifo", "chardev", "blockdev", "socket"] as const);
    const rdev = Math.floor(random() * 0xffff);
    const session = pick(["s1", "s2"]);
    const xname = pick(["user.a", "user.b", "trusted.c"]);
    const xvalue = new Uint8Array(Math.floor(random() * 64)).fill(Math.floor(random() * 256));
    const target = entries.length > 0 ? pick(entries).inode : parent;
    // A remove names an attribute the target holds when it holds any, so removes succeed often enough to count.
    const heldXattr = service.store.listXattrs(mount, target)[0]?.name ?? xname;
    const held = service.store.scanOrphansOfSession(mount, session, 1)[0];
    const snapInfo = snap === null ? null : service.snapshots.get(mount, snap);
    const topDirs = service.store.scanDentries(mount, ROOT_INODE, { limit: 50 }).filter((d) => d.type === "dir").map((d) => "/" + d.name);
    const topDir = topDirs.length > 0 ? pick(topDirs) : "/";
    const requestKey = random() < 0.3 ? `k${keyed++}` : undefined;
    const key = requestKey === undefined ? {} : { requestKey };
    const ops: Array<[string, () => unknown]> = [
      ["create", () => service.ns.create({ mount, parent, name, ...key })],
      ["mkdir", () => service.ns.mkdir({ mount, parent, name, ...key })],
      ["symlink", () => service.ns.symlink({ mount, parent, name, target: "../x", ...key })],
      ["create_each", () => {
        const results = createEach(service.core, mount, [
          { mount, parent, name: name + "x", ...key },
          // Every entry keyed alike, so a retry of the whole run applies nothing again.
          { mount, parent: other, name: newName + "y", ...(requestKey === undefined ? {} : { requestKey: `${requestKey}/2` }) },
          { mount, parent: 999_999, name: "nowhere", ...(requestKey === undefined ? {} : { requestKey: `${requestKey}/3` }) },
        ]);
        if (results.every((r) => r instanceof FsError)) throw results[0];
        return results;
      }],
      ["create_each_prepared", () => {
        // create_prepared merged: new files and their first prepares in one command, beside a
        // plain create; a keyed one replays its file and stages a new prepare, so it is not retried.
        const results = createEach(service.core, mount, [
          { mount, parent, name, prepare: mode & 1 ? { expiryMs: 1_000 } : {}, ...key },
          { mount, parent: other, name: newName },
        ]);
        if (results.every((r) => r instanceof FsError)) throw results[0];
        return results;
      }],
      ["mknod", () => service.ns.mknod({ mount, parent, name, type: nodeType, ...(nodeType === "chardev" || nodeType === "blockdev" ? { rdev } : {}), ...key })],
      ["create_files", () => service.ns.createFiles({ mount, parent, names: [name + "1", name + "2", name + "3"], ...key })],
      ["unlink", () => service.ns.unlink({ mount, parent, name, ...key })],
      // Names create_files makes, or a name and one of those: the second form fails more often.
      ["remove_files", () => service.ns.removeFiles({ mount, parent, names: mode & 2 ? [name + "1", name + "2", name + "3"] : [name, name + "1"], ...key })],
      ["unlink_open", () => service.ns.unlink({ mount, parent, name, keepOpen: session, ...key })],
      ["rename_over_open", () => service.ns.rename({ mount, parent, name, newParent: other, newName, keepOpen: session, ...key })],
      // Releases and renewals that find nothing commit nothing, so a keyed retry of one could: not retried.
      ["orphan_release", () => file !== null && service.orphans.release({ mount, inode: file, session })],
      ["orphan_release_any", () => held !== undefined && service.orphans.release({ mount, inode: held.inode, session })],
      ["relink_orphan", () => held !== undefined && service.ns.link({ mount, inode: held.inode, newParent: other, newName: newName + "R", ...key })],
      ["session_renew", () => service.orphans.renew({ mount, session, ...key })],
      ["session_close", () => service.orphans.closeSession({ mount, session })],
      ["setxattr", () => service.xattrs.set({ mount, inode: target, name: xname, value: xvalue, ...key })],
      ["removexattr", () => service.xattrs.remove({ mount, inode: target, name: heldXattr, ...key })],
      ["rmdir", () => service.ns.rmdir({ mount, parent, name, ...key })],
      ["rename", () => service.ns.rename({ mount, parent, name, newParent: other, newName, ...key })],
      ["rename_noreplace", () => service.ns.rename({ mount, parent, name, newParent: other, newName, noReplace: true, ...key })],
      ["rename_exchange", () => service.ns.rename({ mount, parent, name, newParent: other, newName, exchange: true, ...key })],
      ["link", () => file !== null && service.ns.link({ mount, inode: file, newParent: other, newName: newName + "L", ...key })],
      ["chmod", () => file !== null && service.ns.setattr({ mount, inode: file, changes: { mode }, ...key })],
      ["truncate", () => file !== null && service.ns.setattr({ mount, inode: file, changes: { sizeBytes }, ...key })],
      ["publish", () => {
        const prep = service.publisher.prepare({ mount, parent, name, blockSizeBytes: 4096 });
        // Sometimes the file a prepare would replace goes away before the publish.
        if (random() < 0.2) service.ns.unlink({ mount, parent, name });
        return service.publisher.publish({ mount, prepareId: prep.prepareId, parent, name, manifest: manifestOf(prep, Math.floor(random() * 12_000), objects), replace: random() < 0.7, ...key });
      }],
      ["abandon_prepare", () => service.publisher.prepare({ mount, parent, name: name + ".tmp", blockSizeBytes: 4096, expiryMs: 1_000, ...key })],
      ["snapshot", () => service.snapshots.create({ mount, inode: parent, ...key })],
      ["retire", () => snap !== null && service.snapshots.retire({ mount, snapshotId: snap, ...key })],
      ["clone", () => service.clones.clone({ mount, source: { path: topDir }, target: `/${newName}C`, ...key })],
      ["clone_snapshot", () => snapInfo !== null && service.clones.clone({ mount, source: { path: "/" + name, at: snapInfo.readVersion, root: snapInfo.rootInode }, target: `/${newName}S`, ...key })],
      ["rollback", () => snap !== null && service.rollbacks.rollback({ mount, path: topDir, snapshotId: snap, ...key })],
    ];
    const [kind, run] = pick(ops);
    try {
      run();
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      // A publish is three calls (prepare, maybe unlink, publish): only single calls are retried.
      if (requestKey !== undefined && !["publish", "create_each_prepared", "session_close", "session_renew", "orphan_release", "orphan_release_any"].includes(kind)) pendingKeyed.push(run);
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      failures++;
    }
  };

  for (let i = 0; i < 3_000; i++) {
    const mount = pick(mounts);
    if (random() < 0.1) {
      // A group commit of several ops; now and then one that rolls back whole.
      const abort = random() < 0.2;
      try {
        service.group(() => {
          for (let j = 0; j < 5; j++) step(mount);
          if (abort) throw new Error("group aborted");
        });
      } catch (err) {
        if ((err as Error).message !== "group aborted") throw err;
        pendingKeyed = [];
      }
      service.core.publishEvents();
    } else step(mount);
    lastKeyed.push(...pendingKeyed);
    pendingKeyed = [];
    // A retry of a keyed op (a recent one: within the dedupe retention) returns its first result
    // and applies nothing.
    if (random() < 0.05 && lastKeyed.length > 0) {
      lastKeyed.splice(0, Math.max(0, lastKeyed.length - 50));
      const version = service.store.shards().map((s) => s.version).join(",");
      try {
        pick(lastKeyed)();
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
      }
      expect(service.store.shards().map((s) => s.version).join(",")).toBe(version);
    }
    clockMs += 50;
    if (i % 250 === 249) await service.gc.collect(objects);
  }
  await service.gc.collect(objects);
  // Every command kept the namespace whole: no entry names a missing inode, link counts match.
  expect((await fsck(store, store.fullScan())).violations).toEqual([]);

  for (const kind of ["create", "create_each", "create_each_prepared", "mkdir", "mknod", "remove_files", "unlink_open", "rename_over_open", "orphan_release_any", "session_renew", "setxattr", "removexattr", "unlink", "rename", "rename_exchange", "link", "truncate", "publish", "snapshot", "retire", "clone", "clone_snapshot", "rollback"]) {
    expect({ kind, ok: (kinds.get(kind) ?? 0) > 5 }).toEqual({ kind, ok: true });
  }
  expect(failures).toBeGreaterThan(100);
  // The row cache (a projection of applied commands) agrees with the tables for every row and for
  // every name it remembers as absent.
  const dbCheck = new Database(livePath, { readonly: true });
  for (const [mount, inode] of dbCheck.query("SELECT mount, inode FROM inode_current").values() as Array<[number, number]>) {
    expect(service.core.readInode(mount, inode)).toEqual(service.store.getInode({ mount, inode }));
  }
  for (const [mount, parent, name] of dbCheck.query("SELECT mount, parent, name FROM dentry_current").values() as Array<[number, number, string]>) {
    expect(service.core.readDentry({ mount, parent, name })).toEqual(service.store.getDentry({ mount, parent, name }));
  }
  dbCheck.close();
  expect(service.core.rows.hits).toBeGreaterThan(1_000);
  for (const mount of mounts) {
    for (const name of names) expect(service.core.readDentry({ mount, parent: ROOT_INODE, name })).toEqual(service.store.getDentry({ mount, parent: ROOT_INODE, name }));
  }
  const gcKinds = new Set(service.store.shards().flatMap((s) => service.store.readLog(s.shard, 1, 1_000_000).map((e) => e.kind)));
  const families = new Set(service.store.shards().flatMap((s) => service.store.readLog(s.shard, 1, 1_000_000).flatMap((e) => decodeEntry(e.bytes).mutations.map((m) => m.family))));
  for (const family of ["blockref", "clone", "body"]) expect(families.has(family as never)).toBe(true);
  const mergedPrepares = service.store.shards().flatMap((s) => service.store.readLog(s.shard, 1, 1_000_000).filter((e) => e.kind === "create_files" && decodeEntry(e.bytes).mutations.some((m) => m.family === "staged")));
  expect(mergedPrepares.length).toBeGreaterThan(5);
  for (const kind of ["clone_subtree", "rollback_subtree", "cleanup_objects", "trim_watch", "trim_dedupe", "trim_history", "init_shard", "create_mount", "create_node", "set_xattr", "remove_xattr", "renew_orphans", "collect_orphans"]) expect(gcKinds.has(kind)).toBe(true);
  service.close();

  const replayPath = join(dir, "replayed.db");
  const applied = replayInto(new SqliteStore({ path: livePath }), replayPath);
  expect(applied).toBeGreaterThan(2_000);
  const live = dump(livePath);
  const replayed = dump(replayPath);
  for (const table of ["history", "command_log", "command_dedupe", "chunk_manifest_current", "snapshot_pin", "orphan", "xattr", "block_ref"]) expect({ table, rows: live[table]!.length > 0 }).toEqual({ table, rows: true });
  for (const table of Object.keys(TABLES)) {
    expect({ table, rows: replayed[table]!.length }).toEqual({ table, rows: live[table]!.length });
    expect(replayed[table]).toEqual(live[table]!);
  }
}, 120_000);

test("inode numbers are never reused: a publish whose replaced file was unlinked gets a new number", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-reuse-"));
  dirs.push(dir);
  const service = new MetadataService(new SqliteStore({ path: join(dir, "meta.db") }));
  const mount = service.mounts.resolve("default");
  const objects = new ObjectKeys();
  const first = service.ns.create({ mount, parent: ROOT_INODE, name: "f" });
  const prep = service.publisher.prepare({ mount, parent: ROOT_INODE, name: "f", blockSizeBytes: 4096 });
  expect(prep.inode).toBe(first.inode);
  service.ns.unlink({ mount, parent: ROOT_INODE, name: "f" });
  const published = service.publisher.publish({ mount, prepareId: prep.prepareId, parent: ROOT_INODE, name: "f", manifest: manifestOf(prep, 5000, objects) });
  expect(published.inode).not.toBe(first.inode);
  const seen = new Set<InodeId>([first.inode]);
  expect(seen.has(published.inode)).toBe(false);
  // And the numbers keep rising across a restart.
  service.close();
  const again = new MetadataService(new SqliteStore({ path: join(dir, "meta.db") }));
  const later = again.ns.create({ mount, parent: ROOT_INODE, name: "g" });
  expect(later.inode).toBeGreaterThan(published.inode);
  again.close();
});
