import { ORDINAL_END, type InodeId, type MountId, type WatchCursor, type WatchEvent } from "../../types/index.ts";
import { decodeCommand } from "../command-codec.ts";
import { watchEventOf } from "../rows.ts";
import type { WatchScan } from "../store.ts";
import type { Statements } from "./statements.ts";

/**
 * One page of a scope's events, read from the command log (schema version 6 keeps no event
 * table): the mount's entries after the cursor, decoded, keeping the scope's events. At most
 * `limit` events from at most `maxCommands` entries; the cursor returned stands past what was read.
 */
export function scanWatchEvents(s: Statements, mount: MountId, scope: InodeId, after: WatchCursor, limit: number, maxCommands: number): WatchScan {
  const events: WatchEvent[] = [];
  let through = after;
  let commands = 0;
  // A cursor past a version's last event starts at the next version.
  const from = after.ordinal >= ORDINAL_END ? after.version + 1 : after.version;
  // Streamed a row at a time: a page holds at most `limit` events, never maxCommands commands.
  for (const row of s.logRead.iterate(mount, from, maxCommands) as Iterable<{ version: number; command: Uint8Array }>) {
    commands++;
    const version = row.version;
    const drafts = decodeCommand(row.command).watchEvents;
    for (let ordinal = version === after.version ? after.ordinal + 1 : 0; ordinal < drafts.length; ordinal++) {
      const draft = drafts[ordinal]!;
      if (draft.scope !== scope) continue;
      events.push(watchEventOf(draft, version, ordinal));
      if (events.length >= limit) return { events, through: { version, ordinal }, more: true };
    }
    through = { version, ordinal: ORDINAL_END };
  }
  return { events, through, more: commands >= maxCommands };
}
