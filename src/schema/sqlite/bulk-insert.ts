import type { Database, Statement } from "bun:sqlite";

// Rows of one table inserted many per statement: `INSERT ... VALUES (...), (...), ...`. Each
// statement run costs a call into SQLite and a walk of its program besides the row itself;
// 32 rows per run measured about 40% less CPU per row than one (watch_log, Bun 1.4.5), and a
// 256-name create inserts three rows per name. A statement per row count, prepared on first use.

/** Rows per statement: past 32 the gain flattens (measured 8, 16, 32, 64). */
export const BULK_ROWS_MAX = 32;

export class BulkInsert {
  private readonly byRows: Array<Statement | undefined> = [];
  private readonly pending: unknown[] = [];
  private rows = 0;

  constructor(
    private readonly db: Database,
    /** `INSERT INTO table (columns)`, without VALUES. */
    private readonly head: string,
    private readonly columns: number,
  ) {}

  /** Queues one row (`columns` values); a full batch runs at once. */
  add(values: readonly unknown[]): void {
    if (values.length !== this.columns) throw new Error(`bulk insert: ${values.length} values for ${this.columns} columns`);
    for (const v of values) this.pending.push(v);
    if (++this.rows === BULK_ROWS_MAX) this.flush();
  }

  /** Runs what is queued; a failure leaves nothing queued (the caller rolls back). */
  flush(): void {
    if (this.rows === 0) return;
    const statement = this.statement(this.rows);
    const values = this.pending.splice(0);
    this.rows = 0;
    statement.run(values as never);
  }

  /** Drops what is queued (its command failed). */
  discard(): void {
    this.pending.length = 0;
    this.rows = 0;
  }

  private statement(rows: number): Statement {
    let statement = this.byRows[rows];
    if (!statement) {
      const row = `(${Array(this.columns).fill("?").join(", ")})`;
      statement = this.byRows[rows] = this.db.prepare(`${this.head} VALUES ${Array(rows).fill(row).join(", ")}`);
    }
    return statement;
  }
}

/** The inserts a command queues: new inodes, names and staged prepares between its other mutations, and its dedupe records. */
export class CommandInserts {
  readonly inodes: BulkInsert;
  readonly dentries: BulkInsert;
  readonly dedupe: BulkInsert;
  readonly staged: BulkInsert;

  constructor(db: Database) {
    this.inodes = new BulkInsert(db, "INSERT INTO inode_current (mount, inode, version, type, mode, uid, gid, size, generation, nlink, parent, atime_ns, mtime_ns, ctime_ns, target, rdev, hole_bytes)", 17);
    this.dentries = new BulkInsert(db, "INSERT INTO dentry_current (mount, parent, name, version, child, type)", 6);
    this.dedupe = new BulkInsert(db, "INSERT INTO command_dedupe (request_key, shard, version, created_ms, result)", 5);
    this.staged = new BulkInsert(db, "INSERT OR REPLACE INTO staged (mount, prepare_id, inode, generation, key_prefix, expires_ms, created_version, fresh_inode)", 8);
  }

  /** Before any other write: queued inserts land first, as they came before it. */
  flushRows(): void {
    this.inodes.flush();
    this.dentries.flush();
    this.staged.flush();
  }

  discard(): void {
    this.inodes.discard();
    this.dentries.discard();
    this.dedupe.discard();
    this.staged.discard();
  }
}
