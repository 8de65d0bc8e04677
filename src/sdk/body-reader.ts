import { getInto, type ObjectStore } from "../objstore/index.ts";
import { FsError, LIMITS, checksumError, cutRange, segmentWindow, verifySegments, type InodeAttrs, type InodeId, type RangeChecksum, type ReadPlan, type ReadRange } from "../types/index.ts";
import type { DataPath } from "./objects.ts";
import type { ReadPlans } from "./read-plans.ts";

// The read half of the data path: metad plans which object ranges hold the bytes, the client
// reads them straight from the store, several at once. Every byte of one read comes from one
// generation: when the body moved (ESTALE) or its blocks were already collected (the store says
// ENOENT), the read starts over from a new plan instead of mixing old and new bytes. Every range
// is verified against the CRC-32 of the whole checksum segments around it before any byte of it
// is returned or cached; a mismatch is read once more (a torn read is not corruption), then EIO
// naming the object.

export type ReadCall = (op: string, args: Record<string, unknown>) => Promise<unknown>;

export interface BodyReadOptions {
  /** The generation the caller saw; the first plan is made against it. */
  generation?: number;
  /**
   * Pinned: ESTALE reaches the caller when the body moved past `generation` (a stream that has
   * already handed out bytes, or FUSE, which must drop what it cached). Otherwise the read moves
   * on to the new generation and starts over.
   */
  pinned?: boolean;
  /**
   * Read into this buffer (at least as long as the read) instead of a new one; `bytes` of the
   * result is a view of it. Blocks are read from the store straight into it and verified there,
   * without the block cache: what the caller keeps (FUSE, a window it hands to the kernel) is its
   * own cache, and a fresh buffer per block cost a sequential reader more than the read itself.
   */
  into?: Uint8Array;
  /**
   * A sequential reader's plans (with `generation`): a read inside the stretch planned before
   * needs no plan from metad, and one outside asks for `plans.aheadBytes` more and keeps it.
   */
  plans?: ReadPlans;
}

export interface BodyRead {
  bytes: Uint8Array;
  generation: number;
  sizeBytes: number;
}

/** A planned block the store no longer has: its body was replaced and collected meanwhile. */
class BlockMissing extends Error {
  constructor(readonly generation: number, readonly key: string) {
    super(`block ${key} of generation ${generation} is gone`);
  }
}

export function isStale(err: unknown): boolean {
  return (err as FsError | null)?.code === "ESTALE";
}

export class BodyReader {
  constructor(
    private readonly call: ReadCall,
    private readonly data: DataPath,
    /** Told when a body moved or a planned block is gone: cached metadata about it is stale. */
    private readonly onStale: () => void = () => undefined,
  ) {}

  /** Bytes [offset, offset + length) of a file body, clipped at its end; holes read as zeros. */
  async read(inode: InodeId, offsetBytes: number, lengthBytes: number, options: BodyReadOptions = {}): Promise<BodyRead> {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || !Number.isSafeInteger(lengthBytes) || lengthBytes < 0) {
      throw new FsError("EINVAL", `read of ${lengthBytes} bytes at ${offsetBytes}: not non-negative integers`);
    }
    const store = await this.data.store();
    let generation = options.generation;
    let missing: BlockMissing | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readOnce(store, inode, offsetBytes, lengthBytes, generation, missing, options.into, options.plans);
      } catch (err) {
        const gone = err instanceof BlockMissing;
        if (!gone && !isStale(err)) throw err;
        this.onStale();
        options.plans?.drop();
        if (!gone && options.pinned) throw err;
        if (attempt >= LIMITS.readReplanMaxAttempts) {
          throw new FsError("ESTALE", `inode ${inode}: the body moved during each of ${attempt} read attempts`);
        }
        // A missing block is retried once against the same generation when pinned (to tell a
        // moved body, ESTALE, from a lost object, EIO); otherwise against whatever is current.
        missing = gone ? err : undefined;
        generation = gone && options.pinned ? err.generation : undefined;
      }
    }
  }

  private async readOnce(store: ObjectStore, inode: InodeId, offsetBytes: number, lengthBytes: number, generation: number | undefined, missing: BlockMissing | undefined, into: Uint8Array | undefined, plans: ReadPlans | undefined): Promise<BodyRead> {
    // A missing block asks metad again: whether the body moved is what the retry is for.
    if (plans && generation !== undefined && !missing) {
      const planned = plans.cut(inode, generation, offsetBytes, lengthBytes);
      if (planned) {
        const outBytes = checkedOutBytes(planned.sizeBytes, offsetBytes, lengthBytes, into);
        return { bytes: await this.fetchRanges(store, generation, planned.ranges, outBytes, into), generation, sizeBytes: planned.sizeBytes };
      }
    }
    const windowBytes = LIMITS.readPlanWindowBytes;
    const askBytes = Math.min(windowBytes, plans ? lengthBytes + plans.aheadBytes : lengthBytes);
    const first = await this.plan(inode, offsetBytes, askBytes, generation);
    if (plans) plans.keep(inode, offsetBytes, first);
    if (missing && first.generation === missing.generation) {
      throw new FsError("EIO", `object ${JSON.stringify(missing.key)} is missing from the object store (inode ${inode} generation ${missing.generation} lists it)`, { path: missing.key });
    }
    const endBytes = Math.min(first.sizeBytes, offsetBytes + lengthBytes);
    const outBytes = checkedOutBytes(first.sizeBytes, offsetBytes, lengthBytes, into);
    const rest: Array<Promise<ReadPlan>> = [];
    for (let at = offsetBytes + windowBytes; at < endBytes; at += windowBytes) {
      rest.push(this.plan(inode, at, Math.min(windowBytes, endBytes - at), first.generation));
    }
    // A plan asked past the read (plans ahead) is cut back to it.
    const firstBytes = Math.min(outBytes, windowBytes);
    const ranges = askBytes > lengthBytes ? first.ranges.flatMap((range) => cutRange(range, 0, firstBytes) ?? []) : first.ranges.slice();
    for (const [i, plan] of (await Promise.all(rest)).entries()) {
      const baseBytes = (i + 1) * windowBytes;
      for (const range of plan.ranges) ranges.push({ ...range, outputOffset: range.outputOffset + baseBytes });
    }
    const bytes = await this.fetchRanges(store, first.generation, ranges, outBytes, into);
    return { bytes, generation: first.generation, sizeBytes: first.sizeBytes };
  }

  private fetchRanges(store: ObjectStore, generation: number, ranges: ReadRange[], outBytes: number, into: Uint8Array | undefined): Promise<Uint8Array> {
    return into ? this.readInto(store, generation, ranges, into.subarray(0, outBytes)) : this.fetchInto(store, generation, ranges, outBytes);
  }

  private plan(inode: InodeId, offsetBytes: number, lengthBytes: number, generation: number | undefined): Promise<ReadPlan> {
    return this.call("read_plan", { inode, offsetBytes, lengthBytes, ...(generation === undefined ? {} : { generation }) }) as Promise<ReadPlan>;
  }

  /** Reads every range into one buffer of `outBytes`; bytes no range covers stay zero (holes). */
  private async fetchInto(store: ObjectStore, generation: number, ranges: ReadRange[], outBytes: number): Promise<Uint8Array> {
    const only = ranges.length === 1 ? ranges[0]! : null;
    if (only && only.outputOffset === 0 && only.lengthBytes === outBytes) {
      const { bytes, cached } = await this.fetch(store, generation, only);
      // Bytes the cache keeps must not reach a caller who may write into them.
      return cached ? bytes.slice() : bytes;
    }
    const out = new Uint8Array(outBytes);
    await forEachLimited(ranges, LIMITS.readConcurrencyMax, async (range) => {
      if (range.outputOffset + range.lengthBytes > outBytes) throw new FsError("EPROTO", `read plan range ends at ${range.outputOffset + range.lengthBytes}, past ${outBytes}`);
      out.set((await this.fetch(store, generation, range)).bytes, range.outputOffset);
    });
    return out;
  }

  /** Reads every range into `out` (the caller's buffer, which may hold old bytes: holes are zeroed). */
  private async readInto(store: ObjectStore, generation: number, ranges: ReadRange[], out: Uint8Array): Promise<Uint8Array> {
    zeroGaps(out, ranges);
    await forEachLimited(ranges, LIMITS.readConcurrencyMax, async (range) => {
      if (range.outputOffset + range.lengthBytes > out.byteLength) throw new FsError("EPROTO", `read plan range ends at ${range.outputOffset + range.lengthBytes}, past ${out.byteLength}`);
      await this.readRangeInto(store, generation, range, out.subarray(range.outputOffset, range.outputOffset + range.lengthBytes));
    });
    return out;
  }

  private async readRangeInto(store: ObjectStore, generation: number, range: ReadRange, dest: Uint8Array): Promise<void> {
    const hit = this.data.cache.get(range.key, range.objectOffset, range.lengthBytes);
    if (hit) return dest.set(hit);
    const checksum = range.checksum && this.data.verifyChecksums ? range.checksum : undefined;
    const window = checksum && segmentWindow(checksum);
    // The node cache keeps whole objects, and a range inside its segments is verified with the
    // segments around it: both read more than `dest` holds, so they go the usual way and copy.
    if (this.data.nodeCache() || (window && (window.offsetBytes !== range.objectOffset || window.lengthBytes !== range.lengthBytes))) {
      return dest.set((await this.fetch(store, generation, range)).bytes);
    }
    const read = async () => dest.subarray(0, await withReadRetry(range, generation, () => getInto(store, range.key, { offsetBytes: range.objectOffset, lengthBytes: range.lengthBytes }, dest)));
    if (checksum) {
      await this.readVerified(range.key, checksum, read, (b) => b);
      return;
    }
    const bytes = await read();
    if (bytes.byteLength !== range.lengthBytes) {
      throw new FsError("EIO", `object ${range.key} holds ${bytes.byteLength} bytes at ${range.objectOffset}, its manifest says ${range.lengthBytes}`);
    }
  }

  private async fetch(store: ObjectStore, generation: number, range: ReadRange): Promise<{ bytes: Uint8Array; cached: boolean }> {
    const { cache } = this.data;
    const hit = cache.get(range.key, range.objectOffset, range.lengthBytes);
    if (hit) return { bytes: hit, cached: true };
    const node = this.data.nodeCache();
    if (node) {
      const bytes = await node.read({ ...range, fetchWhole: () => this.fetchWhole(store, generation, range) });
      const cached = cache.accepts(bytes.byteLength);
      if (cached) cache.put(range.key, range.objectOffset, bytes);
      return { bytes, cached };
    }
    if (range.checksum && this.data.verifyChecksums) return this.fetchVerified(store, generation, range);
    const bytes = await getWithRetry(store, range, generation);
    if (bytes.byteLength !== range.lengthBytes) {
      throw new FsError("EIO", `object ${range.key} holds ${bytes.byteLength} bytes at ${range.objectOffset}, its manifest says ${range.lengthBytes}`);
    }
    const cached = cache.accepts(bytes.byteLength);
    if (cached) cache.put(range.key, range.objectOffset, bytes);
    return { bytes, cached };
  }

  /** The whole segments around the range, verified, cached (they are what later reads hit), and the range cut out. */
  private async fetchVerified(store: ObjectStore, generation: number, range: ReadRange): Promise<{ bytes: Uint8Array; cached: boolean }> {
    const checksum = range.checksum!;
    const window = segmentWindow(checksum);
    const read = () => getWithRetry(store, { ...range, objectOffset: window.offsetBytes, lengthBytes: window.lengthBytes }, generation);
    const bytes = await this.readVerified(range.key, checksum, read, (b) => b);
    const { cache } = this.data;
    const cached = cache.accepts(bytes.byteLength);
    if (cached) cache.put(range.key, window.offsetBytes, bytes);
    const from = range.objectOffset - window.offsetBytes;
    return { bytes: bytes.subarray(from, from + range.lengthBytes), cached };
  }

  /**
   * What `read` returns once the segments `windowOf` picks from it pass their CRC-32s; read again on a
   * mismatch (a torn read is not corruption), EIO naming the object after the last attempt.
   */
  private async readVerified(key: string, checksum: RangeChecksum, read: () => Promise<Uint8Array>, windowOf: (bytes: Uint8Array) => Uint8Array): Promise<Uint8Array> {
    const { integrity } = this.data;
    for (let attempt = 1; ; attempt++) {
      const bytes = await read();
      const window = windowOf(bytes);
      const mismatch = verifySegments(checksum, window);
      integrity.segmentsVerified += checksum.crc32.length / 8;
      integrity.bytesVerified += window.byteLength;
      if (!mismatch) {
        if (attempt > 1) integrity.checksumRereadsRecovered++;
        return bytes;
      }
      integrity.checksumMismatches++;
      if (attempt >= LIMITS.checksumReadMaxAttempts) {
        integrity.checksumFailures++;
        throw checksumError(key, mismatch);
      }
    }
  }

  /**
   * The whole object for the node cache, verified: the range's segments by CRC-32 (read again
   * once on a mismatch, like fetchVerified) and the size; the cache verifies the rest as it is read.
   */
  private async fetchWhole(store: ObjectStore, generation: number, range: ReadRange): Promise<Uint8Array> {
    const checksum = range.checksum;
    if (!checksum) {
      // A negative length asks for the whole object: an old body's block, whose size the plan does not carry.
      const whole = await getWithRetry(store, { ...range, objectOffset: 0, lengthBytes: -1 }, generation);
      if (whole.byteLength < range.objectOffset + range.lengthBytes) throw new FsError("EIO", `object ${range.key} holds ${whole.byteLength} bytes, its manifest reads up to ${range.objectOffset + range.lengthBytes}`);
      return whole;
    }
    const window = segmentWindow(checksum);
    const read = () => getWithRetry(store, { ...range, objectOffset: 0, lengthBytes: checksum.objectSizeBytes }, generation);
    // An object of another size than its checksums say fails the check whatever its bytes.
    const windowOf = (whole: Uint8Array) => (whole.byteLength === checksum.objectSizeBytes ? whole.subarray(window.offsetBytes, window.offsetBytes + window.lengthBytes) : whole.subarray(0, 0));
    return this.readVerified(range.key, checksum, read, windowOf);
  }
}

/** The bytes a read returns (clipped at the body's end), within one read's limit and the caller's buffer. */
function checkedOutBytes(sizeBytes: number, offsetBytes: number, lengthBytes: number, into: Uint8Array | undefined): number {
  const outBytes = Math.max(0, Math.min(sizeBytes, offsetBytes + lengthBytes) - offsetBytes);
  if (outBytes > LIMITS.readResultMaxBytes) throw new FsError("EFBIG", `a read of ${outBytes} bytes is over the ${LIMITS.readResultMaxBytes}-byte limit of one read`);
  if (into && into.byteLength < outBytes) throw new FsError("EINVAL", `a buffer of ${into.byteLength} bytes cannot take a read of ${outBytes}`);
  return outBytes;
}

/** Errors a retry cannot fix: a missing block means re-plan, a bad request stays bad. */
const FINAL_CODES = new Set(["ENOENT", "EINVAL", "EACCES", "EPERM"]);

/**
 * One ranged get, tried again with exponential backoff when the store fails in a way that may
 * pass (EIO, timeouts, resets); after the last attempt the reader gets EIO naming the object.
 */
function getWithRetry(store: ObjectStore, range: ReadRange, generation: number): Promise<Uint8Array> {
  return withReadRetry(range, generation, () => store.get(range.key, range.lengthBytes < 0 ? undefined : { offsetBytes: range.objectOffset, lengthBytes: range.lengthBytes }));
}

/** Zeroes the bytes of `out` that no range covers (holes), so a reused buffer shows no old bytes. */
function zeroGaps(out: Uint8Array, ranges: readonly ReadRange[]): void {
  const sorted = [...ranges].sort((a, b) => a.outputOffset - b.outputOffset);
  let at = 0;
  for (const range of sorted) {
    if (range.outputOffset > at) out.fill(0, at, Math.min(range.outputOffset, out.byteLength));
    at = Math.max(at, range.outputOffset + range.lengthBytes);
  }
  if (at < out.byteLength) out.fill(0, at);
}

/** One store read of `range`, retried with backoff on errors a retry can fix; ENOENT is BlockMissing. */
async function withReadRetry<T>(range: ReadRange, generation: number, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      const code = (err as FsError).code;
      if (code === "ENOENT") throw new BlockMissing(generation, range.key);
      if (FINAL_CODES.has(code)) throw err;
      if (attempt >= LIMITS.readRetryMaxAttempts) {
        throw new FsError("EIO", `reading ${range.key} failed ${attempt} times: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, LIMITS.readRetryBackoffMs * 2 ** (attempt - 1)));
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure wins once all settle. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (items.length === 1) return fn(items[0]!);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (next < items.length && !failure) {
      try {
        await fn(items[next++]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}

/**
 * A whole file (readFile): its size comes from `stat`, so a body that moved between the stat and
 * the read makes the read start over from a new stat, never return a size from one generation
 * and bytes from another.
 */
export async function readWhole(stat: () => Promise<InodeAttrs>, reader: BodyReader): Promise<Uint8Array> {
  for (let attempt = 1; ; attempt++) {
    const attrs = await stat();
    if (attrs.type !== "file") throw new FsError(attrs.type === "dir" ? "EISDIR" : "EINVAL", "not a regular file");
    if (attrs.sizeBytes > LIMITS.readResultMaxBytes) throw new FsError("EFBIG", `${attrs.sizeBytes} bytes is over the ${LIMITS.readResultMaxBytes}-byte limit of one read; use createReadStream`);
    try {
      return (await reader.read(attrs.inode, 0, attrs.sizeBytes, { generation: attrs.generation, pinned: true })).bytes;
    } catch (err) {
      if (!isStale(err) || attempt >= LIMITS.readReplanMaxAttempts) throw err;
    }
  }
}
