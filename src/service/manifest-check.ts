import { FsError, LIMITS, type BodyManifest } from "../types/index.ts";

// A publish is checked before it commits: a manifest from a client is input from outside, and a
// wrong one would publish a body that reads garbage or references another file's blocks.

export function validateManifest(manifest: BodyManifest, keyPrefix: string): void {
  const bad = (detail: string): never => {
    throw new FsError("EINVAL", `manifest: ${detail}`);
  };
  if (typeof manifest !== "object" || manifest === null) bad("missing");
  const { summary, chunks } = manifest;
  if (typeof summary !== "object" || summary === null || !Array.isArray(chunks)) bad("needs summary and chunks");
  const { sizeBytes, chunkSizeBytes } = summary;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) bad(`size ${sizeBytes} is not a byte count`);
  if (sizeBytes > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `manifest: size ${sizeBytes} over ${LIMITS.fileMaxBytes}`);
  if (chunkSizeBytes !== LIMITS.chunkSizeBytes) bad(`chunk size ${chunkSizeBytes}, expected ${LIMITS.chunkSizeBytes}`);
  const chunkCount = Math.ceil(sizeBytes / chunkSizeBytes);
  if (summary.chunkCount !== chunkCount) bad(`chunk count ${summary.chunkCount}, size needs ${chunkCount}`);
  for (const field of ["digest", "producer", "contentType"] as const) {
    if (typeof summary[field] !== "string" || summary[field].length > 1024) bad(`${field} must be a string of at most 1024 chars`);
  }
  if (chunks.length !== chunkCount) bad(`${chunks.length} chunks listed, size needs ${chunkCount}`);
  let covered = 0;
  chunks.forEach((chunk, i) => {
    if (chunk?.chunkIndex !== i || !Array.isArray(chunk.blocks)) bad(`chunk ${i} out of order or without blocks`);
    const chunkBytes = Math.min(chunkSizeBytes, sizeBytes - i * chunkSizeBytes);
    let next = 0;
    for (const block of chunk.blocks) {
      if (typeof block?.key !== "string" || !block.key.startsWith(keyPrefix + "/")) bad(`chunk ${i}: block key outside '${keyPrefix}/'`);
      if (!Number.isSafeInteger(block.lengthBytes) || block.lengthBytes <= 0) bad(`chunk ${i}: block length ${block.lengthBytes}`);
      if (!Number.isSafeInteger(block.objectOffset) || block.objectOffset < 0) bad(`chunk ${i}: object offset ${block.objectOffset}`);
      if (block.offsetInChunk !== next) bad(`chunk ${i}: block at ${block.offsetInChunk}, expected ${next} (blocks must tile the chunk)`);
      next += block.lengthBytes;
    }
    if (next !== chunkBytes) bad(`chunk ${i}: blocks cover ${next} bytes, chunk holds ${chunkBytes}`);
    covered += next;
  });
  if (covered !== sizeBytes) bad(`blocks cover ${covered} bytes, size is ${sizeBytes}`);
  const blockCount = chunks.reduce((n, chunk) => n + chunk.blocks.length, 0);
  if (blockCount > LIMITS.bodyMaxBlocks) {
    throw new FsError("EFBIG", `manifest: ${blockCount} blocks, limit ${LIMITS.bodyMaxBlocks}; use larger blocks`);
  }
}
