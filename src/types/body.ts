import { narrowChecksum, rangeChecksum, type BlockChecksum, type RangeChecksum } from "./checksum.ts";
import type { InodeId, MountId } from "./ids.ts";

/**
 * A file body is chunks of `chunkSizeBytes` logical bytes; each chunk lists the immutable object
 * blocks that hold its bytes. Bytes no block covers read as zeros (a truncate-extend hole).
 */
export interface BodySummary {
  sizeBytes: number;
  chunkSizeBytes: number;
  blockSizeBytes: number;
  chunkCount: number;
  /** Content digest as the producer computed it ("sha256:<hex>"), or "" when none was given. */
  digest: string;
  producer: string;
  contentType: string;
}

/** One immutable object holding bytes [offsetInChunk, offsetInChunk + lengthBytes) of a chunk. */
export interface BlockRef {
  key: string;
  offsetInChunk: number;
  lengthBytes: number;
  /** Where the bytes start inside the object (non-zero after a truncate reuses a block's head). */
  objectOffset: number;
  /**
   * CRC-32 per segment of the whole object, computed by the uploader before its put. Every
   * publish carries it; only bodies published before checksums existed lack it.
   */
  checksum?: BlockChecksum;
}

export interface ChunkManifest {
  chunkIndex: number;
  blocks: BlockRef[];
}

/** What a publish sends: the body summary and every chunk's blocks. */
export interface BodyManifest {
  summary: BodySummary;
  chunks: ChunkManifest[];
}

/** One direct read: `lengthBytes` from object `key` at `objectOffset` land at `outputOffset`. */
export interface ReadRange {
  key: string;
  objectOffset: number;
  lengthBytes: number;
  outputOffset: number;
  /** The checksums of the segments around the range: the reader fetches and verifies those whole. */
  checksum?: RangeChecksum;
}

/** The read range of `lengthBytes` at `objectOffset` of a block, with the checksums that cover it. */
export function planRange(block: BlockRef, objectOffset: number, lengthBytes: number, outputOffset: number): ReadRange {
  const range: ReadRange = { key: block.key, objectOffset, lengthBytes, outputOffset };
  if (block.checksum) range.checksum = rangeChecksum(block.checksum, objectOffset, lengthBytes);
  return range;
}

/**
 * The part of `range` (output offsets of one read) inside output bytes [fromBytes, toBytes), with
 * its output offset counted from `fromBytes` and only the checksums of the segments it touches;
 * null when they do not meet.
 */
export function cutRange(range: ReadRange, fromBytes: number, toBytes: number): ReadRange | null {
  const start = Math.max(range.outputOffset, fromBytes);
  const end = Math.min(range.outputOffset + range.lengthBytes, toBytes);
  if (end <= start) return null;
  const objectOffset = range.objectOffset + (start - range.outputOffset);
  const out: ReadRange = { key: range.key, objectOffset, lengthBytes: end - start, outputOffset: start - fromBytes };
  if (range.checksum) out.checksum = narrowChecksum(range.checksum, objectOffset, end - start);
  return out;
}

export interface ReadPlan {
  inode: InodeId;
  generation: number;
  sizeBytes: number;
  /** Ranges in output order; gaps between them are holes that read as zeros. */
  ranges: ReadRange[];
  /** Total bytes this plan covers (offset clipped to the body size). */
  lengthBytes: number;
  /** Set when the plan stopped early (readPlanMaxRanges): plan again from this offset for the rest. */
  nextOffsetBytes?: number;
}

/** Result of prepare: where a writer uploads blocks before it publishes. */
export interface PreparedPublish {
  prepareId: string;
  mount: MountId;
  inode: InodeId;
  generation: number;
  blockSizeBytes: number;
  chunkSizeBytes: number;
  /** Block keys are `${keyPrefix}/<chunk>/<block>`. */
  keyPrefix: string;
  expiresAtMs: number;
}

export function blockKey(prefix: string, chunkIndex: number, blockIndex: number): string {
  return `${prefix}/${chunkIndex}/${blockIndex}`;
}

export function bodyKeyPrefix(mount: MountId, inode: InodeId, generation: number): string {
  return `blocks/${mount}/${inode}/${generation}`;
}
