import type { StoredOrphan, StoredStaged } from "../store.ts";

// Rows of the smaller families as the store returns them, and the skip scan its GC walks use.

/** Distinct leading keys of an index, one seek each: `next` selects the first key above its argument. */
export function skipScan(next: { values(...args: unknown[]): unknown[][] }, after: number, limit: number): number[] {
  const out: number[] = [];
  let cursor = after;
  while (out.length < limit) {
    const row = next.values(cursor)[0];
    if (!row) break;
    cursor = row[0] as number;
    out.push(cursor);
  }
  return out;
}

export function orphanFromRow(row: unknown[]): StoredOrphan {
  return {
    mount: Number(row[0]),
    inode: Number(row[1]),
    session: row[2] as string,
    expiresAtMs: Number(row[3]),
    createdVersion: Number(row[4]),
  };
}

export function stagedFromRow(row: unknown[]): StoredStaged {
  return {
    mount: row[0] as number,
    prepareId: row[1] as string,
    inode: row[2] as number,
    generation: row[3] as number,
    keyPrefix: row[4] as string,
    expiresAtMs: row[5] as number,
    createdVersion: row[6] as number,
    freshInode: row[7] === 1,
  };
}
