import { checkStoreId, openObjectStore, type Durability, type ObjectStore } from "../objstore/index.ts";
import { LIMITS, type FsError } from "../types/index.ts";
import { BlockCache } from "./block-cache.ts";
import { acquireNodeCache, releaseNodeCache, type NodeCache } from "./node-cache/index.ts";

// What the data path shares between a client and its snapshot views: the object store (opened on
// first use, so a client that only touches metadata never needs store credentials), the block
// cache (safe to share across views because blocks are immutable) and the integrity counters.

export interface DataPathOptions {
  /** metad's durability, from hello: under "full" every block is fsynced before publish is sent. */
  durability?: Durability;
  /** The store id metad records, from hello: a store that carries another is refused (EXDEV). */
  storeId?: string | null;
  /** Verify every read against its block checksums (default true); off only to measure what it costs. */
  verifyChecksums?: boolean;
  /** The node cache shared by every process on this machine (off when absent, or when the store has no id). */
  nodeCache?: { cacheDir: string; maxBytes: number };
}

/** What the client verified, and what it caught. */
export interface IntegrityStats {
  /** Checksum segments read and verified. */
  segmentsVerified: number;
  bytesVerified: number;
  /** Reads whose bytes failed their checksum (each is re-read once before it is EIO). */
  checksumMismatches: number;
  /** Mismatches a re-read cured (a torn read, not corruption). */
  checksumRereadsRecovered: number;
  /** Reads that failed with EIO after the re-read: corrupt, truncated or replaced blocks. */
  checksumFailures: number;
  /** Blocks a failed upload deleted again rather than leaving them for GC. */
  uploadBlocksCleanedUp: number;
}

export class DataPath {
  private opening: Promise<ObjectStore> | null = null;
  private node: NodeCache | null | undefined;
  readonly integrity: IntegrityStats = {
    segmentsVerified: 0, bytesVerified: 0, checksumMismatches: 0, checksumRereadsRecovered: 0, checksumFailures: 0, uploadBlocksCleanedUp: 0,
  };

  /**
   * `objects` is the store URL metad named in hello (or the caller's override), or an open store
   * the caller owns (a wrapped store for metrics or tests): the client never closes that one.
   */
  constructor(
    private readonly objects: string | ObjectStore,
    readonly cache: BlockCache,
    private readonly options: DataPathOptions = {},
  ) {}

  get verifyChecksums(): boolean {
    return this.options.verifyChecksums !== false;
  }

  /**
   * The node cache, or null when it is off. Entries are named by the store's id, so a store
   * without one (made before ids existed) is never cached: two such stores could share keys.
   */
  nodeCache(): NodeCache | null {
    if (this.node !== undefined) return this.node;
    const { nodeCache, storeId } = this.options;
    this.node = nodeCache && storeId ? acquireNodeCache({ ...nodeCache, storeId }) : null;
    return this.node;
  }

  store(): Promise<ObjectStore> {
    if (!this.opening) {
      const opening = this.open();
      // A failed open (credentials missing, directory unwritable, a foreign store) is tried again on next use.
      opening.catch(() => {
        if (this.opening === opening) this.opening = null;
      });
      this.opening = opening;
    }
    return this.opening;
  }

  private async open(): Promise<ObjectStore> {
    const owned = typeof this.objects === "string";
    const store = owned ? await openObjectStore(this.objects as string, { durability: this.options.durability ?? "normal" }) : (this.objects as ObjectStore);
    try {
      if (this.options.storeId) await checkIdentity(store, this.options.storeId);
    } catch (err) {
      if (owned) await store.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = null;
    this.cache.clear();
    if (this.node) releaseNodeCache(this.node);
    this.node = null;
    if (opening && typeof this.objects === "string") await (await opening.catch(() => null))?.close();
  }
}

/** Like a block read, the identity read is tried again when the store fails in a way that may pass. */
async function checkIdentity(store: ObjectStore, storeId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await checkStoreId(store, storeId);
    } catch (err) {
      const code = (err as FsError).code;
      if (code === "EXDEV" || code === "EINVAL" || code === "EACCES" || attempt >= LIMITS.readRetryMaxAttempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, LIMITS.readRetryBackoffMs * 2 ** (attempt - 1)));
    }
  }
}
