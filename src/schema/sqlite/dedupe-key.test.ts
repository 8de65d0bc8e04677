import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestKeyOf, storedDedupeKey } from "./dedupe-key.ts";
import { SqliteStore } from "./sqlite-store.ts";

test("a stored dedupe key orders by the sequence first and gives the request key back", () => {
  const keys = ["abcdef0123456789:7", "0123456789abcdef:7", "abcdef0123456789:10", "abcdef0123456789:9#3", "c:12..256", "no-sequence", "x:", "a:b:42", "", ":5", "k:0099"];
  for (const key of keys) expect(requestKeyOf(storedDedupeKey(key))).toBe(key);
  expect(new Set(keys.map(storedDedupeKey)).size).toBe(keys.length);
  // Two clients' records of one sequence sit together; a client's next record sorts after both.
  const sorted = ["zz:7", "aa:8", "aa:7", "zz:10"].map(storedDedupeKey).sort().map(requestKeyOf);
  expect(sorted).toEqual(["aa:7", "zz:7", "aa:8", "zz:10"]);
});

test("migrating a version 4 store rekeys its dedupe records: retries still replay", () => {
  const dir = mkdtempSync(join(tmpdir(), "nokv-dedupe-v5-"));
  try {
    const path = join(dir, "meta.db");
    new SqliteStore({ path }).close();
    const db = new Database(path);
    // The version 4 table, keyed by the request key as it is.
    db.run("DROP INDEX IF EXISTS command_dedupe_by_age");
    db.run("ALTER TABLE shard DROP COLUMN dedupe_floor");
    db.run("DROP TABLE command_dedupe");
    db.run("CREATE TABLE command_dedupe (request_key TEXT PRIMARY KEY, version INTEGER NOT NULL, created_ms INTEGER NOT NULL, result BLOB, shard INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID");
    db.run("CREATE INDEX command_dedupe_by_age ON command_dedupe (shard, created_ms)");
    db.run("INSERT INTO command_dedupe VALUES ('client-a:12', 5, 1000, x'0102', 1), ('plain', 6, 2000, NULL, 1)");
    db.run("UPDATE system SET int_value = 4 WHERE name = 'schema_version'");
    db.close();
    const store = new SqliteStore({ path });
    try {
      expect(store.replay("client-a:12")).toEqual({ commitVersion: 5, replayed: true, result: new Uint8Array([1, 2]) });
      expect(store.replay("plain")).toEqual({ commitVersion: 6, replayed: true, result: null });
      expect(store.replay("client-a:13")).toBeNull();
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
