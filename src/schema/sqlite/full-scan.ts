import type { Database } from "bun:sqlite";
import type { BodySummary, ChunkManifest } from "../../types/index.ts";
import { TYPE_FROM_CODE } from "../ddl.ts";
import { decodeManifest } from "../rows.ts";
import type { FullScan, ScannedDentry, ScannedHistory, ScannedInode, ScannedManifest } from "../store.ts";

// Whole-table walks for fsck: read-only, unversioned, in key order. Not for hot paths: each call
// walks a whole family. Rows that do not decode are reported as they are, never thrown, because a
// checker must see corruption rather than stop at it.

export class SqliteFullScan implements FullScan {
  constructor(private readonly db: Database) {}

  *inodes(): Iterable<ScannedInode> {
    const sql = "SELECT mount, inode, version, type, size, hole_bytes, generation, nlink, parent FROM inode_current ORDER BY mount, inode";
    for (const r of this.db.query(sql).iterate() as Iterable<Record<string, unknown>>) {
      yield {
        mount: Number(r.mount), inode: Number(r.inode), version: Number(r.version),
        type: TYPE_FROM_CODE[Number(r.type)] ?? null, sizeBytes: Number(r.size), holeBytes: Number(r.hole_bytes), generation: Number(r.generation),
        nlink: Number(r.nlink), parent: Number(r.parent),
      };
    }
  }

  orphans(): Array<{ mount: number; inode: number }> {
    const rows = this.db.query("SELECT mount, inode FROM orphan ORDER BY mount, inode").all() as Array<{ mount: number; inode: number }>;
    return rows.map((r) => ({ mount: Number(r.mount), inode: Number(r.inode) }));
  }

  *dentries(): Iterable<ScannedDentry> {
    const sql = "SELECT mount, parent, name, version, child, type FROM dentry_current ORDER BY mount, parent, name";
    for (const r of this.db.query(sql).iterate() as Iterable<Record<string, unknown>>) {
      yield {
        mount: Number(r.mount), parent: Number(r.parent), name: String(r.name), version: Number(r.version),
        child: Number(r.child), type: TYPE_FROM_CODE[Number(r.type)] ?? null,
      };
    }
  }

  *manifests(): Iterable<ScannedManifest> {
    const sql = "SELECT mount, inode, generation, chunk_index, version, value FROM chunk_manifest_current ORDER BY mount, inode, generation, chunk_index";
    for (const r of this.db.query(sql).iterate() as Iterable<Record<string, unknown>>) {
      let summary: BodySummary | null = null;
      let chunk: ChunkManifest | null = null;
      let error: string | null = null;
      try {
        const value = decodeManifest(String(r.value));
        if (value.kind === "summary") summary = value.summary;
        else chunk = value.chunk;
      } catch (err) {
        error = (err as Error).message;
      }
      yield {
        mount: Number(r.mount), inode: Number(r.inode), generation: Number(r.generation), chunkIndex: Number(r.chunk_index),
        version: Number(r.version), summary, chunk, error,
      };
    }
  }

  *history(): Iterable<ScannedHistory> {
    const sql = "SELECT family, mount, k1, k2, k3, name, version, replaced_version FROM history";
    for (const r of this.db.query(sql).iterate() as Iterable<Record<string, unknown>>) {
      yield {
        family: Number(r.family), mount: Number(r.mount), k1: Number(r.k1), k2: Number(r.k2), k3: Number(r.k3),
        name: String(r.name), version: Number(r.version), replacedVersion: Number(r.replaced_version),
      };
    }
  }

  staged(): Array<{ mount: number; prepareId: string; inode: number; generation: number; keyPrefix: string; expiresAtMs: number }> {
    const sql = "SELECT mount, prepare_id, inode, generation, key_prefix, expires_ms FROM staged";
    return (this.db.query(sql).all() as Array<Record<string, unknown>>).map((r) => ({
      mount: Number(r.mount), prepareId: String(r.prepare_id), inode: Number(r.inode), generation: Number(r.generation),
      keyPrefix: String(r.key_prefix), expiresAtMs: Number(r.expires_ms),
    }));
  }

  *gcKeys(): Iterable<string> {
    for (const r of this.db.query("SELECT object_key FROM gc_queue").iterate() as Iterable<{ object_key: string }>) yield r.object_key;
  }

  *gcRecords(): Iterable<{ mount: number; objectKey: string }> {
    for (const r of this.db.query("SELECT mount, object_key FROM gc_queue").iterate() as Iterable<{ mount: number; object_key: string }>) {
      yield { mount: Number(r.mount), objectKey: String(r.object_key) };
    }
  }

  *blockRefs(): Iterable<{ mount: number; objectKey: string; count: number }> {
    const sql = "SELECT mount, object_key, count FROM block_ref ORDER BY mount, object_key";
    for (const r of this.db.query(sql).iterate() as Iterable<{ mount: number; object_key: string; count: number }>) {
      yield { mount: Number(r.mount), objectKey: String(r.object_key), count: Number(r.count) };
    }
  }

  maxPerMount(): Map<number, { version: number; id: number }> {
    const out = new Map<number, { version: number; id: number }>();
    const fold = (sql: string, field: "version" | "id") => {
      for (const r of this.db.query(sql).all() as Array<{ m: number; v: number | null }>) {
        const entry = out.get(Number(r.m)) ?? { version: 0, id: 0 };
        entry[field] = Math.max(entry[field], Number(r.v ?? 0));
        out.set(Number(r.m), entry);
      }
    };
    fold("SELECT mount AS m, max(version) AS v FROM inode_current GROUP BY mount", "version");
    fold("SELECT mount AS m, max(version) AS v FROM dentry_current GROUP BY mount", "version");
    fold("SELECT mount AS m, max(version) AS v FROM chunk_manifest_current GROUP BY mount", "version");
    fold("SELECT mount AS m, max(max(version), max(replaced_version)) AS v FROM history GROUP BY mount", "version");
    fold("SELECT mount AS m, max(max(read_version), max(created_version)) AS v FROM snapshot_pin GROUP BY mount", "version");
    fold("SELECT mount AS m, max(created_version) AS v FROM staged GROUP BY mount", "version");
    fold("SELECT mount AS m, max(enqueue_version) AS v FROM gc_queue GROUP BY mount", "version");
    fold("SELECT shard AS m, max(version) AS v FROM command_dedupe GROUP BY shard", "version");
    fold("SELECT shard AS m, max(version) AS v FROM command_log GROUP BY shard", "version");
    fold("SELECT mount AS m, max(max(inode), max(generation)) AS v FROM inode_current WHERE inode > 1 GROUP BY mount", "id");
    fold("SELECT mount AS m, max(max(inode), max(generation)) AS v FROM staged GROUP BY mount", "id");
    fold("SELECT mount AS m, max(snapshot_id) AS v FROM snapshot_pin GROUP BY mount", "id");
    return out;
  }
}
