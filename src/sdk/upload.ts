import { createHash } from "node:crypto";
import type { ObjectStore } from "../objstore/index.ts";
import { FsError, LIMITS, blockChecksum, blockKey, segmentSizeFor, type BlockChecksum, type BodyManifest, type ChunkManifest, type PreparedPublish } from "../types/index.ts";
import { sourceSizeBytes, splitBlocks, type BodySource } from "./blocks.ts";

// The upload half of a publish: blocks go straight to the object store, several at once, while
// the digest is computed over the bytes in order. Each block's segment checksums are computed
// from the very bytes handed to the put, before it starts, and go into the manifest for every
// reader to verify. Nothing here is visible to anyone until the publish commits the manifest.

export interface PublishProgress {
  bytesUploaded: number;
  /** Known up front for bytes, strings and Blobs; undefined for streams. */
  totalBytes?: number;
}

export interface UploadOptions {
  /** Blocks uploading at once (1..LIMITS.uploadConcurrencyMax, default uploadConcurrencyDefault). */
  concurrency?: number;
  contentType?: string;
  producer?: string;
  /**
   * Compute the body's sha256 while uploading (default true). It is the one sequential pass over
   * the bytes (~1.8 GB/s a core): a producer that keeps its own digest can turn it off, and the
   * summary's digest is then "".
   */
  digest?: boolean;
  onProgress?: (progress: PublishProgress) => void;
  /**
   * How a block's checksums are made (default: CRC-32 of its bytes, computed here). For a
   * producer that already holds them for these exact bytes; bench/ uses it to measure their cost.
   */
  checksumOf?: (block: Uint8Array, segmentSizeBytes: number) => BlockChecksum;
  /** Told how many blocks a failed upload deleted again. */
  onCleanup?: (blocksDeleted: number) => void;
}

export const DEFAULT_PRODUCER = "nokv-sdk";
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

export function checkConcurrency(concurrency: number | undefined): number {
  const value = concurrency ?? LIMITS.uploadConcurrencyDefault;
  if (!Number.isInteger(value) || value < 1 || value > LIMITS.uploadConcurrencyMax) {
    throw new FsError("EINVAL", `upload concurrency must be 1..${LIMITS.uploadConcurrencyMax}, got ${value}`);
  }
  return value;
}

/**
 * Uploads `source` as the blocks of `prepared` and returns the manifest to publish. Holds at most
 * `concurrency` blocks in flight plus the one being filled. On the first failed upload (or a
 * failed source) it stops reading the source, waits for the uploads in flight, deletes the blocks
 * already put (best effort: what a delete misses, metad's GC removes once the prepare expires)
 * and throws that failure.
 */
export async function uploadBody(store: ObjectStore, prepared: PreparedPublish, source: BodySource, options: UploadOptions = {}): Promise<BodyManifest> {
  const concurrency = checkConcurrency(options.concurrency);
  const { blockSizeBytes, chunkSizeBytes, keyPrefix } = prepared;
  if (!(blockSizeBytes > 0 && chunkSizeBytes % blockSizeBytes === 0)) {
    throw new FsError("EPROTO", `prepare answered block size ${blockSizeBytes} for chunks of ${chunkSizeBytes}`);
  }
  const totalBytes = sourceSizeBytes(source);
  if (totalBytes !== undefined && totalBytes > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `${totalBytes} bytes is over the ${LIMITS.fileMaxBytes}-byte file limit`);
  const hash = options.digest === false ? null : createHash("sha256");
  const segmentSizeBytes = segmentSizeFor(blockSizeBytes);
  const chunks: ChunkManifest[] = [];
  const putKeys: string[] = [];
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  let sizeBytes = 0;
  let bytesUploaded = 0;
  const uploaded = (n: number) => {
    bytesUploaded += n;
    options.onProgress?.(totalBytes === undefined ? { bytesUploaded } : { bytesUploaded, totalBytes });
  };
  try {
    for await (const block of splitBlocks(source, blockSizeBytes)) {
      while (running.size >= concurrency && !failure) await Promise.race(running);
      if (failure) break;
      if (sizeBytes + block.byteLength > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `source is over the ${LIMITS.fileMaxBytes}-byte file limit`);
      const chunkIndex = Math.floor(sizeBytes / chunkSizeBytes);
      const offsetInChunk = sizeBytes % chunkSizeBytes;
      const key = blockKey(keyPrefix, chunkIndex, offsetInChunk / blockSizeBytes);
      const checksum = (options.checksumOf ?? blockChecksum)(block, segmentSizeBytes);
      (chunks[chunkIndex] ??= { chunkIndex, blocks: [] }).blocks.push({ key, offsetInChunk, lengthBytes: block.byteLength, objectOffset: 0, checksum });
      sizeBytes += block.byteLength;
      // Recorded before the put: a put that fails may still have left the object behind.
      putKeys.push(key);
      const upload: Promise<void> = store.put(key, block)
        .then(() => uploaded(block.byteLength))
        .catch((error: unknown) => void (failure ??= { error }))
        .finally(() => running.delete(upload));
      running.add(upload);
      // Hashed while its upload runs on another thread: the digest is the one sequential pass.
      hash?.update(block);
    }
  } catch (err) {
    failure ??= { error: err };
  } finally {
    // Also when the source itself failed: no upload may outlive the publish call.
    await Promise.all(running);
  }
  if (failure) {
    options.onCleanup?.(await deleteUploaded(store, putKeys));
    throw (failure as { error: unknown }).error;
  }
  return {
    summary: {
      sizeBytes,
      chunkSizeBytes,
      blockSizeBytes,
      chunkCount: chunks.length,
      digest: hash ? `sha256:${hash.digest("hex")}` : "",
      producer: options.producer ?? DEFAULT_PRODUCER,
      contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
    },
    chunks,
  };
}

/** Best effort; returns how many deletes succeeded. A block a delete misses stays until GC collects the expired prepare. */
export async function deleteUploaded(store: ObjectStore, keys: readonly string[]): Promise<number> {
  let next = 0;
  let deleted = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await store.delete(key).then(() => deleted++, () => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIMITS.uploadCleanupConcurrency, keys.length) }, worker));
  return deleted;
}
