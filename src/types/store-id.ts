import { FsError } from "./errno.ts";

// Which object store a metadata database belongs to: metad writes the id as an object at first
// use and records it in the database; metad, fsck and clients compare the two before they touch
// a block, so a database pointed at another store's objects is refused, never "repaired".

/** The object holding the store id. Not a block key: listing "blocks/" never sees it. */
export const STORE_ID_KEY = "nokv-store-id";

export const STORE_ID_RE = /^[A-Za-z0-9-]{8,64}$/;

/** The error every checker raises for a store that is not the expected one; it names both. */
export function wrongStoreError(url: string, expected: string | null, found: string | null): FsError {
  const has = found === null ? "carries no store id" : `is store ${found}`;
  const wants = expected === null ? "the metadata records no store (it was never used with this one)" : `the metadata belongs to store ${expected}`;
  return new FsError("EXDEV", `object store ${url} ${has}, but ${wants}: refusing a foreign object store`, { path: url });
}
