import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LIMITS } from "../../types/index.ts";
import type { MetadataCommand } from "../command.ts";
import { SqliteStore } from "./sqlite-store.ts";
import { storedShardPositions } from "./shard-rows.ts";

function withStore(run: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "nokv-v6-"));
  try {
    run(join(dir, "meta.db"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function next(store: SqliteStore, shard: number, extra: Partial<MetadataCommand> = {}): MetadataCommand {
  const state = store.shardState(shard);
  return {
    shard, version: state.version + 1, kind: "create_file", timestampMs: 1, nextId: state.nextId, predicates: [], watchEvents: [], keepHistory: false,
    mutations: [{ family: "system", op: "put", key: { name: `x${shard}` }, value: { int: state.version } }], ...extra,
  };
}

test("migrating a version 5 store keeps its log readable and trimmable per shard, and its old prepares expiring", () => {
  withStore((path) => {
    const store = new SqliteStore({ path });
    for (const shard of [0, 1, 3]) for (let i = 0; i < 5; i++) store.commit(next(store, shard));
    const before = [0, 1, 3].map((shard) => store.readLog(shard, 0, 100));
    store.close();

    // The version 5 shapes: the log keyed (shard, version) without rowid, staged with its expiry index.
    const db = new Database(path);
    db.run("ALTER TABLE command_log RENAME TO log_now");
    db.run("CREATE TABLE command_log (shard INTEGER NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL, command BLOB NOT NULL, PRIMARY KEY (shard, version)) WITHOUT ROWID");
    db.run("INSERT INTO command_log SELECT shard, version, kind, command FROM log_now");
    db.run("DROP TABLE log_now");
    db.run("CREATE INDEX staged_by_expiry ON staged (expires_ms)");
    db.run("ALTER TABLE shard DROP COLUMN dedupe_floor");
    db.run("CREATE INDEX command_dedupe_by_age ON command_dedupe (shard, created_ms)");
    db.run("INSERT INTO staged VALUES (1, '1.7.0f1e', 9, 7, 'blocks/1/9/7', 500, 3, 1)");
    db.run("UPDATE system SET int_value = 5 WHERE name = 'schema_version'");
    db.close();

    const migrated = new SqliteStore({ path });
    try {
      expect([0, 1, 3].map((shard) => migrated.readLog(shard, 0, 100))).toEqual(before);
      expect(migrated.readLog(1, 4, 100).map((e) => e.version)).toEqual([4, 5]);
      expect(migrated.scanStagedExpired(501, 10).map((s) => s.prepareId)).toEqual(["1.7.0f1e"]);
      expect(migrated.scanStagedExpired(500, 10)).toEqual([]);
      // Appends go on after the migrated entries; a trim of one shard leaves the others whole. The
      // log is trimmed only below the dedupe floor (GC raises it once it deleted what lies below).
      migrated.commit(next(migrated, 1));
      expect(migrated.readLog(1, 5, 100).map((e) => e.version)).toEqual([5, 6]);
      expect(migrated.trimLog(1, 4, 100)).toBe(0);
      migrated.commit(next(migrated, 1, { mutations: [{ family: "dedupe", op: "floor", key: { mount: 1, beforeVersion: 4 } }] }));
      expect(migrated.trimLog(1, 5, 100)).toBe(3);
      expect(migrated.readLog(1, 0, 100).map((e) => e.version)).toEqual([4, 5, 6, 7]);
      expect(migrated.readLog(0, 0, 100).length).toBe(5);
      expect(migrated.readLog(3, 0, 100).length).toBe(5);
    } finally {
      migrated.close();
    }
    const raw = new Database(path);
    expect(raw.query("SELECT name FROM sqlite_master WHERE name IN ('staged_by_expiry', 'command_log_v5')").all()).toEqual([]);
    raw.close();
  });
});

test("a shard past the log's key range is refused, and so is a version past it", () => {
  withStore((path) => {
    const first = new SqliteStore({ path });
    first.commit(next(first, 2));
    first.close();
    const raw = new Database(path);
    raw.run("UPDATE shard SET version = ? WHERE shard = 2", [LIMITS.shardVersionMax]);
    raw.close();
    const store = new SqliteStore({ path });
    try {
      expect(() => store.commit(next(store, LIMITS.mountIdMax + 1))).toThrow(`outside 0..${LIMITS.mountIdMax}`);
      expect(() => store.commit(next(store, 2))).toThrow("shard 2 has run out of versions");
      store.commit(next(store, LIMITS.mountIdMax));
      expect(store.readLog(LIMITS.mountIdMax, 0, 10).map((e) => e.version)).toEqual([1]);
    } finally {
      store.close();
    }
  });
});

test("a shard's row is not rewritten at every commit: its clock and allocator are read back from the log", () => {
  withStore((path) => {
    const live = new SqliteStore({ path });
    try {
      for (let i = 0; i < 6; i++) {
        const command = next(live, 1);
        command.nextId += 3; // the command allocated three ids
        live.commit(command);
      }
      const rowVersion = () => {
        const raw = new Database(path, { readonly: true });
        try {
          return { row: (raw.query("SELECT version FROM shard WHERE shard = 1").get() as { version: number }).version, positions: storedShardPositions(raw) };
        } finally {
          raw.close();
        }
      };
      // Written when the shard appeared, not since; a reader of the file still finds the position.
      expect(rowVersion()).toEqual({ row: 1, positions: [{ shard: 1, version: 6 }] });
      // A store opened on the file as it is (as after a crash: nothing flushed) has the same clocks.
      const reopened = new SqliteStore({ path });
      expect(reopened.shardState(1)).toEqual(live.shardState(1));
      expect(reopened.shardState(1)).toMatchObject({ version: 6, nextId: live.shardState(1).nextId });
      reopened.close();
      // A floor moves: the row is written then.
      live.commit(next(live, 1, { mutations: [{ family: "dedupe", op: "floor", key: { mount: 1, beforeVersion: 3 } }] }));
      expect(rowVersion().row).toBe(7);
      expect(live.trimLog(1, 5, 100)).toBe(2);
    } finally {
      live.close();
    }
    const raw = new Database(path, { readonly: true });
    expect(raw.query("SELECT version, log_floor, dedupe_floor FROM shard WHERE shard = 1").get()).toEqual({ version: 7, log_floor: 3, dedupe_floor: 3 });
    raw.close();
  });
});
