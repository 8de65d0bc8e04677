import type { Database, Statement } from "bun:sqlite";
import { FAMILY_ID, LOG_SHARD_STRIDE, SUMMARY_CHUNK_INDEX } from "../ddl.ts";
import { DENTRY_HISTORY_JSON, INODE_COLUMNS, INODE_HISTORY_JSON } from "../rows.ts";

/** A shard's newest log entry (its clock and allocator when its row is older: see SqliteStore.flushShards). */
export const LOG_HEAD_SQL = `SELECT version, command FROM command_log
  WHERE position >= ?1 * ${LOG_SHARD_STRIDE} AND position < (?1 + 1) * ${LOG_SHARD_STRIDE} ORDER BY position DESC LIMIT 1`;

// Every statement the engine runs, prepared once per database. Hot paths never build SQL.

const H = FAMILY_ID;

/** The distinct block keys body (?1 mount, ?2 inode, ?3 generation) names, as column `k`. */
const BODY_KEYS = `SELECT DISTINCT json_extract(b.value, '$.key') AS k FROM chunk_manifest_current m, json_each(m.value, '$.c.blocks') b
  WHERE m.mount = ?1 AND m.inode = ?2 AND m.generation = ?3 AND m.chunk_index != ${SUMMARY_CHUNK_INDEX}`;

const SQL = {
  inodeGet: `SELECT ${INODE_COLUMNS} FROM inode_current WHERE mount = ? AND inode = ?`,
  inodeInsert: `INSERT INTO inode_current (mount, inode, version, type, mode, uid, gid, size, generation, nlink, parent, atime_ns, mtime_ns, ctime_ns, target, rdev, hole_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  inodeUpsert: `INSERT OR REPLACE INTO inode_current (mount, inode, version, type, mode, uid, gid, size, generation, nlink, parent, atime_ns, mtime_ns, ctime_ns, target, rdev, hole_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  inodeDelete: `DELETE FROM inode_current WHERE mount = ? AND inode = ?`,
  inodeCopy: `INSERT INTO history (family, mount, k1, k2, k3, name, version, replaced_version, value)
    SELECT ${H.inode}, mount, inode, 0, 0, '', version, ?3, ${INODE_HISTORY_JSON}
    FROM inode_current WHERE mount = ?1 AND inode = ?2 AND version < ?3`,
  inodeHistory: `SELECT version, replaced_version, value FROM history
    WHERE family = ${H.inode} AND mount = ? AND k1 = ? AND k2 = 0 AND k3 = 0 AND name = '' AND version <= ?
    ORDER BY version DESC LIMIT 1`,

  dentryGet: `SELECT name, version, child, type FROM dentry_current WHERE mount = ? AND parent = ? AND name = ?`,
  /** Which of 64 names exist in one directory (the store checks a many-file create's names at once). */
  dentryAnyOf: `SELECT name FROM dentry_current WHERE mount = ? AND parent = ? AND name IN (${Array(64).fill("?").join(", ")})`,
  dentryInsert: `INSERT INTO dentry_current (mount, parent, name, version, child, type) VALUES (?, ?, ?, ?, ?, ?)`,
  dentryUpsert: `INSERT OR REPLACE INTO dentry_current (mount, parent, name, version, child, type) VALUES (?, ?, ?, ?, ?, ?)`,
  dentryDelete: `DELETE FROM dentry_current WHERE mount = ? AND parent = ? AND name = ?`,
  dentryCopy: `INSERT INTO history (family, mount, k1, k2, k3, name, version, replaced_version, value)
    SELECT ${H.dentry}, mount, parent, 0, 0, name, version, ?4, ${DENTRY_HISTORY_JSON}
    FROM dentry_current WHERE mount = ?1 AND parent = ?2 AND name = ?3 AND version < ?4`,
  dentryHistory: `SELECT version, replaced_version, value FROM history
    WHERE family = ${H.dentry} AND mount = ? AND k1 = ? AND k2 = 0 AND k3 = 0 AND name = ? AND version <= ?
    ORDER BY version DESC LIMIT 1`,
  dentryScan: `SELECT name, version, child, type FROM dentry_current
    WHERE mount = ? AND parent = ? AND name > ? ORDER BY name LIMIT ?`,
  dentryScanPlus: `SELECT d.name, ${INODE_COLUMNS.split(", ").map((c) => `i.${c}`).join(", ")}
    FROM dentry_current d JOIN inode_current i ON i.mount = d.mount AND i.inode = d.child
    WHERE d.mount = ? AND d.parent = ? AND d.name > ? ORDER BY d.name LIMIT ?`,
  dentryHistoryScan: `SELECT name, version, replaced_version, value FROM history
    WHERE family = ${H.dentry} AND mount = ?1 AND k1 = ?2 AND k2 = 0 AND k3 = 0 AND name > ?3
      AND version <= ?4 AND replaced_version > ?4
    ORDER BY name`,
  dentryAny: `SELECT 1 FROM dentry_current WHERE mount = ? AND parent = ? LIMIT 1`,

  manifestGet: `SELECT version, value FROM chunk_manifest_current WHERE mount = ? AND inode = ? AND generation = ? AND chunk_index = ?`,
  manifestInsert: `INSERT INTO chunk_manifest_current (mount, inode, generation, chunk_index, version, value) VALUES (?, ?, ?, ?, ?, ?)`,
  manifestUpsert: `INSERT OR REPLACE INTO chunk_manifest_current (mount, inode, generation, chunk_index, version, value) VALUES (?, ?, ?, ?, ?, ?)`,
  manifestDelete: `DELETE FROM chunk_manifest_current WHERE mount = ? AND inode = ? AND generation = ? AND chunk_index = ?`,
  manifestCopy: `INSERT INTO history (family, mount, k1, k2, k3, name, version, replaced_version, value)
    SELECT ${H.manifest}, mount, inode, generation, chunk_index, '', version, ?5, value
    FROM chunk_manifest_current WHERE mount = ?1 AND inode = ?2 AND generation = ?3 AND chunk_index = ?4 AND version < ?5`,
  manifestHistory: `SELECT version, replaced_version, value FROM history
    WHERE family = ${H.manifest} AND mount = ? AND k1 = ? AND k2 = ? AND k3 = ? AND name = '' AND version <= ?
    ORDER BY version DESC LIMIT 1`,
  manifestScan: `SELECT chunk_index, version, value FROM chunk_manifest_current
    WHERE mount = ? AND inode = ? AND generation = ? ORDER BY chunk_index`,
  manifestHistoryScan: `SELECT k3, version, replaced_version, value FROM history
    WHERE family = ${H.manifest} AND mount = ?1 AND k1 = ?2 AND k2 = ?3 AND version <= ?4 AND replaced_version > ?4
    ORDER BY k3`,

  chunkScan: `SELECT chunk_index, version, value FROM chunk_manifest_current
    WHERE mount = ? AND inode = ? AND generation = ? AND chunk_index >= ? AND chunk_index <= ? ORDER BY chunk_index LIMIT ?`,
  chunkHistoryScan: `SELECT k3, version, replaced_version, value FROM history
    WHERE family = ${H.manifest} AND mount = ?1 AND k1 = ?2 AND k2 = ?3 AND k3 >= ?4 AND k3 <= ?5 AND version <= ?6 AND replaced_version > ?6
    ORDER BY k3 LIMIT ?7`,

  /** A body generation's rows as of ?6 (current rows, then history rows valid then) under inode ?2. */
  bodyCopyAt: `INSERT INTO chunk_manifest_current (mount, inode, generation, chunk_index, version, value)
    SELECT ?1, ?2, ?3, chunk_index, ?5, value FROM chunk_manifest_current
      WHERE mount = ?1 AND inode = ?4 AND generation = ?3 AND version <= ?6
    UNION ALL
    SELECT ?1, ?2, ?3, k3, ?5, value FROM history
      WHERE family = ${H.manifest} AND mount = ?1 AND k1 = ?4 AND k2 = ?3 AND version <= ?6 AND replaced_version > ?6`,
  /** A current body generation's rows under inode ?2. */
  bodyCopy: `INSERT INTO chunk_manifest_current (mount, inode, generation, chunk_index, version, value)
    SELECT ?1, ?2, ?3, chunk_index, ?5, value FROM chunk_manifest_current WHERE mount = ?1 AND inode = ?4 AND generation = ?3`,
  /** Takes off the GC queue the keys of a body that no current body names (they come back to life). */
  bodyUnqueue: `DELETE FROM gc_queue WHERE mount = ?1 AND object_key IN (${BODY_KEYS})
    AND NOT EXISTS (SELECT 1 FROM block_ref r WHERE r.mount = ?1 AND r.object_key = gc_queue.object_key)`,
  /** One more reference on a key. */
  refBump: `INSERT INTO block_ref (mount, object_key, count) VALUES (?, ?, 1) ON CONFLICT (mount, object_key) DO UPDATE SET count = count + 1`,
  refGet: `SELECT count FROM block_ref WHERE mount = ? AND object_key = ?`,
  refUpsert: `INSERT OR REPLACE INTO block_ref (mount, object_key, count) VALUES (?, ?, ?)`,
  refDelete: `DELETE FROM block_ref WHERE mount = ? AND object_key = ?`,
  gcCancel: `DELETE FROM gc_queue WHERE mount = ? AND object_key = ?`,

  pinUpsert: `INSERT OR REPLACE INTO snapshot_pin (mount, snapshot_id, root_inode, read_version, created_version) VALUES (?, ?, ?, ?, ?)`,
  pinDelete: `DELETE FROM snapshot_pin WHERE mount = ? AND snapshot_id = ?`,
  pinList: `SELECT mount, snapshot_id, root_inode, read_version, created_version FROM snapshot_pin ORDER BY mount, snapshot_id`,

  gcInsert: `INSERT OR IGNORE INTO gc_queue (mount, enqueue_version, object_key) VALUES (?, ?, ?)`,
  gcDelete: `DELETE FROM gc_queue WHERE mount = ? AND enqueue_version = ? AND object_key = ?`,
  gcScan: `SELECT mount, enqueue_version, object_key FROM gc_queue WHERE mount = ? AND enqueue_version <= ?
    ORDER BY enqueue_version, object_key LIMIT ?`,
  gcNextMount: `SELECT mount FROM gc_queue WHERE mount > ? ORDER BY mount LIMIT 1`,

  stagedUpsert: `INSERT OR REPLACE INTO staged (mount, prepare_id, inode, generation, key_prefix, expires_ms, created_version, fresh_inode) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  stagedDelete: `DELETE FROM staged WHERE mount = ? AND prepare_id = ?`,
  stagedGet: `SELECT mount, prepare_id, inode, generation, key_prefix, expires_ms, created_version, fresh_inode FROM staged WHERE mount = ? AND prepare_id = ?`,
  // A mount's expired prepares by key range (see staged-id.ts): ids in expiry order, then any
  // of another shape below or above that range (only a store upgraded from version 5 has them).
  stagedExpiredOrdered: `SELECT mount, prepare_id, inode, generation, key_prefix, expires_ms, created_version, fresh_inode FROM staged
    WHERE mount = ?1 AND prepare_id >= ?2 AND prepare_id < ?3 AND expires_ms < ?4 ORDER BY prepare_id LIMIT ?5`,
  stagedExpiredBelow: `SELECT mount, prepare_id, inode, generation, key_prefix, expires_ms, created_version, fresh_inode FROM staged
    WHERE mount = ?1 AND prepare_id < ?2 AND expires_ms < ?3 LIMIT ?4`,
  stagedExpiredAbove: `SELECT mount, prepare_id, inode, generation, key_prefix, expires_ms, created_version, fresh_inode FROM staged
    WHERE mount = ?1 AND prepare_id >= ?2 AND expires_ms < ?3 LIMIT ?4`,

  orphanUpsert: `INSERT OR REPLACE INTO orphan (mount, inode, session, expires_ms, created_version) VALUES (?, ?, ?, ?, ?)`,
  orphanDelete: `DELETE FROM orphan WHERE mount = ? AND inode = ?`,
  orphanRenew: `UPDATE orphan SET expires_ms = ?3 WHERE mount = ?1 AND session = ?2`,
  orphanGet: `SELECT mount, inode, session, expires_ms, created_version FROM orphan WHERE mount = ? AND inode = ?`,
  orphanOfSession: `SELECT mount, inode, session, expires_ms, created_version FROM orphan WHERE mount = ? AND session = ? ORDER BY inode LIMIT ?`,
  orphanExpired: `SELECT mount, inode, session, expires_ms, created_version FROM orphan WHERE expires_ms < ? ORDER BY expires_ms LIMIT ?`,

  xattrUpsert: `INSERT OR REPLACE INTO xattr (mount, inode, name, version, value) VALUES (?, ?, ?, ?, ?)`,
  xattrDelete: `DELETE FROM xattr WHERE mount = ? AND inode = ? AND name = ?`,
  xattrDeleteAll: `DELETE FROM xattr WHERE mount = ? AND inode = ?`,
  xattrGet: `SELECT value FROM xattr WHERE mount = ? AND inode = ? AND name = ?`,
  xattrList: `SELECT name, length(value) FROM xattr WHERE mount = ? AND inode = ? ORDER BY name`,

  systemGet: `SELECT int_value, text_value FROM system WHERE name = ?`,
  systemUpsert: `INSERT OR REPLACE INTO system (name, int_value, text_value) VALUES (?, ?, ?)`,
  systemDelete: `DELETE FROM system WHERE name = ?`,
  systemScan: `SELECT name, int_value, text_value FROM system WHERE name >= ? AND name < ? ORDER BY name`,


  dedupeGet: `SELECT version, result FROM command_dedupe WHERE request_key = ?`,
  dedupeDelete: `DELETE FROM command_dedupe WHERE request_key = ?`,

  historyBand: `SELECT family, mount, k1, k2, k3, name, version FROM history
    WHERE mount = ? AND replaced_version > ? AND replaced_version <= ? AND version > ? ORDER BY replaced_version LIMIT ?`,
  historyNextMount: `SELECT mount FROM history WHERE mount > ? ORDER BY mount LIMIT 1`,
  historyDelete: `DELETE FROM history WHERE family = ? AND mount = ? AND k1 = ? AND k2 = ? AND k3 = ? AND name = ? AND version = ?`,

  shardAll: `SELECT shard, version, next_id, watch_floor, log_floor, dedupe_floor FROM shard ORDER BY shard`,
  shardUpsert: `INSERT OR REPLACE INTO shard (shard, version, next_id, watch_floor, log_floor, dedupe_floor) VALUES (?, ?, ?, ?, ?, ?)`,
  // Positions are shard * LOG_SHARD_STRIDE + version, computed here in 64-bit integers.
  logInsert: `INSERT INTO command_log (position, shard, version, kind, command) VALUES (?1 * ${LOG_SHARD_STRIDE} + ?2, ?1, ?2, ?3, ?4)`,
  logRead: `SELECT version, kind, command FROM command_log
    WHERE position >= ?1 * ${LOG_SHARD_STRIDE} + ?2 AND position < (?1 + 1) * ${LOG_SHARD_STRIDE} ORDER BY position LIMIT ?3`,
  logVersionAt: `SELECT version FROM command_log
    WHERE position >= ?1 * ${LOG_SHARD_STRIDE} AND position < ?1 * ${LOG_SHARD_STRIDE} + ?2 ORDER BY position LIMIT 1 OFFSET ?3`,
  logTrim: `DELETE FROM command_log WHERE position >= ?1 * ${LOG_SHARD_STRIDE} AND position < ?1 * ${LOG_SHARD_STRIDE} + ?2`,
  logHead: LOG_HEAD_SQL,
} as const;

export type StatementName = keyof typeof SQL;
export type Statements = { [K in StatementName]: Statement };

/** Statements whose integer columns may exceed 2^53 (times) read in safe-integer mode. */
const SAFE_INTEGER_READS: ReadonlySet<StatementName> = new Set(["inodeGet", "dentryScanPlus"]);

export function prepareStatements(db: Database): Statements {
  const out = {} as Statements;
  for (const name of Object.keys(SQL) as StatementName[]) {
    const stmt = db.prepare(SQL[name]);
    if (SAFE_INTEGER_READS.has(name)) stmt.safeIntegers(true);
    out[name] = stmt;
  }
  return out;
}
