import { FsError, LIMITS, type BodySummary, type InodeAttrs, type MountId } from "../types/index.ts";
import { SUMMARY_CHUNK_INDEX, type MetadataStore, type Mutation } from "../schema/index.ts";
import { blockKeysOf, clipChunks, dropBodyMutations, holeBytesOf, loadBody } from "./body.ts";

/**
 * Truncate as a new body generation: the kept blocks are shared with the old generation's
 * objects (blocks are immutable, so sharing is safe), blocks wholly past the new size are queued
 * for GC, and an extension is a hole that reads as zeros. Readers of the old generation get ESTALE
 * and re-plan.
 */
export function truncateMutations(
  store: MetadataStore,
  mount: MountId,
  attrs: InodeAttrs,
  sizeBytes: number,
  allocateId: () => number,
): { generation: number; holeBytes: number; mutations: Mutation[] } {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new FsError("EINVAL", `size must be a non-negative integer, got ${sizeBytes}`);
  if (sizeBytes > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `size ${sizeBytes} is over the ${LIMITS.fileMaxBytes}-byte file limit`);
  const old = loadBody(store, mount, attrs.inode, attrs.generation);
  const chunkSizeBytes = old.summary?.chunkSizeBytes ?? LIMITS.chunkSizeBytes;
  const chunks = sizeBytes < attrs.sizeBytes ? clipChunks(old.chunks, chunkSizeBytes, sizeBytes) : old.chunks;
  const generation = allocateId();
  const summary: BodySummary = {
    sizeBytes,
    chunkSizeBytes,
    blockSizeBytes: old.summary?.blockSizeBytes ?? LIMITS.blockSizeDefaultBytes,
    chunkCount: Math.ceil(sizeBytes / chunkSizeBytes),
    digest: "",
    producer: old.summary?.producer ?? "",
    contentType: old.summary?.contentType ?? "",
  };
  const key = (chunkIndex: number) => ({ mount, inode: attrs.inode, generation, chunkIndex });
  const mutations: Mutation[] = dropBodyMutations(mount, attrs.inode, attrs.generation, old, blockKeysOf(chunks));
  for (const chunk of chunks) {
    mutations.push({ family: "manifest", op: "insert", key: key(chunk.chunkIndex), value: { kind: "chunk", chunk } });
  }
  mutations.push({ family: "manifest", op: "insert", key: key(SUMMARY_CHUNK_INDEX), value: { kind: "summary", summary } });
  return { generation, holeBytes: holeBytesOf(chunks, chunkSizeBytes, sizeBytes), mutations };
}
