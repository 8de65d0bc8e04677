import { openObjectStore, type ObjectStore } from "../objstore/index.ts";
import { BlockCache } from "./block-cache.ts";

// What the data path shares between a client and its snapshot views: the object store (opened on
// first use, so a client that only touches metadata never needs store credentials) and the
// block cache (safe to share across views because blocks are immutable).

export class DataPath {
  private opening: Promise<ObjectStore> | null = null;

  /**
   * `objects` is the store URL metad named in hello (or the caller's override), or an open store
   * the caller owns (a wrapped store for metrics or tests): the client never closes that one.
   */
  constructor(
    private readonly objects: string | ObjectStore,
    readonly cache: BlockCache,
  ) {}

  store(): Promise<ObjectStore> {
    if (typeof this.objects !== "string") return Promise.resolve(this.objects);
    if (!this.opening) {
      const opening = openObjectStore(this.objects);
      // A failed open (credentials missing, directory unwritable) is tried again on next use.
      opening.catch(() => {
        if (this.opening === opening) this.opening = null;
      });
      this.opening = opening;
    }
    return this.opening;
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = null;
    this.cache.clear();
    if (opening) await (await opening.catch(() => null))?.close();
  }
}
