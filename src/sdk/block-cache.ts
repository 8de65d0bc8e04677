import { FsError, LIMITS } from "../types/index.ts";

// An in-memory LRU of object byte ranges, bounded by bytes. Blocks are immutable (a rewrite is a
// new generation under new keys), so a cached range can never be stale: no invalidation at all.
// A lookup hits when any cached range of the object covers it, so a whole sample read once also
// serves later reads of parts of it.

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  entries: number;
  bytes: number;
  capacityBytes: number;
}

interface Span {
  id: string;
  objectKey: string;
  offsetBytes: number;
  bytes: Uint8Array;
}

/** One range above this share of the capacity is not cached: a large sequential read would flush everything. */
const ENTRY_MAX_SHARE = 8;

export class BlockCache {
  /** Every span, least recently used first (a Map keeps insertion order; a hit re-inserts). */
  private readonly lru = new Map<string, Span>();
  private readonly byObject = new Map<string, Span[]>();
  private sizeBytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(readonly capacityBytes: number = LIMITS.blockCacheDefaultBytes) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) throw new FsError("EINVAL", `cache capacity ${capacityBytes} is not a byte count`);
  }

  /** The cached bytes [offset, offset + length) of an object, or null. Callers must not modify them. */
  get(objectKey: string, offsetBytes: number, lengthBytes: number): Uint8Array | null {
    const spans = this.byObject.get(objectKey);
    if (spans) {
      for (const span of spans) {
        const from = offsetBytes - span.offsetBytes;
        if (from < 0 || from + lengthBytes > span.bytes.byteLength) continue;
        this.lru.delete(span.id);
        this.lru.set(span.id, span);
        this.hits++;
        return span.bytes.subarray(from, from + lengthBytes);
      }
    }
    this.misses++;
    return null;
  }

  /** Keeps `bytes` (object bytes from `offsetBytes`); the cache owns them from now on. */
  put(objectKey: string, offsetBytes: number, bytes: Uint8Array): void {
    if (!this.accepts(bytes.byteLength)) return;
    const id = `${objectKey}\0${offsetBytes}\0${bytes.byteLength}`;
    if (this.lru.has(id)) return;
    let spans = this.byObject.get(objectKey);
    if (!spans) this.byObject.set(objectKey, (spans = []));
    if (spans.length >= LIMITS.blockCacheRangesPerObjectMax) this.evict(spans[0]!);
    const span: Span = { id, objectKey, offsetBytes, bytes };
    spans.push(span);
    this.lru.set(id, span);
    this.sizeBytes += bytes.byteLength;
    while (this.sizeBytes > this.capacityBytes) this.evict(this.lru.values().next().value!);
  }

  /** Whether a range of this size would be kept (the reader copies out of kept ranges only). */
  accepts(lengthBytes: number): boolean {
    return lengthBytes > 0 && lengthBytes * ENTRY_MAX_SHARE <= this.capacityBytes;
  }

  clear(): void {
    this.lru.clear();
    this.byObject.clear();
    this.sizeBytes = 0;
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, entries: this.lru.size, bytes: this.sizeBytes, capacityBytes: this.capacityBytes };
  }

  private evict(span: Span): void {
    this.lru.delete(span.id);
    const spans = this.byObject.get(span.objectKey)!;
    spans.splice(spans.indexOf(span), 1);
    if (spans.length === 0) this.byObject.delete(span.objectKey);
    this.sizeBytes -= span.bytes.byteLength;
    this.evictions++;
  }
}
