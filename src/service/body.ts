import type { BlockRef, BodySummary, ChunkManifest, InodeId, MountId } from "../types/index.ts";
import { SUMMARY_CHUNK_INDEX, type MetadataStore, type Mutation } from "../schema/index.ts";

// Body manifests as the namespace sees them: which blocks a generation references, and the
// mutations that drop a body (its manifest rows out, one reference fewer on each of its blocks).
// Blocks are shared (truncate keeps an old generation's blocks, clones copy whole bodies), so a
// block is queued for GC by the store only when the last generation naming it lets go.

export interface StoredBody {
  summary: BodySummary | null;
  chunks: ChunkManifest[];
}

export function loadBody(store: MetadataStore, mount: MountId, inode: InodeId, generation: number): StoredBody {
  const body: StoredBody = { summary: null, chunks: [] };
  if (generation === 0) return body;
  for (const { value } of store.scanManifests(mount, inode, generation)) {
    if (value.kind === "summary") body.summary = value.summary;
    else body.chunks.push(value.chunk);
  }
  return body;
}

export function blockKeysOf(chunks: readonly ChunkManifest[]): Set<string> {
  const keys = new Set<string>();
  for (const chunk of chunks) for (const block of chunk.blocks) keys.add(block.key);
  return keys;
}

/**
 * Mutations that delete a generation's manifest rows and drop its reference on each block it
 * names (`keep` holds blocks a newer generation of the same file takes the reference over for).
 */
export function dropBodyMutations(
  mount: MountId,
  inode: InodeId,
  generation: number,
  body: StoredBody,
  keep: ReadonlySet<string> = new Set(),
  keys: ReadonlySet<string> = blockKeysOf(body.chunks),
): Mutation[] {
  const out: Mutation[] = [];
  for (const chunk of body.chunks) {
    out.push({ family: "manifest", op: "delete", key: { mount, inode, generation, chunkIndex: chunk.chunkIndex } });
  }
  if (body.summary) {
    out.push({ family: "manifest", op: "delete", key: { mount, inode, generation, chunkIndex: SUMMARY_CHUNK_INDEX } });
  }
  for (const key of keys) {
    if (!keep.has(key)) out.push({ family: "blockref", op: "add", key: { mount, objectKey: key }, value: { delta: -1 } });
  }
  return out;
}

/**
 * A new body generation's reference on each block it names (once per block, however often named);
 * `shared` holds blocks whose reference the generation takes over from the one it replaces.
 */
export function addBodyRefMutations(mount: MountId, chunks: readonly ChunkManifest[], shared: ReadonlySet<string> = new Set(), keys: ReadonlySet<string> = blockKeysOf(chunks)): Mutation[] {
  return [...keys].filter((key) => !shared.has(key)).map((objectKey) => ({ family: "blockref", op: "add", key: { mount, objectKey }, value: { delta: 1 } }));
}

/** The chunks of a body cut to `sizeBytes`: blocks past it dropped, a block across it shortened. */
export function clipChunks(chunks: readonly ChunkManifest[], chunkSizeBytes: number, sizeBytes: number): ChunkManifest[] {
  const out: ChunkManifest[] = [];
  for (const chunk of chunks) {
    const chunkStart = chunk.chunkIndex * chunkSizeBytes;
    if (chunkStart >= sizeBytes) continue;
    const limitInChunk = sizeBytes - chunkStart;
    const blocks: BlockRef[] = [];
    for (const block of chunk.blocks) {
      if (block.offsetInChunk >= limitInChunk) continue;
      const lengthBytes = Math.min(block.lengthBytes, limitInChunk - block.offsetInChunk);
      blocks.push({ ...block, lengthBytes });
    }
    if (blocks.length > 0) out.push({ chunkIndex: chunk.chunkIndex, blocks });
  }
  return out;
}

/**
 * Bytes of a body of `sizeBytes` that no block of `chunks` holds: they read as zeros, and
 * st_blocks leaves them out. (Blocks tile their chunks without overlap and end within the size:
 * manifests are checked for that, and truncates clip them.)
 */
export function holeBytesOf(chunks: readonly ChunkManifest[], chunkSizeBytes: number, sizeBytes: number): number {
  let heldBytes = 0;
  for (const chunk of chunks) {
    const limitInChunk = sizeBytes - chunk.chunkIndex * chunkSizeBytes;
    for (const block of chunk.blocks) heldBytes += Math.max(0, Math.min(block.lengthBytes, limitInChunk - block.offsetInChunk));
  }
  return Math.max(0, sizeBytes - heldBytes);
}
