import type { MountId } from "../types/index.ts";

// How prepare ids are made (schema version 6): `<mount>.e<expiry>.<generation>.<unique>`, the
// expiry as 12 hex digits of epoch milliseconds. `staged` is keyed (mount, prepare_id), so a
// mount's prepares sort by when they expire: GC finds the expired ones by a key range, and new
// prepares land at the end of the B-tree, with no second index to keep (each index is one more
// page written to the WAL by every create).
//
// Ids of any other shape (those a version 5 store made, `<mount>.<generation>.<unique>`) still
// work: they sort outside the range and the scan reads them separately, by their expiry column.

const EXPIRY_HEX_DIGITS = 12;
/** 16^12 ms is year 10889; a larger expiry would no longer sort by its digits. */
export const STAGED_EXPIRY_MAX_MS = 16 ** EXPIRY_HEX_DIGITS - 1;

export function stagedPrepareId(mount: MountId, expiresAtMs: number, generation: number, unique: string): string {
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0 || expiresAtMs > STAGED_EXPIRY_MAX_MS) {
    throw new RangeError(`prepare expiry ${expiresAtMs} ms is outside 0..${STAGED_EXPIRY_MAX_MS}`);
  }
  return `${expiryPrefix(mount)}${expiresAtMs.toString(16).padStart(EXPIRY_HEX_DIGITS, "0")}.${generation}.${unique}`;
}

/** The part every id of the mount's expiry-ordered range starts with. */
export function expiryPrefix(mount: MountId): string {
  return `${mount}.e`;
}

/**
 * Bounds of the mount's ids that expired before `nowMs`, as [low, high): ids of this shape
 * below `high` expire before `nowMs` (equal digits are followed by "." and sort above it).
 */
export function expiredRange(mount: MountId, nowMs: number): { low: string; high: string } {
  const clamped = Math.min(Math.max(0, Math.floor(nowMs)), STAGED_EXPIRY_MAX_MS);
  return { low: expiryPrefix(mount), high: `${expiryPrefix(mount)}${clamped.toString(16).padStart(EXPIRY_HEX_DIGITS, "0")}` };
}

/** The first string above every id of the mount's expiry-ordered range. */
export function expiryRangeEnd(mount: MountId): string {
  return `${mount}.f`;
}
