import { FsError, LIMITS, blockKey, checksumProblem, type BlockChecksum, type BlockRef, type BodyManifest, type ChunkManifest } from "../types/index.ts";

// A publish is checked before it commits: a manifest from a client is input from outside, and a
// wrong one would publish a body that reads garbage or references another file's blocks. Each
// block key must be exactly the one the uploader was told to use (`keyPrefix` is the prepare's
// mount/inode/generation, then chunk and block index), so no key can point elsewhere, hold a '..'
// or escape GC; and each block carries the checksums its readers verify.
//
// A patch publish (validatePatchManifest) may also name blocks of the base generation it patched,
// exactly as the base names them (a tail may be cut shorter), so a client that rewrote 4 KiB of a
// large file uploads one block and shares the rest.

const bad = (detail: string): never => {
  throw new FsError("EINVAL", `manifest: ${detail}`);
};

export function validateManifest(manifest: BodyManifest, keyPrefix: string): void {
  validateSummary(manifest);
  const { summary, chunks } = manifest;
  const { sizeBytes, chunkSizeBytes, blockSizeBytes } = summary;
  const chunkCount = Math.ceil(sizeBytes / chunkSizeBytes);
  if (chunks.length !== chunkCount) bad(`${chunks.length} chunks listed, size needs ${chunkCount}`);
  let covered = 0;
  chunks.forEach((chunk, i) => {
    if (chunk?.chunkIndex !== i || !Array.isArray(chunk.blocks)) bad(`chunk ${i} out of order or without blocks`);
    const chunkBytes = Math.min(chunkSizeBytes, sizeBytes - i * chunkSizeBytes);
    let next = 0;
    chunk.blocks.forEach((block, j) => {
      const expectedKey = blockKey(keyPrefix, i, j);
      if (block?.key !== expectedKey) bad(`chunk ${i} block ${j}: key ${JSON.stringify(String(block?.key).slice(0, 200))}, expected '${expectedKey}'`);
      checkFreshBlock(block, blockSizeBytes, `chunk ${i} block ${j}`);
      if (block.offsetInChunk !== next || next !== j * blockSizeBytes) bad(`chunk ${i}: block at ${block.offsetInChunk}, expected ${next} (blocks must tile the chunk)`);
      next += block.lengthBytes;
    });
    if (next !== chunkBytes) bad(`chunk ${i}: blocks cover ${next} bytes, chunk holds ${chunkBytes}`);
    covered += next;
  });
  if (covered !== sizeBytes) bad(`blocks cover ${covered} bytes, size is ${sizeBytes}`);
  checkBlockCount(chunks);
}

/**
 * A patch of base generation `base` (its chunks as stored): blocks sit in block-size slots, in
 * order, inside the body; a slot no block covers is a hole (zeros, as after a truncate-extend).
 * Each block is either fresh (this prepare's key for its slot, a whole new object) or one of the
 * base's blocks as the base names it. Any other key (another file's, another generation's) is
 * refused: it would share a block this file holds no reference on.
 */
export function validatePatchManifest(manifest: BodyManifest, keyPrefix: string, base: { inode: number; generation: number; chunks: readonly ChunkManifest[] }): void {
  validateSummary(manifest);
  const { sizeBytes, chunkSizeBytes, blockSizeBytes } = manifest.summary;
  const baseBlocks = new Map<string, BlockRef>();
  for (const chunk of base.chunks) for (const block of chunk.blocks) baseBlocks.set(`${chunk.chunkIndex}:${block.key}`, block);
  let lastChunk = -1;
  for (const chunk of manifest.chunks) {
    const i = chunk?.chunkIndex;
    if (!Number.isSafeInteger(i) || i <= lastChunk || i * chunkSizeBytes >= Math.max(sizeBytes, 1) || !Array.isArray(chunk.blocks) || chunk.blocks.length === 0) {
      bad(`chunk ${i} out of order, past the end, or without blocks`);
    }
    lastChunk = i;
    const chunkBytes = Math.min(chunkSizeBytes, sizeBytes - i * chunkSizeBytes);
    let next = 0;
    chunk.blocks.forEach((block, j) => {
      const where = `chunk ${i} block ${j}`;
      const slot = block?.offsetInChunk / blockSizeBytes;
      if (!Number.isSafeInteger(slot) || block.offsetInChunk < next) bad(`${where}: offset ${block?.offsetInChunk} is not a free block-size slot after ${next}`);
      if (!Number.isSafeInteger(block.lengthBytes) || block.lengthBytes <= 0 || block.lengthBytes > blockSizeBytes) bad(`${where}: length ${block.lengthBytes}`);
      if (block.offsetInChunk + block.lengthBytes > chunkBytes) bad(`${where}: ends past the body's ${sizeBytes} bytes`);
      if (block.key === blockKey(keyPrefix, i, slot)) checkFreshBlock(block, blockSizeBytes, where);
      else checkBaseBlock(block, baseBlocks.get(`${i}:${block.key}`), base, where);
      next = block.offsetInChunk + block.lengthBytes;
    });
  }
  checkBlockCount(manifest.chunks);
}

/** A block uploaded for this publish: a whole fresh object whose checksum covers it. */
function checkFreshBlock(block: BlockRef, blockSizeBytes: number, where: string): void {
  if (!Number.isSafeInteger(block.lengthBytes) || block.lengthBytes <= 0 || block.lengthBytes > blockSizeBytes) bad(`${where}: length ${block.lengthBytes}`);
  // A published block is a whole fresh object: its bytes start at 0 and its checksum covers them.
  if (block.objectOffset !== 0) bad(`${where}: object offset ${block.objectOffset}, expected 0`);
  const problem = checksumProblem(block.checksum, block.lengthBytes);
  if (problem) bad(`${where}: ${problem}`);
}

/** A shared block: exactly as the base names it, at most cut shorter. */
function checkBaseBlock(block: BlockRef, baseBlock: BlockRef | undefined, base: { inode: number; generation: number }, where: string): void {
  // Every shared block of a large file passes here at each publish: the message is built only for a refusal.
  const key = () => JSON.stringify(String(block.key).slice(0, 200));
  if (!baseBlock) bad(`${where}: key ${key()} is neither this publish's block nor one of inode ${base.inode} generation ${base.generation}'s (a patch shares only its base's blocks)`);
  const same = block.offsetInChunk === baseBlock!.offsetInChunk && block.objectOffset === baseBlock!.objectOffset && block.lengthBytes <= baseBlock!.lengthBytes;
  if (!same) bad(`${where}: shared block ${key()} moved or grew (base has it at ${baseBlock!.offsetInChunk}+${baseBlock!.lengthBytes})`);
  if (!sameChecksum(block.checksum, baseBlock!.checksum)) bad(`${where}: shared block ${key()} with a checksum other than the base's`);
}

/** The same checksum list, field for field (the common case without serializing both). */
function sameChecksum(a: BlockChecksum | null | undefined, b: BlockChecksum | null | undefined): boolean {
  if (a == null || b == null) return a == null && b == null;
  const plain = Object.keys(a).length === 3 && Object.keys(b).length === 3;
  if (plain) return a.segmentSizeBytes === b.segmentSizeBytes && a.objectSizeBytes === b.objectSizeBytes && a.crc32 === b.crc32;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The summary every publish needs, whatever its blocks are. */
function validateSummary(manifest: BodyManifest): void {
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
}

function checkBlockCount(chunks: readonly ChunkManifest[]): void {
  const blockCount = chunks.reduce((n, chunk) => n + chunk.blocks.length, 0);
  if (blockCount > LIMITS.bodyMaxBlocks) {
    throw new FsError("EFBIG", `manifest: ${blockCount} blocks, limit ${LIMITS.bodyMaxBlocks}; use larger blocks`);
  }
}
