import type { Database } from "bun:sqlite";
import { FsError } from "../../types/index.ts";
import { DDL_V1, MIGRATIONS, SCHEMA_VERSION } from "../ddl.ts";
import { rekeyDedupeRecords } from "./dedupe-key.ts";

const SYS_SCHEMA = "schema_version";

/**
 * Brings a store to SCHEMA_VERSION in one transaction. A new store is made at version 1 and
 * migrated like any other; an existing one is never given version 1's tables again (later
 * versions dropped some, the path index). A store newer than this build is refused, not misread.
 */
export function migrateSchema(db: Database): void {
  db.transaction(() => {
    const exists = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'system'").get() !== null;
    if (!exists) db.run(DDL_V1);
    const row = db.query("SELECT int_value FROM system WHERE name = ?").get(SYS_SCHEMA) as { int_value: number } | null;
    let current = row?.int_value ?? 1;
    if (current > SCHEMA_VERSION) {
      throw new FsError("EINVAL", `metadata schema version ${current} is newer than this build (${SCHEMA_VERSION})`);
    }
    for (; current < SCHEMA_VERSION; current++) {
      // Parts no SQL statement can say: SQLite has no ADD COLUMN IF NOT EXISTS (6, 7), and version
      // 5's dedupe keys are computed in code.
      if (current + 1 === 6) addColumnIfMissing(db, "shard", "dedupe_floor", "INTEGER NOT NULL DEFAULT 0");
      if (current + 1 === 7) addColumnIfMissing(db, "inode_current", "hole_bytes", "INTEGER NOT NULL DEFAULT 0");
      db.run(MIGRATIONS[current - 1]!);
      if (current + 1 === 5) rekeyDedupeRecords(db);
    }
    db.run("INSERT OR REPLACE INTO system (name, int_value) VALUES (?, ?)", [SYS_SCHEMA, SCHEMA_VERSION]);
  })();
}

function addColumnIfMissing(db: Database, table: string, column: string, type: string): void {
  const columns = db.query(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === column)) db.run(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}
