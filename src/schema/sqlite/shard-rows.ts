import type { Database } from "bun:sqlite";
import { decodeCommand } from "../command-codec.ts";
import type { ShardState } from "../store.ts";
import { LOG_HEAD_SQL, type Statements } from "./statements.ts";

// A shard's row in `shard` is written when the shard appears, when one of its floors moves and at
// close, not by every commit (one page less in each commit's WAL): the log entry a commit
// appends holds the new version and allocator, and they are read back from there on open.

/** What a row says of its floors: when the state's differ, the row must be written. */
export function floorsOf(state: ShardState): string {
  return `${state.watchFloor}:${state.logFloor}:${state.dedupeFloor}`;
}

/** Every shard's state: its row, with the clock and allocator of its newest log entry when that is newer. */
export function readShardStates(s: Statements): Array<{ state: ShardState; rowFloors: string }> {
  return s.shardAll.values().map((row) => {
    const state: ShardState = {
      shard: row[0] as number, version: row[1] as number, nextId: row[2] as number,
      watchFloor: row[3] as number, logFloor: row[4] as number, dedupeFloor: row[5] as number,
    };
    const rowFloors = floorsOf(state);
    const head = s.logHead.values(state.shard)[0];
    if (head && (head[0] as number) > state.version) {
      state.version = head[0] as number;
      state.nextId = Math.max(state.nextId, decodeCommand(head[1] as Uint8Array).nextId);
    }
    return { state, rowFloors };
  });
}

/**
 * Each shard's applied position in a database file read without opening it as a store (cluster
 * startup). A store older than schema version 6 wrote its rows at every commit and has no log
 * positions to read.
 */
export function storedShardPositions(db: Database): Array<{ shard: number; version: number }> {
  const rows = db.query<{ shard: number; version: number }, []>("SELECT shard, version FROM shard").all();
  let head: ReturnType<Database["query"]>;
  try {
    head = db.query(LOG_HEAD_SQL);
  } catch {
    return rows;
  }
  return rows.map(({ shard, version }) => {
    const newest = head.values(shard)[0];
    return { shard, version: Math.max(version, newest ? (newest[0] as number) : 0) };
  });
}
