import { LIMITS } from "../../types/index.ts";
import type { FsState } from "./state.ts";

// A lookup that misses in a directory whose listing the mount does not know reads that listing
// in the background (names only): the next absent name there — typically the next file a
// program creates — is answered without a round trip. Directories past fuseListingNamesMax are
// left to metad for a while.

export function learnListing(state: FsState, dirNodeid: number): void {
  if (!state.source.listNames || !state.local.startListing(dirNodeid)) return;
  void readNames(state, dirNodeid).then(
    (names) => state.local.finishListing(dirNodeid, names),
    () => state.local.finishListing(dirNodeid, null),
  );
}

async function readNames(state: FsState, dirNodeid: number): Promise<string[] | null> {
  // Watched before the read: any change after it arrives as an event and forgets the listing.
  await state.listingDir(dirNodeid);
  const node = state.nodes.get(dirNodeid);
  if (!node || node.type !== "dir" || !state.local.watched(dirNodeid) || !state.source.listNames) return null;
  const names: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await state.source.listNames(node.inode, after === undefined ? { limit: LIMITS.readdirPageMaxEntries } : { after, limit: LIMITS.readdirPageMaxEntries });
    for (const entry of page.entries) names.push(entry.name);
    if (names.length > LIMITS.fuseListingNamesMax) {
      state.local.tooLargeToList(dirNodeid);
      return null;
    }
    if (page.nextAfter === null) return names;
    after = page.nextAfter;
  }
}
