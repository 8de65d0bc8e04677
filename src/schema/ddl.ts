// The SQLite schema: one WITHOUT ROWID table per key family, primary key = the family's key, so
// rows cluster by key and a directory listing or a history lookup is one B-tree range walk.
//
// Departures from a byte-keyed KV layout, and why:
// - Versioned reads walk `history` with `version DESC` in the key instead of an inverted version:
//   SQLite walks an index backwards as cheaply as forwards and integers are signed 64-bit.
// - A history row records the version that replaced or deleted it (`replaced_version`), so it is
//   valid for reads at [version, replaced_version). That takes the place of tombstone rows, and a
//   read can never pick up a value from before a deletion that no snapshot needed recorded.
// - The summary row of a body uses chunk_index = SUMMARY_CHUNK_INDEX (2^53-1) where the KV layout
//   uses 2^64-1: it still sorts after every chunk and stays an exact JavaScript number.
// - dentry_current stores the child's inode and type only; readdir-plus joins inode_current in
//   the same statement, so there is no second round trip and no projection to keep fresh.

export const SCHEMA_VERSION = 7;

export const SUMMARY_CHUNK_INDEX = Number.MAX_SAFE_INTEGER;

/** Family ids as stored in history.family. */
export const FAMILY_ID = { inode: 1, dentry: 2, manifest: 3 } as const;

/** Inode types as stored: small integers keep rows short. */
export const TYPE_CODE = { file: 0, dir: 1, symlink: 2, fifo: 3, chardev: 4, blockdev: 5, socket: 6 } as const;
export const TYPE_FROM_CODE = ["file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket"] as const;

export const DDL_V1 = `
CREATE TABLE IF NOT EXISTS system (
  name TEXT PRIMARY KEY,
  int_value INTEGER,
  text_value TEXT
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS inode_current (
  mount INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  version INTEGER NOT NULL,
  type INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  size INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  nlink INTEGER NOT NULL,
  parent INTEGER NOT NULL,
  atime_ns INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  target TEXT,
  PRIMARY KEY (mount, inode)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dentry_current (
  mount INTEGER NOT NULL,
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  child INTEGER NOT NULL,
  type INTEGER NOT NULL,
  PRIMARY KEY (mount, parent, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chunk_manifest_current (
  mount INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  chunk_index INTEGER NOT NULL,
  version INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (mount, inode, generation, chunk_index)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS history (
  family INTEGER NOT NULL,
  mount INTEGER NOT NULL,
  k1 INTEGER NOT NULL,
  k2 INTEGER NOT NULL,
  k3 INTEGER NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  replaced_version INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (family, mount, k1, k2, k3, name, version DESC)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS path_index (
  mount INTEGER NOT NULL,
  path TEXT NOT NULL,
  version INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  topology_epoch INTEGER NOT NULL,
  PRIMARY KEY (mount, path)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS watch_log (
  mount INTEGER NOT NULL,
  scope INTEGER NOT NULL,
  version INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  inode INTEGER NOT NULL,
  to_scope INTEGER,
  to_name TEXT,
  generation INTEGER,
  PRIMARY KEY (mount, scope, version, ordinal)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS snapshot_pin (
  mount INTEGER NOT NULL,
  snapshot_id INTEGER NOT NULL,
  root_inode INTEGER NOT NULL,
  read_version INTEGER NOT NULL,
  created_version INTEGER NOT NULL,
  PRIMARY KEY (mount, snapshot_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS gc_queue (
  mount INTEGER NOT NULL,
  enqueue_version INTEGER NOT NULL,
  object_key TEXT NOT NULL,
  PRIMARY KEY (mount, enqueue_version, object_key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS staged (
  mount INTEGER NOT NULL,
  prepare_id TEXT NOT NULL,
  inode INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  key_prefix TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  created_version INTEGER NOT NULL,
  PRIMARY KEY (mount, prepare_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS command_dedupe (
  request_key TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  result BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS command_dedupe_by_age ON command_dedupe (created_ms);
`;

/**
 * Version 2: commands as a log. Each shard (a mount, or the catalog, shard 0) has its own clock,
 * id allocator and watch floor in `shard`; every applied command is kept in `command_log`;
 * GC walks indexes (history by replaced version, watch events by version, staged by expiry, dedupe
 * by shard and age) instead of whole tables; the path index is gone (a walk is one dentry read per
 * component, and the index cost a write per mkdir and a rebuild after every directory rename).
 * Existing mounts start their clocks at the old global reservations, so no number is reused.
 */
export const MIGRATION_V2 = `
DROP TABLE IF EXISTS path_index;
DELETE FROM system WHERE name LIKE 'topology:%';

CREATE TABLE shard (
  shard INTEGER PRIMARY KEY,
  version INTEGER NOT NULL,
  next_id INTEGER NOT NULL,
  watch_floor INTEGER NOT NULL,
  log_floor INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO shard (shard, version, next_id, watch_floor, log_floor)
  SELECT s.id, coalesce((SELECT int_value FROM system WHERE name = 'version_reserved'), 0),
         coalesce((SELECT int_value FROM system WHERE name = 'inode_reserved'), 1) + 1,
         coalesce((SELECT int_value FROM system WHERE name = 'watch_floor'), 0), 0
  FROM (SELECT 0 AS id UNION SELECT int_value FROM system WHERE name LIKE 'mount:%') s
  WHERE EXISTS (SELECT 1 FROM system WHERE name = 'version_reserved');
DELETE FROM system WHERE name IN ('version_reserved', 'inode_reserved', 'watch_floor');

CREATE TABLE command_log (
  shard INTEGER NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL,
  command BLOB NOT NULL,
  PRIMARY KEY (shard, version)
) WITHOUT ROWID;

ALTER TABLE staged ADD COLUMN fresh_inode INTEGER NOT NULL DEFAULT 0;
CREATE INDEX staged_by_expiry ON staged (expires_ms);
ALTER TABLE command_dedupe ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS command_dedupe_by_age;
CREATE INDEX command_dedupe_by_age ON command_dedupe (shard, created_ms);
CREATE INDEX watch_by_version ON watch_log (mount, version);
CREATE INDEX history_by_replaced ON history (mount, replaced_version, version);
`;

/**
 * Version 3: what a mount needs to be a POSIX workspace.
 * - Special files. Type codes 3-6 (fifo, chardev, blockdev, socket) need no DDL; a device's number
 *   is a new column, 0 for every existing row (and for every type but chardev and blockdev).
 *   History rows written before keep their 12-element JSON: a missing rdev there reads as 0.
 * - Orphans: files unlinked while a mount session holds them open. The inode and its body stay
 *   (nlink 0, no name) until the session releases them, closes, or lets its lease expire; GC finds
 *   expired leases through the expiry index.
 * - Extended attributes: one row per (inode, name), current only (snapshots do not carry them);
 *   they go with their inode.
 */
export const MIGRATION_V3 = `
ALTER TABLE inode_current ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0;

CREATE TABLE orphan (
  mount INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  session TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  created_version INTEGER NOT NULL,
  PRIMARY KEY (mount, inode)
) WITHOUT ROWID;
CREATE INDEX orphan_by_session ON orphan (mount, session);
CREATE INDEX orphan_by_expiry ON orphan (expires_ms);

CREATE TABLE xattr (
  mount INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (mount, inode, name)
) WITHOUT ROWID;
`;

/**
 * Version 4: block reference counts. Clones share blocks between files, so a dropped body can no
 * longer queue its blocks for GC outright: `block_ref` counts, per mount and object key, the
 * current body generations whose chunks name the key, and a key is queued only when its count
 * reaches 0 (and unqueued if a clone of a snapshot brings it back). The counts of existing bodies
 * are built here from the manifests; a queued key that a body still names leaves the queue.
 */
export const MIGRATION_V4 = `
CREATE TABLE block_ref (
  mount INTEGER NOT NULL,
  object_key TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (mount, object_key)
) WITHOUT ROWID;
INSERT INTO block_ref (mount, object_key, count)
  SELECT mount, key, count(*) FROM (
    SELECT DISTINCT m.mount AS mount, m.inode, m.generation, json_extract(b.value, '$.key') AS key
    FROM chunk_manifest_current m, json_each(m.value, '$.c.blocks') b
    WHERE m.chunk_index != ${SUMMARY_CHUNK_INDEX}
  ) GROUP BY mount, key;
CREATE INDEX gc_queue_by_key ON gc_queue (mount, object_key);
DELETE FROM gc_queue WHERE EXISTS (SELECT 1 FROM block_ref r WHERE r.mount = gc_queue.mount AND r.object_key = gc_queue.object_key);
`;

/**
 * Version 5: exactly-once records keyed with the request key's sequence number first, so one
 * group commit's records from many clients share a page or two instead of one page per client
 * (src/schema/sqlite/dedupe-key.ts). The new key is computed in code: the engine copies the
 * version 4 rows into the new table under their new keys (rekeyDedupeRecords), then drops it.
 */
export const MIGRATION_V5 = `
DROP INDEX IF EXISTS command_dedupe_by_age;
ALTER TABLE command_dedupe RENAME TO command_dedupe_v4;
CREATE TABLE command_dedupe (
  request_key TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  result BLOB,
  shard INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX command_dedupe_by_age ON command_dedupe (shard, created_ms);
`;

/**
 * command_log's key: shard * 2^43 + version, one 64-bit integer (shards below 2^20 and versions
 * below 2^43, LIMITS.mountIdMax and shardVersionMax). A rowid table appends its entries in place;
 * keyed (shard, version) WITHOUT ROWID it rebalanced a page or two more per commit.
 */
export const LOG_SHARD_STRIDE = 2 ** 43;

/**
 * Version 6: fewer pages written per commit (each page is one more WAL frame in every create).
 * - Prepare ids sort by expiry within their mount (src/schema/staged-id.ts), so GC finds expired
 *   prepares by a key range and the expiry index is dropped. Rows with ids of the old shape are
 *   still found (by a scan outside that range) and expire within stagedExpiryMaxMs.
 * - command_log becomes a rowid table keyed by position (LOG_SHARD_STRIDE); its shard and
 *   version columns stay, so reads and dumps look the same.
 * - Watch events are read from the command log (each entry holds its command's events), so
 *   watch_log and its version index, two more pages per commit, are dropped. A cursor older
 *   than the log's floor, like one older than the watch floor, gets ESTALE.
 * - Expired dedupe records are found by walking the log from the shard's new dedupe floor (each
 *   entry holds its request keys and time), so the age index is dropped; the log is not trimmed
 *   past that floor. Records whose entries were already trimmed go at the upgrade. (The column
 *   itself is added in code first, see SqliteStore.migrate: SQLite has no ADD COLUMN IF NOT EXISTS.)
 */
export const MIGRATION_V6 = `
DROP INDEX IF EXISTS staged_by_expiry;
DROP INDEX IF EXISTS watch_by_version;
DROP TABLE IF EXISTS watch_log;

UPDATE shard SET dedupe_floor = log_floor;
DELETE FROM command_dedupe WHERE version < coalesce((SELECT s.log_floor FROM shard s WHERE s.shard = command_dedupe.shard), 0);
DROP INDEX IF EXISTS command_dedupe_by_age;

ALTER TABLE command_log RENAME TO command_log_v5;
CREATE TABLE command_log (
  position INTEGER PRIMARY KEY,
  shard INTEGER NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL,
  command BLOB NOT NULL
);
INSERT INTO command_log (position, shard, version, kind, command)
  SELECT shard * ${LOG_SHARD_STRIDE} + version, shard, version, kind, command FROM command_log_v5 ORDER BY shard, version;
DROP TABLE command_log_v5;
`;

/**
 * Version 7: st_blocks counts the bytes blocks hold. A file's hole bytes (bytes of its size no
 * block holds: they read as zeros) are a column of its inode row, kept by every command that
 * changes a body; existing files get theirs from their current manifests here. History rows
 * written before keep their 13-element JSON: a missing count there reads as 0 (dense), as
 * every body did before. (The column itself is added in code first, as version 6's is.)
 */
export const MIGRATION_V7 = `
UPDATE inode_current SET hole_bytes = max(0, size - coalesce((
    SELECT sum(json_extract(b.value, '$.lengthBytes')) FROM chunk_manifest_current m, json_each(m.value, '$.c.blocks') b
    WHERE m.mount = inode_current.mount AND m.inode = inode_current.inode AND m.generation = inode_current.generation
      AND m.chunk_index != ${SUMMARY_CHUNK_INDEX}
  ), 0))
  WHERE type = ${TYPE_CODE.file} AND size > 0;
`;

/**
 * Migrations from version N to N+1, run in order inside one transaction on open. Index i upgrades
 * a store at version i+1. A new store is made at version 1 and migrated like any other, so there
 * is one path to the current schema.
 */
export const MIGRATIONS: ReadonlyArray<string> = [MIGRATION_V2, MIGRATION_V3, MIGRATION_V4, MIGRATION_V5, MIGRATION_V6, MIGRATION_V7];
