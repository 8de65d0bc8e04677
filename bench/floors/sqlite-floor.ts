// The SQLite floor: the rows a namespace operation writes or reads (inode, dentry, watch event,
// parent attrs), straight through bun:sqlite prepared statements on metad's own schema, in this
// process: no server, no semantics, no history, no checks. Shared by the micro benches and the
// end-to-end harness.
import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { SqliteStore } from "../../src/schema/index.ts";
import { nowNs } from "../../src/types/index.ts";

const MOUNT = 1;
const PARENT = 2;

export class SqliteFloor {
  private readonly db: Database;
  private nextInode = 10;
  private version = 1;
  /** Names of the live files, oldest first, so removes and renames hit rows that exist. */
  private readonly live: number[] = [];
  private liveHead = 0;
  private readonly insInode;
  private readonly insDentry;
  private readonly insWatch;
  private readonly putParent;
  private readonly getInode;
  private readonly getDentry;
  private readonly delInode;
  private readonly delDentry;
  private readonly scanPlus;
  private readonly txCreate: (count: number) => void;
  private readonly txRemove: (count: number) => void;
  private readonly txRename: () => void;

  constructor(readonly path: string) {
    // metad's schema, made by metad's store, then written to bare.
    new SqliteStore({ path }).close();
    this.db = new Database(path);
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA synchronous = NORMAL");
    this.insInode = this.db.prepare("INSERT INTO inode_current VALUES (?, ?, ?, 0, 420, 0, 0, 0, 0, 1, ?, ?, ?, ?, NULL, 0, 0)");
    this.insDentry = this.db.prepare("INSERT INTO dentry_current VALUES (?, ?, ?, ?, ?, 0)");
    // metad reads watch events from its command log since schema version 6; the floor keeps
    // writing one event row per name in the table it had, so it measures what it always did.
    this.db.run(`CREATE TABLE IF NOT EXISTS floor_watch_log (
      mount INTEGER NOT NULL, scope INTEGER NOT NULL, version INTEGER NOT NULL, ordinal INTEGER NOT NULL, kind INTEGER NOT NULL,
      name TEXT NOT NULL, inode INTEGER NOT NULL, to_scope INTEGER, to_name TEXT, generation INTEGER,
      PRIMARY KEY (mount, scope, version, ordinal)) WITHOUT ROWID`);
    this.insWatch = this.db.prepare("INSERT INTO floor_watch_log VALUES (?, ?, ?, ?, 0, ?, ?, NULL, NULL, NULL)");
    this.putParent = this.db.prepare("INSERT OR REPLACE INTO inode_current VALUES (?, ?, ?, 1, 493, 0, 0, 0, 0, 2, 1, ?, ?, ?, NULL, 0, 0)");
    this.getInode = this.db.prepare("SELECT * FROM inode_current WHERE mount = ? AND inode = ?");
    this.getDentry = this.db.prepare("SELECT * FROM dentry_current WHERE mount = ? AND parent = ? AND name = ?");
    this.delInode = this.db.prepare("DELETE FROM inode_current WHERE mount = ? AND inode = ?");
    this.delDentry = this.db.prepare("DELETE FROM dentry_current WHERE mount = ? AND parent = ? AND name = ?");
    this.scanPlus = this.db.prepare(
      "SELECT d.name, i.* FROM dentry_current d JOIN inode_current i ON i.mount = d.mount AND i.inode = d.child WHERE d.mount = ? AND d.parent = ? AND d.name > ? ORDER BY d.name LIMIT ?",
    );
    this.txCreate = this.db.transaction((count: number) => this.createRows(count));
    this.txRemove = this.db.transaction((count: number) => this.removeRows(count));
    this.txRename = this.db.transaction(() => this.renameRow());
  }

  private static nameOf(inode: number): string {
    return `f${inode.toString(36).padStart(8, "0")}`;
  }

  private createRows(count: number): void {
    const now = nowNs();
    const version = this.version++;
    for (let i = 0; i < count; i++) {
      const inode = this.nextInode++;
      this.insInode.run(MOUNT, inode, version, PARENT, now, now, now);
      this.insDentry.run(MOUNT, PARENT, SqliteFloor.nameOf(inode), version, inode);
      this.insWatch.run(MOUNT, PARENT, version, i, SqliteFloor.nameOf(inode), inode);
      this.live.push(inode);
    }
    this.putParent.run(MOUNT, PARENT, version, now, now, now);
  }

  private removeRows(count: number): void {
    const now = nowNs();
    const version = this.version++;
    for (let i = 0; i < count && this.liveHead < this.live.length; i++) {
      const inode = this.live[this.liveHead++]!;
      this.delDentry.run(MOUNT, PARENT, SqliteFloor.nameOf(inode));
      this.delInode.run(MOUNT, inode);
      this.insWatch.run(MOUNT, PARENT, version, i, SqliteFloor.nameOf(inode), inode);
    }
    this.putParent.run(MOUNT, PARENT, version, now, now, now);
  }

  /** A rename in one directory: the dentry moves to a new name, the inode's ctime changes. */
  private renameRow(): void {
    const now = nowNs();
    const version = this.version++;
    const inode = this.live[this.liveHead++]!;
    this.delDentry.run(MOUNT, PARENT, SqliteFloor.nameOf(inode));
    const moved = this.nextInode++;
    this.insDentry.run(MOUNT, PARENT, SqliteFloor.nameOf(moved), version, inode);
    this.insInode.run(MOUNT, moved, version, PARENT, now, now, now);
    this.insWatch.run(MOUNT, PARENT, version, 0, SqliteFloor.nameOf(moved), inode);
    this.putParent.run(MOUNT, PARENT, version, now, now, now);
    this.live.push(moved);
  }

  /** `count` creates in one transaction (1 = an unbatched create). */
  create(count: number): void {
    this.txCreate(count);
  }

  /** `count` removes of the oldest live files in one transaction. */
  remove(count: number): void {
    this.txRemove(count);
  }

  rename(): void {
    this.txRename();
  }

  /** A stat: the dentry by name, then its inode (what lookup + getattr read). */
  stat(i: number): unknown {
    const inode = this.live[this.liveHead + (i % Math.max(1, this.live.length - this.liveHead))] ?? 10;
    this.getDentry.get(MOUNT, PARENT, SqliteFloor.nameOf(inode));
    return this.getInode.get(MOUNT, inode);
  }

  pointRead(i: number): unknown {
    return this.getInode.get(MOUNT, 10 + (i % 1000));
  }

  /** One readdir-plus page: dentries joined with their inodes, in name order. */
  scan(after: string, limit: number): Array<{ name: string }> {
    return this.scanPlus.all(MOUNT, PARENT, after, limit) as Array<{ name: string }>;
  }

  get liveCount(): number {
    return this.live.length - this.liveHead;
  }

  /** Bytes of the database after a checkpoint. */
  footprintBytes(): number {
    this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    return statSync(this.path).size;
  }

  close(): void {
    this.db.close(false);
  }
}
