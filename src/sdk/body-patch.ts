import { FsError, blockChecksum, blockKey, segmentSizeFor, type BlockRef, type BodyManifest, type BodySummary, type ChunkManifest, type PreparedPublish } from "../types/index.ts";

// A body patch: the new manifest of a file of which only some byte ranges changed. The body is
// cut into block-size slots; a slot no write touched keeps the base generation's block as it is
// (shared, not copied), a touched slot is rebuilt (the base block's bytes under the dirty ranges,
// one read per block) and uploaded as a fresh block of the patch's prepare. metad accepts such a
// manifest as a patch publish of the base generation (see service/manifest-check.ts).

/** The base generation as a patch sees it: its blocks by slot (offset / blockSizeBytes). */
export interface PatchBase {
  generation: number;
  sizeBytes: number;
  blockSizeBytes: number;
  chunkSizeBytes: number;
  blocks: Map<number, BlockRef>;
}

/** What metad's body_manifest answers. */
export interface StoredBodyManifest {
  generation: number;
  sizeBytes: number;
  summary: BodySummary | null;
  chunks: ChunkManifest[];
}

/** The base a patch starts from; a body without blocks takes `blockSizeBytes` for its new ones. */
export function patchBase(stored: StoredBodyManifest, chunkSizeBytes: number, blockSizeBytes: number): PatchBase {
  const blockSize = stored.chunks.length > 0 && stored.summary ? stored.summary.blockSizeBytes : blockSizeBytes;
  const blocks = new Map<number, BlockRef>();
  for (const chunk of stored.chunks) {
    for (const block of chunk.blocks) {
      const at = chunk.chunkIndex * chunkSizeBytes + block.offsetInChunk;
      if (at % blockSize !== 0) throw new FsError("EPROTO", `block ${block.key} at ${at} is not on a ${blockSize}-byte slot`);
      blocks.set(at / blockSize, block);
    }
  }
  return { generation: stored.generation, sizeBytes: stored.sizeBytes, blockSizeBytes: blockSize, chunkSizeBytes, blocks };
}

/** An empty base (a file written from scratch: new, or opened with O_TRUNC) at `generation`. */
export function emptyBase(generation: number, chunkSizeBytes: number, blockSizeBytes: number): PatchBase {
  return { generation, sizeBytes: 0, blockSizeBytes, chunkSizeBytes, blocks: new Map() };
}

export interface PatchShape {
  sizeBytes: number;
  /** Base bytes at or past this offset read as zeros (the file was truncated below it since the base). */
  baseValidBytes: number;
  /** Rebuilt slots and their new blocks; null: the slot is a hole now. */
  replaced: ReadonlyMap<number, BlockRef | null>;
  producer: string;
}

/**
 * The patch's manifest: base blocks kept (cut at the base's valid end and the new size), replaced
 * slots taking their new blocks, in slot order so the blocks tile the body (holes read as zeros).
 */
export function patchManifest(base: PatchBase, shape: PatchShape): BodyManifest {
  const { blockSizeBytes, chunkSizeBytes } = base;
  const { sizeBytes } = shape;
  const keepBelow = Math.min(sizeBytes, shape.baseValidBytes);
  const slots = new Set<number>([...base.blocks.keys(), ...shape.replaced.keys()]);
  const chunks: ChunkManifest[] = [];
  for (const slot of [...slots].sort((a, b) => a - b)) {
    const slotStart = slot * blockSizeBytes;
    let block: BlockRef | null | undefined = shape.replaced.get(slot);
    if (block === undefined) {
      const kept = base.blocks.get(slot)!;
      const lengthBytes = Math.min(kept.lengthBytes, keepBelow - slotStart);
      block = lengthBytes > 0 ? { ...kept, lengthBytes } : null;
    }
    if (!block || slotStart >= sizeBytes) continue;
    const chunkIndex = Math.floor(slotStart / chunkSizeBytes);
    const last = chunks[chunks.length - 1];
    if (last?.chunkIndex === chunkIndex) last.blocks.push(block);
    else chunks.push({ chunkIndex, blocks: [block] });
  }
  const summary: BodySummary = {
    sizeBytes, chunkSizeBytes, blockSizeBytes, chunkCount: Math.ceil(sizeBytes / chunkSizeBytes), digest: "", producer: shape.producer, contentType: "",
  };
  return { summary, chunks };
}

/** A slot's new bytes: `dirty` ranges (in-slot [from, to)) from `bytes`, the rest from `underlying`. */
export function mergeSlot(lengthBytes: number, bytes: Uint8Array, dirty: ReadonlyArray<readonly [number, number]>, underlying: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(lengthBytes);
  if (underlying) out.set(underlying.subarray(0, Math.min(lengthBytes, underlying.byteLength)));
  for (const [from, to] of dirty) {
    const end = Math.min(to, lengthBytes);
    if (end > from) out.set(bytes.subarray(from, end), from);
  }
  return out;
}

/** True when `dirty` (sorted, merged) covers [0, lengthBytes): the slot needs no underlying bytes. */
export function coversSlot(dirty: ReadonlyArray<readonly [number, number]>, lengthBytes: number): boolean {
  return dirty.length === 1 && dirty[0]![0] === 0 && dirty[0]![1] >= lengthBytes;
}

/** `ranges` with [from, to) added, kept sorted and merged. */
export function addRange(ranges: Array<[number, number]>, from: number, to: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let a = from;
  let b = to;
  for (const [x, y] of ranges) {
    if (y < a || x > b) out.push([x, y]);
    else {
      a = Math.min(a, x);
      b = Math.max(b, y);
    }
  }
  out.push([a, b]);
  return out.sort((p, q) => p[0] - q[0]);
}

/** `ranges` cut to end at `endBytes`. */
export function clipRanges(ranges: Array<[number, number]>, endBytes: number): Array<[number, number]> {
  return ranges.filter(([from]) => from < endBytes).map(([from, to]) => [from, Math.min(to, endBytes)] as [number, number]);
}

/** The block ref of `bytes` uploaded as slot `slot` of `prepared`'s generation (before its put: checksums from these very bytes). */
export function freshBlock(prepared: PreparedPublish, blockSizeBytes: number, slot: number, bytes: Uint8Array): BlockRef {
  const slotStart = slot * blockSizeBytes;
  const chunkIndex = Math.floor(slotStart / prepared.chunkSizeBytes);
  const offsetInChunk = slotStart - chunkIndex * prepared.chunkSizeBytes;
  return {
    key: blockKey(prepared.keyPrefix, chunkIndex, offsetInChunk / blockSizeBytes),
    offsetInChunk,
    lengthBytes: bytes.byteLength,
    objectOffset: 0,
    checksum: blockChecksum(bytes, segmentSizeFor(blockSizeBytes)),
  };
}
