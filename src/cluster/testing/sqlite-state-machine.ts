// A small real-SQLite ShardStateMachine for the cluster's tests and benchmarks: it keeps every
// applied command as a row, so replicas can be compared row for row. It is a fixture for the
// replication layer, not metad's core (that plugs in through the same interface).
import { Database } from "bun:sqlite";
import { copyFileSync, rmSync } from "node:fs";
import type { AppliedEntry, ShardStateMachine } from "../state-machine.ts";

const DDL = `
CREATE TABLE IF NOT EXISTS applied (shard INTEGER NOT NULL, position INTEGER NOT NULL, command BLOB NOT NULL, PRIMARY KEY (shard, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shard_position (shard INTEGER PRIMARY KEY, applied INTEGER NOT NULL);
`;

export class SqliteStateMachine implements ShardStateMachine {
  private db: Database;
  private readonly positions = new Map<number, number>();

  constructor(readonly path: string) {
    this.db = this.open();
  }

  private open(): Database {
    const db = new Database(this.path, { create: true, strict: true });
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    db.exec(DDL);
    this.positions.clear();
    for (const row of db.query<{ shard: number; applied: number }, []>("SELECT shard, applied FROM shard_position").all()) {
      this.positions.set(row.shard, row.applied);
    }
    return db;
  }

  appliedPosition(shard: number): number {
    return this.positions.get(shard) ?? 0;
  }

  applyEntry(shard: number, entry: AppliedEntry): void {
    const applied = this.appliedPosition(shard);
    if (entry.first !== applied + 1) throw new Error(`shard ${shard}: entry ${entry.first} applied after ${applied}`);
    const insert = this.db.query("INSERT INTO applied (shard, position, command) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      entry.commands.forEach((command, i) => insert.run(shard, entry.first + i, command));
      this.db.query("INSERT INTO shard_position (shard, applied) VALUES (?, ?) ON CONFLICT (shard) DO UPDATE SET applied = excluded.applied").run(shard, entry.last);
    })();
    this.positions.set(shard, entry.last);
  }

  checkpoint(path: string): Record<number, number> {
    rmSync(path, { force: true });
    // VACUUM INTO reads one snapshot, so the copy and its positions agree.
    this.db.query("VACUUM INTO ?").run(path);
    const copy = new Database(path, { readonly: true });
    try {
      const rows = copy.query<{ shard: number; applied: number }, []>("SELECT shard, applied FROM shard_position").all();
      return Object.fromEntries(rows.map((r) => [r.shard, r.applied]));
    } finally {
      copy.close();
    }
  }

  restore(path: string): void {
    this.db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(this.path + suffix, { force: true });
    copyFileSync(path, this.path);
    this.db = this.open();
  }

  /** Every applied command of a shard, in position order, for comparing replicas. */
  rows(shard: number): { position: number; command: string }[] {
    return this.db
      .query<{ position: number; command: Uint8Array }, [number]>("SELECT position, command FROM applied WHERE shard = ? ORDER BY position")
      .all(shard)
      .map((r) => ({ position: r.position, command: new TextDecoder().decode(r.command) }));
  }

  close(): void {
    this.db.close();
  }
}
