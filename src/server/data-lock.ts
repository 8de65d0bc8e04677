import { Database } from "bun:sqlite";
import { join } from "node:path";

// One metad per data directory. Two would each hand out the same versions and inode numbers from
// their own in-memory clocks and corrupt the store, and fsck must not check a store that is being
// written. The lock is an exclusive SQLite lock on a file of its own: the kernel drops it when the
// holder dies (even by SIGKILL), so a crash never leaves a stale lock behind.

export const LOCK_FILE = "metad.lock";

export class DataDirBusy extends Error {
  override name = "DataDirBusy";
}

export class DataLock {
  private constructor(private readonly db: Database) {}

  /** Takes the lock or throws DataDirBusy at once (no waiting). */
  static acquire(dataDir: string, holder: string): DataLock {
    const db = new Database(join(dataDir, LOCK_FILE), { create: true });
    try {
      db.run("PRAGMA busy_timeout = 0");
      db.run("PRAGMA journal_mode = DELETE");
      db.run("CREATE TABLE IF NOT EXISTS holder (what TEXT)");
      db.run("BEGIN EXCLUSIVE");
      db.run("DELETE FROM holder");
      db.run("INSERT INTO holder VALUES (?)", [`${holder} pid ${process.pid}`]);
    } catch (err) {
      db.close(false);
      if (/locked|busy/i.test((err as Error).message)) {
        throw new DataDirBusy(`data directory ${dataDir} is in use by another process (a running metad or fsck)`);
      }
      throw err;
    }
    return new DataLock(db);
  }

  release(): void {
    try {
      this.db.run("ROLLBACK");
    } finally {
      this.db.close(false);
    }
  }
}
