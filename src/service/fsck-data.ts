import { LIMITS, checksumError, rangeChecksum, segmentCount, verifySegments, type BlockChecksum } from "../types/index.ts";
import type { FsckObjectSource, FsckProgress, ViolationSink } from "./fsck.ts";

// fsck --verify-data: every referenced block is read whole and checked against the CRC-32s its
// uploader stored. Each bad block is reported by key with the segment that fails; a block of the
// wrong size is reported by the object listing (block-short, block-replaced) even without this.

export interface VerifyCounts {
  blocksVerified: number;
  bytesVerified: number;
  /** Blocks published before checksums existed: their bytes cannot be checked. */
  blocksWithoutChecksum: number;
}

export async function verifyData(
  checksums: ReadonlyMap<string, BlockChecksum | null>,
  source: FsckObjectSource,
  sink: ViolationSink,
  onProgress?: (progress: FsckProgress) => void,
): Promise<VerifyCounts> {
  const read = source.readObject?.bind(source);
  const counts: VerifyCounts = { blocksVerified: 0, bytesVerified: 0, blocksWithoutChecksum: 0 };
  if (!read) return counts;
  const work: Array<[string, BlockChecksum]> = [];
  for (const [key, checksum] of checksums) {
    if (checksum) work.push([key, checksum]);
    else counts.blocksWithoutChecksum++;
  }
  const totalBytes = work.reduce((n, [, c]) => n + c.objectSizeBytes, 0);
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const [key, checksum] = work[next++]!;
      const bytes = await read(key).catch((err: Error) => err);
      if (bytes instanceof Error) {
        // Missing objects are already reported by the listing; anything else is a read failure.
        if ((bytes as { code?: string }).code !== "ENOENT") sink.add("block-unreadable", `block '${key}' cannot be read: ${bytes.message}`, { objectKey: key });
      } else {
        checkBlock(key, checksum, bytes, sink);
        counts.bytesVerified += bytes.byteLength;
      }
      counts.blocksVerified++;
      onProgress?.({ blocksVerified: counts.blocksVerified, blocksTotal: work.length, bytesVerified: counts.bytesVerified, bytesTotal: totalBytes });
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIMITS.fsckVerifyConcurrency, work.length) }, worker));
  return counts;
}

function checkBlock(key: string, checksum: BlockChecksum, bytes: Uint8Array, sink: ViolationSink): void {
  // A wrong size is reported by the listing's head check (block-short, block-replaced); here the
  // bytes the checksums cover are checked, as far as the object still has them.
  const presentBytes = Math.min(bytes.byteLength, checksum.objectSizeBytes);
  const wholeSegments = presentBytes === checksum.objectSizeBytes ? segmentCount(checksum) : Math.floor(presentBytes / checksum.segmentSizeBytes);
  if (wholeSegments === 0) return;
  const covered = rangeChecksum(checksum, 0, Math.min(presentBytes, wholeSegments * checksum.segmentSizeBytes));
  const mismatch = verifySegments(covered, bytes.subarray(0, Math.min(presentBytes, wholeSegments * checksum.segmentSizeBytes)));
  if (mismatch) sink.add("block-corrupt", checksumError(key, mismatch).detail, { objectKey: key, segment: mismatch.segment });
}
