import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
