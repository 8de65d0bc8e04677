import type { InodeId, Version } from "./ids.ts";

export type WatchEventKind = "create" | "remove" | "rename" | "update_attr" | "publish";

/** A change in one directory scope; its (version, ordinal) is the cursor to resume after it. */
export interface WatchEvent {
  kind: WatchEventKind;
  /** The directory whose listing or child changed. */
  scope: InodeId;
  name: string;
  inode: InodeId;
  /** rename: the destination directory and name (the event is logged in both scopes). */
  toScope?: InodeId;
  toName?: string;
  /** publish: the new body generation. */
  generation?: number;
  version: Version;
  ordinal: number;
}

/** A resume position in the watch log: events strictly after (version, ordinal). */
export interface WatchCursor {
  version: Version;
  ordinal: number;
}

/** The ordinal of a cursor that stands after every event of its version ("now" is the head version's end). */
export const ORDINAL_END = 0xffff_ffff;

export function formatCursor(cursor: WatchCursor): string {
  return `${cursor.version}.${cursor.ordinal}`;
}

/**
 * `VERSION.ORDINAL`, each a decimal integer below 2^53, or null. Versions are asserted below
 * 2^53 where they are made, so a larger part names no event; it is refused rather than rounded
 * to a neighbouring position (Number("9007199254740993") is 9007199254740992).
 */
export function parseCursor(text: string): WatchCursor | null {
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(text);
  if (!match) return null;
  const version = Number(match[1]);
  const ordinal = Number(match[2]);
  if (!Number.isSafeInteger(version) || !Number.isSafeInteger(ordinal)) return null;
  return { version, ordinal };
}
