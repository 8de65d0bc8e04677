// The whole object store contract. File bodies are immutable blocks, so the store needs no
// conditional writes, no append and no rename: put whole objects, read them (or a range of them),
// list and delete them. Every backend passes conformance.ts; backends differ only in where bytes go.

/** A byte range of one object. Reads are clipped at the object's end, never padded. */
export interface ByteRange {
  offsetBytes: number;
  lengthBytes: number;
}

export interface ObjectHead {
  sizeBytes: number;
}

export interface ListOptions {
  /** Only keys that sort strictly after this one (the `nextAfter` of the previous page). */
  after?: string;
  /** Keys in this page, 1..LIMITS.objectListPageMaxKeys (default objectListPageDefaultKeys). */
  limit?: number;
}

export interface ListPage {
  /** Keys in UTF-8 byte order (S3's order), all starting with the listed prefix. */
  keys: string[];
  /** Pass as `after` for the next page; null when this page is the last. */
  nextAfter: string | null;
}

/** How hard a write tries to survive power loss: "full" fsyncs data and directory entries. */
export type Durability = "normal" | "full";

/**
 * Keys are '/'-separated components: non-empty, never '.' or '..', no NUL or backslash, no
 * leading '/'. Anything else is EINVAL naming the key. A key may not also be the directory of
 * another key ("a" and "a/b"): a file:// store cannot hold both, so no backend offers it.
 */
export interface ObjectStore {
  /** The store's URL without secrets: safe to log and to hand to clients. */
  readonly url: string;
  /** Writes the whole object, replacing any previous one; readers see old or new bytes, never a mix. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or the part of `range` inside it. ENOENT when the key has no object. */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /**
   * Reads the part of `range` inside the object into `into` (at least `range.lengthBytes` long)
   * and returns how many bytes that was; ENOENT as get. Bytes of `into` past that count but inside
   * `range.lengthBytes` may be overwritten (an O_DIRECT read zeroes past the object's end); nothing
   * past `range.lengthBytes` is. For backends that can read straight into
   * memory the caller owns: a fresh buffer per block read costs more than the read on some
   * machines. Callers go through getInto, which falls back to get.
   */
  readInto?(key: string, range: ByteRange, into: Uint8Array): Promise<number>;
  head(key: string): Promise<ObjectHead | null>;
  /** Deleting a missing key succeeds: GC may retry a delete that already happened. */
  delete(key: string): Promise<void>;
  /** One page of the keys starting with `prefix` (a plain string prefix, not only directories). */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /**
   * Backends that write through temp files (file://) report, and unless `dryRun` delete, those
   * at least `minAgeMs` old: what a writer killed mid-put left behind. Others have none.
   */
  sweepTempFiles?(options: { minAgeMs: number; dryRun: boolean }): Promise<TempSweepResult>;
  close(): Promise<void>;
}

export interface TempSweepResult {
  found: Array<{ path: string; sizeBytes: number; ageMs: number }>;
  deleted: number;
  bytesDeleted: number;
}

/** `store.readInto` when the backend has it, else a get copied into `into`. */
export async function getInto(store: ObjectStore, key: string, range: ByteRange, into: Uint8Array): Promise<number> {
  if (store.readInto) return store.readInto(key, range, into);
  const bytes = await store.get(key, range);
  into.set(bytes);
  return bytes.byteLength;
}
