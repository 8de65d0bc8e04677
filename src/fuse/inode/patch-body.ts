import { FsError, LIMITS, type BlockRef, type BodyManifest, type InodeId, type PreparedPublish } from "../../types/index.ts";
import { addRange, clipRanges, coversSlot, emptyBase, freshBlock, mergeSlot, patchBase, patchManifest, type PatchBase } from "../../sdk/body-patch.ts";
import type { BufferPools } from "./buffer-pool.ts";
import { CleanBlocks } from "./clean-blocks.ts";
import type { PatchIo } from "./source.ts";

// The unpublished state of one file open for writing: the base generation it patches and, per
// block-size slot a write touched, the written bytes and which ranges of the slot they cover.
// A slot whose whole block was written streams out to the object store at once (under the
// prepare of the coming publish) and leaves memory; what the file holds in memory stays under
// LIMITS.fuseOpenFileBufferedMaxBytes. The publish uploads only the touched slots (rebuilding a
// partly written one over the base block's bytes) and shares every other block of the base.
//
// A body that starts empty has no block size yet: its slots are small (fuseWriteBlockBytes) and
// none streams out until its first wide block (fuseWideBlockBytes) is written whole, when they
// merge into wide slots (a copy, a download: reads of it come back at disk speed), or until
// something says the file is not written front to back (a flush, an fsync, a full slot past the
// first wide one: a database), when it keeps small blocks, which make small writes cheap.

interface Slot {
  /** Written bytes at their in-slot offsets (grown as needed, at most one block). */
  bytes: Uint8Array | null;
  /** In-slot ranges of `bytes` that were written: sorted, merged. */
  dirty: Array<[number, number]>;
  /** Bytes under the dirty ranges (the base block, or `uploaded`) read as zeros at or past this in-slot offset. */
  underlyingEndBytes: number;
  /** The slot as streamed out: a fresh block of `prepared`, not yet published. */
  uploaded: BlockRef | null;
  uploading: Promise<void> | null;
}

/** Where the body goes: read from the base generation of `inode`, published under the file's name. */
export interface PatchTarget {
  inode: InodeId;
  /** The file's name now, or null (unlinked while open, O_TMPFILE: nothing can publish). */
  link(): { parent: InodeId; name: string } | null;
  readBase(offsetBytes: number, lengthBytes: number, generation: number): Promise<Uint8Array>;
}

const EMPTY = new Uint8Array(0);
const FIRST_CAPACITY_BYTES = 4096;

export class PatchBody {
  private base: PatchBase;
  private readonly slots = new Map<number, Slot>();
  private prepared: PreparedPublish | null = null;
  /** Base bytes at or past this read as zeros (the file was cut below it since the base). */
  private baseValidBytes: number;
  private streamError: unknown = null;
  /** Blocks streaming out now (each settles without throwing: a failure lands in streamError). */
  private readonly uploads = new Set<Promise<void>>();
  /** Bytes of base blocks this mount built (its own last publish). */
  private readonly cleanBlocks = new CleanBlocks();
  /** Bytes built for the publish in flight, by slot: clean base bytes once it commits. */
  private readonly builtSlots = new Map<number, Uint8Array>();
  /** Bytes of slot buffers in memory; for the memory bound, tests and stats. */
  bufferedBytes = 0;
  /** Bytes of blocks put since the open (streamed and rebuilt): garbage to collect once uploaded. */
  bytesPut = 0;
  sizeBytes: number;
  /** The body started empty and its block size is not chosen yet (see above). */
  private choosingWidth: boolean;

  private constructor(
    private readonly io: PatchIo,
    private readonly target: PatchTarget,
    base: PatchBase,
    /** Whole-block buffers come from here and go back once streamed out: fresh memory costs a page fault per 4 KiB. */
    private readonly buffers: BufferPools,
  ) {
    this.base = base;
    this.sizeBytes = base.sizeBytes;
    this.baseValidBytes = base.sizeBytes;
    this.choosingWidth = base.blocks.size === 0 && base.sizeBytes === 0;
  }

  /** A body that starts empty (new file, O_TRUNC) over `generation`, which it replaces. */
  static empty(io: PatchIo, target: PatchTarget, generation: number, buffers: BufferPools): PatchBody {
    return new PatchBody(io, target, emptyBase(generation, LIMITS.chunkSizeBytes, LIMITS.fuseWriteBlockBytes), buffers);
  }

  /** A body over the file's current generation, its blocks as metad stores them. */
  static async load(io: PatchIo, target: PatchTarget, buffers: BufferPools): Promise<PatchBody> {
    const stored = await io.bodyManifest(target.inode);
    return new PatchBody(io, target, patchBase(stored, LIMITS.chunkSizeBytes, LIMITS.fuseWriteBlockBytes), buffers);
  }

  get generation(): number {
    return this.base.generation;
  }

  get overBudget(): boolean {
    return this.bufferedBytes > LIMITS.fuseOpenFileBufferedMaxBytes;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    const endBytes = offsetBytes + data.byteLength;
    if (endBytes > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `write to ${endBytes} bytes, over the ${LIMITS.fileMaxBytes}-byte file limit`);
    const blockBytes = this.base.blockSizeBytes;
    for (let from = 0; from < data.byteLength; ) {
      const at = offsetBytes + from;
      const index = Math.floor(at / blockBytes);
      const inSlot = at - index * blockBytes;
      const n = Math.min(blockBytes - inSlot, data.byteLength - from);
      const slot = await this.slotFor(index);
      this.grow(slot, inSlot + n);
      slot.bytes!.set(data.subarray(from, from + n), inSlot);
      slot.dirty = addRange(slot.dirty, inSlot, inSlot + n);
      from += n;
      if (!this.choosingWidth && coversSlot(slot.dirty, blockBytes)) await this.streamOut(index, slot);
    }
    this.sizeBytes = Math.max(this.sizeBytes, endBytes);
    if (this.choosingWidth) await this.chooseWidth();
  }

  /** The block size of bodies that started empty: wide once the first wide block is written whole, small when a full slot lies past it. */
  private async chooseWidth(): Promise<void> {
    const slotsPerWide = LIMITS.fuseWideBlockBytes / this.base.blockSizeBytes;
    // A front-to-back writer holds the first wide block's slots and the one its last write spilled
    // into; more is scattered writing, and bounds this check's cost per write.
    let narrow = this.slots.size > slotsPerWide + 1;
    let fullSlots = 0;
    for (const [index, slot] of narrow ? [] : this.slots) {
      if (!coversSlot(slot.dirty, this.base.blockSizeBytes)) continue;
      if (index >= slotsPerWide) narrow = true;
      fullSlots++;
    }
    if (narrow) this.choosingWidth = false;
    else if (fullSlots === slotsPerWide) this.widen();
    else return;
    // Chosen: the full slots held while choosing stream out.
    for (const [index, slot] of this.slots) if (coversSlot(slot.dirty, this.base.blockSizeBytes)) await this.streamOut(index, slot);
  }

  /** Merges the small slots (none streamed out yet, nothing published) into wide ones. */
  private widen(): void {
    const narrowBytes = this.base.blockSizeBytes;
    const narrow = [...this.slots];
    this.slots.clear();
    this.base = { ...this.base, blockSizeBytes: LIMITS.fuseWideBlockBytes };
    this.choosingWidth = false;
    for (const [index, slot] of narrow) {
      const at = index * narrowBytes;
      const wide = this.slotAt(Math.floor(at / LIMITS.fuseWideBlockBytes));
      const inWide = at % LIMITS.fuseWideBlockBytes;
      if (slot.bytes) {
        this.grow(wide, inWide + slot.bytes.byteLength);
        wide.bytes!.set(slot.bytes, inWide);
      }
      for (const [from, to] of slot.dirty) wide.dirty = addRange(wide.dirty, inWide + from, inWide + to);
      // Its bytes stay with the old slot too: a read that began before the merge still uses it.
      this.bufferedBytes -= slot.bytes?.byteLength ?? 0;
    }
  }

  /** Bytes [offset, offset + length) clipped at the end; holes read as zeros. */
  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    const endBytes = Math.min(this.sizeBytes, offsetBytes + lengthBytes);
    if (endBytes <= offsetBytes) return EMPTY;
    const out = new Uint8Array(endBytes - offsetBytes);
    // The slots as they are now: a write meanwhile may merge them into wide ones (see widen).
    const blockBytes = this.base.blockSizeBytes;
    const touched: Array<[number, Slot]> = [];
    for (let index = Math.floor(offsetBytes / blockBytes); index * blockBytes < endBytes; index++) {
      const slot = this.slots.get(index);
      if (slot) touched.push([index * blockBytes, slot]);
    }
    const baseEndBytes = Math.min(endBytes, this.baseValidBytes, this.base.sizeBytes);
    if (baseEndBytes > offsetBytes) out.set(this.cleanBlocks.range(offsetBytes, baseEndBytes, blockBytes) ?? (await this.target.readBase(offsetBytes, baseEndBytes - offsetBytes, this.base.generation)));
    for (const [slotStart, slot] of touched) await this.overlay(out, offsetBytes, slotStart, blockBytes, slot);
    return out;
  }

  /** Lays the bytes of the slot at `slotStart` over `out` (which starts at file offset `outStart` and holds the base's). */
  private async overlay(out: Uint8Array, outStart: number, slotStart: number, blockBytes: number, slot: Slot): Promise<void> {
    if (slot.uploading) await slot.uploading.catch(() => undefined);
    const place = (bytes: Uint8Array, from: number, to: number) => {
      const a = Math.max(slotStart + from, outStart);
      const b = Math.min(slotStart + to, outStart + out.byteLength);
      if (b > a) out.set(bytes.subarray(a - slotStart, b - slotStart), a - outStart);
    };
    const zeroFrom = Math.max(slotStart + slot.underlyingEndBytes, outStart) - outStart;
    if (zeroFrom < out.byteLength) out.fill(0, zeroFrom, Math.min(out.byteLength, slotStart + blockBytes - outStart));
    if (slot.uploaded) {
      const bytes = await this.io.getBlock(slot.uploaded.key, slot.uploaded.lengthBytes);
      place(bytes, 0, Math.min(slot.underlyingEndBytes, bytes.byteLength));
    }
    for (const [from, to] of slot.dirty) place(slot.bytes!, from, to);
  }

  /** The file cut (or grown with zeros) to `sizeBytes`. */
  async truncate(sizeBytes: number): Promise<void> {
    if (sizeBytes > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `truncate to ${sizeBytes} bytes, over the ${LIMITS.fileMaxBytes}-byte file limit`);
    const blockBytes = this.base.blockSizeBytes;
    for (const [index, slot] of this.slots) {
      if (slot.uploading) await slot.uploading.catch(() => undefined);
      const inSlot = sizeBytes - index * blockBytes;
      if (inSlot <= 0) this.dropSlot(index, slot);
      else if (inSlot < blockBytes) {
        slot.dirty = clipRanges(slot.dirty, inSlot);
        slot.underlyingEndBytes = Math.min(slot.underlyingEndBytes, inSlot);
        slot.bytes?.fill(0, Math.min(inSlot, slot.bytes.byteLength));
      }
    }
    this.baseValidBytes = Math.min(this.baseValidBytes, sizeBytes);
    this.sizeBytes = sizeBytes;
  }

  /**
   * Uploads what the publish needs (touched slots not streamed out yet) and returns the manifest
   * of the new generation, with the prepare it was uploaded under.
   */
  async prepareManifest(): Promise<{ prepared: PreparedPublish; manifest: BodyManifest; sharesBase: boolean }> {
    // Flushed before its first wide block was written whole: small blocks for good.
    this.choosingWidth = false;
    await this.drain();
    this.builtSlots.clear();
    const prepared = await this.preparedFor();
    const replaced = new Map<number, BlockRef | null>();
    const work = [...this.slots].filter(([index]) => index * this.base.blockSizeBytes < this.sizeBytes);
    await runLimited(work, this.uploadsMax(), async ([index, slot]) => replaced.set(index, await this.rebuilt(prepared, index, slot)));
    const manifest = patchManifest(this.base, { sizeBytes: this.sizeBytes, baseValidBytes: this.baseValidBytes, replaced, producer: "nokv-fuse" });
    const fresh = prepared.keyPrefix + "/";
    const sharesBase = manifest.chunks.some((chunk) => chunk.blocks.some((block) => !block.key.startsWith(fresh)));
    return { prepared, manifest, sharesBase };
  }

  /**
   * The publish of `manifest` committed as `generation`: it is the base now, and nothing is
   * dirty. `next`: the prepare metad made alongside for the next publish.
   */
  published(manifest: BodyManifest, generation: number, next: PreparedPublish | null): void {
    this.base = patchBase({ generation, sizeBytes: manifest.summary.sizeBytes, summary: manifest.summary, chunks: manifest.chunks }, LIMITS.chunkSizeBytes, this.base.blockSizeBytes);
    for (const [index, slot] of this.slots) {
      this.dropSlot(index, slot);
      this.cleanBlocks.forget(index);
    }
    for (const [index, bytes] of this.builtSlots) this.cleanBlocks.remember(index, bytes);
    this.builtSlots.clear();
    this.baseValidBytes = this.sizeBytes = manifest.summary.sizeBytes;
    this.prepared = next;
  }

  /**
   * Bytes of the body that no block will hold once it is published (holes read as zeros): every
   * touched slot becomes one block, every other base block stays, cut where the file was cut.
   */
  holeBytes(): number {
    const blockBytes = this.base.blockSizeBytes;
    const keepBelow = Math.min(this.sizeBytes, this.baseValidBytes);
    let heldBytes = 0;
    for (const [index, slot] of this.slots) heldBytes += this.heldBytes(index, slot);
    for (const [index, block] of this.base.blocks) {
      if (!this.slots.has(index)) heldBytes += Math.max(0, Math.min(block.lengthBytes, keepBelow - index * blockBytes));
    }
    return Math.max(0, this.sizeBytes - heldBytes);
  }

  /**
   * The whole body, when nothing changed since this mount's own last publish and it still has
   * the bytes of every block (small files); else null.
   */
  publishedBytes(): Uint8Array | null {
    if (this.slots.size > 0 || this.sizeBytes === 0 || this.baseValidBytes < this.sizeBytes) return null;
    return this.cleanBlocks.range(0, this.sizeBytes, this.base.blockSizeBytes);
  }

  /** Someone else published a new body meanwhile: ours will publish over `generation` (no block shared). */
  rebase(generation: number): void {
    this.base = { ...this.base, generation };
    this.forgetClean();
  }

  private forgetClean(): void {
    this.cleanBlocks.clear();
    this.builtSlots.clear();
  }

  /**
   * Slot `index`'s block for the publish: the streamed one if it still holds the slot, else
   * rebuilt and put; null when the slot holds no bytes now. A block ends where the slot's bytes
   * do: zeros past them (a write far past the end, a truncate that grew the file) are a hole.
   */
  private async rebuilt(prepared: PreparedPublish, index: number, slot: Slot): Promise<BlockRef | null> {
    const lengthBytes = this.heldBytes(index, slot);
    if (lengthBytes === 0) return null;
    if (slot.uploaded && slot.dirty.length === 0 && slot.underlyingEndBytes >= lengthBytes && slot.uploaded.lengthBytes === lengthBytes) return slot.uploaded;
    const bytes = mergeSlot(lengthBytes, slot.bytes ?? EMPTY, slot.dirty, coversSlot(slot.dirty, lengthBytes) ? null : await this.underlying(index, slot, lengthBytes));
    const block = freshBlock(prepared, this.base.blockSizeBytes, index, bytes);
    await this.io.putBlock(block.key, bytes);
    this.bytesPut += bytes.byteLength;
    this.builtSlots.set(index, bytes);
    return block;
  }

  /** Bytes the published block of slot `index` will hold: up to the last written or underlying byte, within the size. */
  private heldBytes(index: number, slot: Slot): number {
    const writtenEnd = slot.dirty.length > 0 ? slot.dirty[slot.dirty.length - 1]![1] : 0;
    const underlyingBlockBytes = slot.uploaded ? slot.uploaded.lengthBytes : (this.base.blocks.get(index)?.lengthBytes ?? 0);
    const dataEnd = Math.max(writtenEnd, Math.min(slot.underlyingEndBytes, underlyingBlockBytes));
    return Math.max(0, Math.min(this.base.blockSizeBytes, this.sizeBytes - index * this.base.blockSizeBytes, dataEnd));
  }

  /** The bytes under slot `index`'s dirty ranges: its streamed block, or the base's bytes. */
  private async underlying(index: number, slot: Slot, lengthBytes: number): Promise<Uint8Array | null> {
    const n = Math.min(lengthBytes, slot.underlyingEndBytes);
    if (n <= 0) return null;
    if (slot.uploaded) return await this.io.getBlock(slot.uploaded.key, Math.min(n, slot.uploaded.lengthBytes));
    const slotStart = index * this.base.blockSizeBytes;
    const baseEnd = Math.min(slotStart + n, this.base.sizeBytes, this.baseValidBytes);
    if (!this.base.blocks.has(index) || baseEnd <= slotStart) return null;
    const clean = this.cleanBlocks.get(index);
    if (clean && clean.byteLength >= baseEnd - slotStart) return clean.subarray(0, baseEnd - slotStart);
    return await this.target.readBase(slotStart, baseEnd - slotStart, this.base.generation);
  }

  /** Waits for every block streaming out; a failed one stays in memory for the publish to put. */
  async drain(): Promise<void> {
    await Promise.all(this.uploads);
    this.streamError = null;
  }

  /** Frees every buffer; the body must not be used after. */
  dispose(): void {
    for (const [index, slot] of this.slots) this.dropSlot(index, slot);
    this.forgetClean();
  }

  /** A whole block was written: put it now under the coming publish's prepare, and free its bytes. */
  private async streamOut(index: number, slot: Slot): Promise<void> {
    if (this.streamError !== null) return;
    while (this.uploads.size >= this.uploadsMax()) await Promise.race(this.uploads);
    const prepared = await this.preparedFor().catch((err: unknown) => void (this.streamError = err));
    if (!prepared || slot.uploading || !coversSlot(slot.dirty, this.base.blockSizeBytes)) return;
    const bytes = slot.bytes!;
    const block = freshBlock(prepared, this.base.blockSizeBytes, index, bytes);
    slot.uploading = this.io
      .putBlock(block.key, bytes)
      .then(() => {
        this.bytesPut += bytes.byteLength;
        slot.uploaded = block;
        slot.underlyingEndBytes = block.lengthBytes;
        slot.dirty = [];
        slot.uploading = null;
        this.free(slot);
      })
      .catch((err: unknown) => void (this.streamError = err))
      .finally(() => {
        slot.uploading = null;
        this.uploads.delete(upload);
      });
    const upload = slot.uploading;
    this.uploads.add(upload);
  }

  /** Blocks put at once: fuseBlockUploadsMax, fewer when they are wide. */
  private uploadsMax(): number {
    return Math.max(1, Math.min(LIMITS.fuseBlockUploadsMax, Math.floor(LIMITS.fuseBlockUploadsMaxBytes / this.base.blockSizeBytes)));
  }

  /**
   * The prepare of the coming publish (made once per publish). A file with no name (unlinked
   * while open, O_TMPFILE) streams out under a prepare by inode, so it too stays within its
   * memory bound; it publishes once a link names it again.
   */
  private async preparedFor(): Promise<PreparedPublish> {
    // A prepare about to expire is dropped unless streamed blocks already wait under it.
    const streamed = [...this.slots.values()].some((slot) => slot.uploaded !== null);
    if (this.prepared && !streamed && Date.now() + LIMITS.fusePreparedMarginMs >= this.prepared.expiresAtMs) this.prepared = null;
    this.prepared ??= await this.io.prepare(this.target.link(), this.target.inode);
    return this.prepared;
  }

  private async slotFor(index: number): Promise<Slot> {
    let slot = this.slots.get(index);
    if (slot?.uploading) await slot.uploading.catch(() => undefined);
    return this.slots.get(index) ?? this.slotAt(index);
  }

  /** The slot at `index`, made (empty) when there is none. */
  private slotAt(index: number): Slot {
    const existing = this.slots.get(index);
    if (existing) return existing;
    const slotStart = index * this.base.blockSizeBytes;
    const underlyingEndBytes = Math.max(0, Math.min(this.base.blockSizeBytes, Math.min(this.baseValidBytes, this.base.sizeBytes) - slotStart));
    const slot: Slot = { bytes: null, dirty: [], underlyingEndBytes, uploaded: null, uploading: null };
    this.slots.set(index, slot);
    return slot;
  }

  /** Room in `slot.bytes` for `neededBytes`, grown by doubling up to one block. */
  private grow(slot: Slot, neededBytes: number): void {
    const had = slot.bytes?.byteLength ?? 0;
    if (had >= neededBytes) return;
    // A write of a small block's worth or more is a writer filling the slot: no doubling copies.
    let capacity = neededBytes >= LIMITS.fuseWriteBlockBytes ? this.base.blockSizeBytes : Math.max(FIRST_CAPACITY_BYTES, had);
    while (capacity < neededBytes) capacity *= 2;
    // Only bytes under the dirty ranges are ever read, so a reused buffer's old contents do no harm.
    const grown = this.buffers.acquire(Math.min(this.base.blockSizeBytes, capacity));
    if (slot.bytes) grown.set(slot.bytes);
    slot.bytes = grown;
    this.bufferedBytes += grown.byteLength - had;
  }

  /** Frees a slot's bytes; they are reused once nothing is dirty in them and no put reads them. */
  private free(slot: Slot): void {
    if (!slot.bytes) return;
    this.bufferedBytes -= slot.bytes.byteLength;
    if (slot.dirty.length === 0 && slot.uploading === null) this.buffers.release(slot.bytes);
    slot.bytes = null;
  }

  private dropSlot(index: number, slot: Slot): void {
    // A read that began before the drop finds nothing of it left to lay over the base.
    slot.dirty = [];
    this.free(slot);
    this.slots.delete(index);
  }
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure fails the whole. */
async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
