import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MetadataCommand } from "../command.ts";
import { runStoreSuite } from "../store-conformance.ts";
import { SqliteStore } from "./sqlite-store.ts";

runStoreSuite("sqlite (file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-store-"));
  const path = join(dir, "meta.db");
  let store = new SqliteStore({ path });
  return {
    store,
    reopen: () => {
      store.close();
      store = new SqliteStore({ path });
      return store;
    },
    cleanup: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runStoreSuite("sqlite (memory)", () => {
  const store = new SqliteStore({ path: ":memory:" });
  return { store, reopen: null, cleanup: () => store.close() };
});


test("a command that cannot fail halfway takes no savepoint; if it fails anyway, its whole group rolls back", () => {
  const store = new SqliteStore({ path: ":memory:" });
  try {
    const M = 1;
    const inode = (n: number) => ({
      inode: n, type: "file" as const, mode: 0o644, uid: 0, gid: 0, sizeBytes: 0, generation: 0, nlink: 1, parent: 1,
      atimeNs: 1n, mtimeNs: 1n, ctimeNs: 1n, target: "", rdev: 0, holeBytes: 0,
    });
    const cmd = (mutations: MetadataCommand["mutations"], nextId?: number): MetadataCommand => {
      const state = store.shardState(M);
      return { shard: M, version: state.version + 1, kind: "create_file", timestampMs: 1, nextId: nextId ?? state.nextId, predicates: [], mutations, watchEvents: [], keepHistory: false };
    };
    // A corrupt store: inode 50 exists though the allocator never handed it out.
    store.commit(cmd([{ family: "inode", op: "put", key: { mount: M, inode: 50 }, value: inode(50) }]));
    const before = store.shardState(M).version;
    expect(() =>
      store.group(() => {
        store.commit(cmd([{ family: "inode", op: "put", key: { mount: M, inode: 60 }, value: inode(60) }]));
        // A fresh id by the allocator's word, so no savepoint: its failure takes the group with it.
        const fresh = cmd([{ family: "inode", op: "put", key: { mount: M, inode: 61 }, value: inode(61) }, { family: "inode", op: "insert", key: { mount: M, inode: 50 }, value: inode(50) }], 51);
        expect(() => store.commit(fresh)).toThrow();
        store.commit(cmd([{ family: "inode", op: "put", key: { mount: M, inode: 62 }, value: inode(62) }]));
      }),
    ).toThrow();
    expect(store.shardState(M).version).toBe(before);
    for (const n of [60, 61, 62]) expect(store.getInode({ mount: M, inode: n })).toBeNull();
    store.commit(cmd([{ family: "inode", op: "put", key: { mount: M, inode: 63 }, value: inode(63) }]));
    expect(store.getInode({ mount: M, inode: 63 })).not.toBeNull();
  } finally {
    store.close();
  }
});

test("durability: WAL with synchronous NORMAL by default, FULL on request", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-durability-"));
  try {
    const normal = new SqliteStore({ path: join(dir, "a.db") });
    expect(normal.settings()).toEqual({ journalMode: "wal", synchronous: "normal" });
    normal.close();
    const full = new SqliteStore({ path: join(dir, "b.db"), durability: "full" });
    expect(full.settings()).toEqual({ journalMode: "wal", synchronous: "full" });
    full.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a store from a newer schema version is refused, not misread", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-schema-"));
  try {
    const path = join(dir, "meta.db");
    new SqliteStore({ path }).close();
    const raw = new Database(path);
    raw.run("UPDATE system SET int_value = 99 WHERE name = 'schema_version'");
    raw.close();
    expect(() => new SqliteStore({ path })).toThrow("schema version 99 is newer");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a checkpoint is a consistent copy with each shard's position, and opens as a store", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-ckpt-"));
  try {
    const store = new SqliteStore({ path: join(dir, "meta.db") });
    const state = store.shardState(3);
    store.commit({
      shard: 3, version: state.version + 1, kind: "create_file", timestampMs: 1, nextId: state.nextId, predicates: [], watchEvents: [], keepHistory: false,
      mutations: [{ family: "system", op: "put", key: { name: "x" }, value: { int: 7 } }],
    });
    const positions = store.checkpointTo(join(dir, "ckpt.db"));
    expect(positions).toEqual({ 3: 1 });
    store.close();
    const copy = new SqliteStore({ path: join(dir, "ckpt.db") });
    expect(copy.shardState(3).version).toBe(1);
    expect(copy.getSystem("x")?.int).toBe(7);
    expect(copy.readLog(3, 1, 10).length).toBe(1);
    copy.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("many absent-name predicates on one directory fail at the first name that exists, as one by one", () => {
  const store = new SqliteStore({ path: ":memory:" });
  const dentry = (name: string) => ({ mount: 1, parent: 1, name });
  const put = (names: string[]) => {
    const st = store.shardState(1);
    store.commit({
      shard: 1, version: st.version + 1, kind: "create_files", timestampMs: 0, nextId: st.nextId, keepHistory: false, watchEvents: [],
      predicates: names.map((name) => ({ kind: "notExists" as const, target: { family: "dentry" as const, key: dentry(name) }, errno: "EEXIST" as const, detail: `'${name}' exists` })),
      mutations: names.map((name, i) => ({ family: "dentry" as const, op: "insert" as const, key: dentry(name), value: { inode: 100 + i, type: "file" as const } })),
    });
  };
  const names = Array.from({ length: 150 }, (_, i) => `f${i}`);
  put(names.filter((_, i) => i !== 97 && i !== 140));
  // 148 taken: the check reports f0, the first; past 22 absent names it reports f98 at 22.
  const absent = Array.from({ length: 20 }, (_, i) => `x${i}`);
  for (const [batch, first] of [[names, 0], [["f97", "f140", ...absent, "f98", "f99"], 22]] as const) {
    try {
      put([...batch]);
      throw new Error("committed");
    } catch (err) {
      expect((err as { index?: number }).index ?? (err as Error).message).toBe(first);
    }
  }
  // Names all absent (more than one query's worth, a short last chunk) commit.
  put(Array.from({ length: 130 }, (_, i) => `new${i}`));
  expect(store.getDentry(dentry("new129"))).not.toBeNull();
  store.close();
});

test("reopening a store does not bring back tables a migration dropped", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-reopen-"));
  const path = join(dir, "meta.db");
  new SqliteStore({ path }).close();
  new SqliteStore({ path }).close();
  const db = new Database(path);
  expect(db.query("SELECT name FROM sqlite_master WHERE name = 'path_index'").all()).toEqual([]);
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
