import { FsError, LIMITS, blockKey, checksumProblem, type BodyManifest } from "../types/index.ts";

// A publish is checked before it commits: a manifest from a client is input from outside, and a
// wrong one would publish a body that reads garbage or references another file's blocks. Each
// block key must be exactly the one the uploader was told to use (`keyPrefix` is the prepare's
// mount/inode/generation, then chunk and block index), so no key can point elsewhere, hold a '..'
// or escape GC; and each block carries the checksums its readers verify.

export function validateManifest(manifest: BodyManifest, keyPrefix: string): void {
  const bad = (detail: string): never => {
    throw new FsError("EINVAL", `manifest: ${detail}`);
  };
  if (typeof manifest !== "object" || manifest === null) bad("missing");
  const { summary, chunks } = manifest;
  if (typeof summary !== "object" || summary === null || !Array.isArray(chunks)) bad("needs summary and chunks");
  const { sizeBytes, chunkSizeBytes, blockSizeBytes } = summary;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) bad(`size ${sizeBytes} is not a byte count`);
  if (sizeBytes > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `manifest: size ${sizeBytes} over ${LIMITS.fileMaxBytes}`);
  if (chunkSizeBytes !== LIMITS.chunkSizeBytes) bad(`chunk size ${chunkSizeBytes}, expected ${LIMITS.chunkSizeBytes}`);
  if (!Number.isSafeInteger(blockSizeBytes) || blockSizeBytes < LIMITS.blockSizeMinBytes || blockSizeBytes > LIMITS.blockSizeMaxBytes || chunkSizeBytes % blockSizeBytes !== 0) {
    bad(`block size ${blockSizeBytes} must divide ${chunkSizeBytes} and lie in ${LIMITS.blockSizeMinBytes}..${LIMITS.blockSizeMaxBytes}`);
  }
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
    chunk.blocks.forEach((block, j) => {
      const expectedKey = blockKey(keyPrefix, i, j);
      if (block?.key !== expectedKey) bad(`chunk ${i} block ${j}: key ${JSON.stringify(String(block?.key).slice(0, 200))}, expected '${expectedKey}'`);
      if (!Number.isSafeInteger(block.lengthBytes) || block.lengthBytes <= 0 || block.lengthBytes > blockSizeBytes) bad(`chunk ${i} block ${j}: length ${block.lengthBytes}`);
      // A published block is a whole fresh object: its bytes start at 0 and its checksum covers them.
      if (block.objectOffset !== 0) bad(`chunk ${i} block ${j}: object offset ${block.objectOffset}, expected 0`);
      if (block.offsetInChunk !== next || next !== j * blockSizeBytes) bad(`chunk ${i}: block at ${block.offsetInChunk}, expected ${next} (blocks must tile the chunk)`);
      const problem = checksumProblem(block.checksum, block.lengthBytes);
      if (problem) bad(`chunk ${i} block ${j}: ${problem}`);
      next += block.lengthBytes;
    });
    if (next !== chunkBytes) bad(`chunk ${i}: blocks cover ${next} bytes, chunk holds ${chunkBytes}`);
    covered += next;
  });
  if (covered !== sizeBytes) bad(`blocks cover ${covered} bytes, size is ${sizeBytes}`);
  const blockCount = chunks.reduce((n, chunk) => n + chunk.blocks.length, 0);
  if (blockCount > LIMITS.bodyMaxBlocks) {
    throw new FsError("EFBIG", `manifest: ${blockCount} blocks, limit ${LIMITS.bodyMaxBlocks}; use larger blocks`);
  }
}
