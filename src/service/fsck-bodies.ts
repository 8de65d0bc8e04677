import { LIMITS, bodyKeyPrefix, type BlockChecksum, type BodySummary, type ChunkManifest } from "../types/index.ts";
import { SUMMARY_CHUNK_INDEX, type FullScan, type ScannedInode, type ScannedManifest } from "../schema/index.ts";
import type { FsckObjectSource, ViolationSink } from "./fsck.ts";
import { inodeKey, type NamespaceFacts } from "./fsck-namespace.ts";

// Body invariants: each file's current generation has a summary that agrees with the inode and
// chunks whose blocks lie in order inside their chunk; no manifest row belongs to anything else.
// Then the object store: every referenced block exists (and is long enough), and every object
// that no body, staged prepare or GC record accounts for is a leak.

export interface BodyFacts {
  bodyCount: number;
  /** Referenced block key -> the object bytes the manifests need (largest objectOffset + length). */
  referenced: Map<string, number>;
  /** Referenced block key -> the checksums its uploader stored (null for blocks from before checksums). */
  checksums: Map<string, BlockChecksum | null>;
  stagedPrefixes: string[];
  gcKeys: Set<string>;
}

const BLOCKS_PREFIX = "blocks/";
const HEAD_CONCURRENCY = 16;

export function checkBodies(ns: NamespaceFacts, scan: FullScan, sink: ViolationSink): BodyFacts {
  const facts: BodyFacts = { bodyCount: 0, referenced: new Map(), checksums: new Map(), stagedPrefixes: [], gcKeys: new Set(scan.gcKeys()) };
  const byBody = new Map<string, ScannedManifest[]>();
  for (const m of scan.manifests()) {
    const keys = { mount: m.mount, inode: m.inode, generation: m.generation, chunkIndex: m.chunkIndex };
    if (m.error !== null) sink.add("manifest-undecodable", `manifest row does not decode: ${m.error}`, keys);
    const inode = ns.inodes.get(inodeKey(m.mount, m.inode));
    if (!inode || inode.type !== "file" || inode.generation !== m.generation) {
      sink.add("manifest-orphan", `manifest row of inode ${m.inode} generation ${m.generation}, which is not a current file body`, keys);
      continue;
    }
    const key = `${m.mount}:${m.inode}:${m.generation}`;
    const list = byBody.get(key);
    if (list) list.push(m);
    else byBody.set(key, [m]);
  }
  for (const inode of ns.inodes.values()) {
    if (inode.type !== "file") continue;
    const rows = byBody.get(`${inode.mount}:${inode.inode}:${inode.generation}`) ?? [];
    if (inode.generation === 0) {
      if (inode.sizeBytes !== 0) sink.add("body-no-summary", `file ${inode.inode} has ${inode.sizeBytes} bytes and no body`, { mount: inode.mount, inode: inode.inode });
      continue;
    }
    facts.bodyCount++;
    checkBody(inode, rows, facts, sink);
  }
  for (const staged of scan.staged()) {
    const expected = bodyKeyPrefix(staged.mount, staged.inode, staged.generation);
    if (staged.keyPrefix !== expected) {
      sink.add("staged-bad-prefix", `prepare ${staged.prepareId} stages under '${staged.keyPrefix}', expected '${expected}'`, { mount: staged.mount, prepareId: staged.prepareId });
    }
    facts.stagedPrefixes.push(staged.keyPrefix + "/");
  }
  return facts;
}

function checkBody(inode: ScannedInode, rows: ScannedManifest[], facts: BodyFacts, sink: ViolationSink): void {
  const keys = { mount: inode.mount, inode: inode.inode, generation: inode.generation };
  const summary = rows.find((r) => r.chunkIndex === SUMMARY_CHUNK_INDEX)?.summary;
  if (!summary) {
    sink.add("body-no-summary", `file ${inode.inode} generation ${inode.generation} has no summary row`, keys);
    return;
  }
  const problem = summaryProblem(summary, inode);
  if (problem) sink.add("body-bad-summary", `file ${inode.inode}: ${problem}`, keys);
  // A truncate leaves holes that read as zeros and clears the digest; a body with a digest was
  // published whole, so its blocks must cover every byte.
  const holesAllowed = summary.digest === "";
  let covered = 0;
  const chunkRows = rows.filter((r) => r.chunkIndex !== SUMMARY_CHUNK_INDEX);
  for (const row of chunkRows) {
    if (!row.chunk) continue;
    const chunkProblem = chunkProblemOf(row.chunk, row.chunkIndex, summary);
    if (chunkProblem) sink.add("body-bad-chunk", `file ${inode.inode} chunk ${row.chunkIndex}: ${chunkProblem}`, { ...keys, chunkIndex: row.chunkIndex });
    for (const block of row.chunk.blocks) {
      covered += block.lengthBytes;
      const end = block.objectOffset + block.lengthBytes;
      facts.referenced.set(block.key, Math.max(facts.referenced.get(block.key) ?? 0, end));
      if (!facts.checksums.get(block.key)) facts.checksums.set(block.key, block.checksum ?? null);
    }
  }
  if (!holesAllowed && covered !== summary.sizeBytes) {
    sink.add("body-bad-chunk", `file ${inode.inode}: blocks cover ${covered} bytes of ${summary.sizeBytes}`, { ...keys, covered, sizeBytes: summary.sizeBytes });
  }
  // st_blocks comes from the inode's count: it must be what the blocks leave uncovered.
  const holeBytes = Math.max(0, inode.sizeBytes - covered);
  if (inode.holeBytes !== holeBytes) {
    sink.add("body-bad-summary", `file ${inode.inode}: counts ${inode.holeBytes} hole bytes, its blocks leave ${holeBytes}`, { ...keys, holeBytes: inode.holeBytes, expected: holeBytes });
  }
}

function summaryProblem(s: BodySummary, inode: ScannedInode): string | null {
  if (s.sizeBytes !== inode.sizeBytes) return `summary size ${s.sizeBytes}, inode size ${inode.sizeBytes}`;
  if (s.chunkSizeBytes !== LIMITS.chunkSizeBytes) return `chunk size ${s.chunkSizeBytes}`;
  if (s.chunkCount !== Math.ceil(s.sizeBytes / s.chunkSizeBytes)) return `chunk count ${s.chunkCount} for ${s.sizeBytes} bytes`;
  return null;
}

/** Blocks must lie in order, not overlap, and stay inside the chunk's part of the body. */
function chunkProblemOf(chunk: ChunkManifest, chunkIndex: number, s: BodySummary): string | null {
  if (chunk.chunkIndex !== chunkIndex) return `row holds chunk ${chunk.chunkIndex}`;
  if (chunkIndex >= s.chunkCount) return `past the last chunk (${s.chunkCount} chunks)`;
  const chunkBytes = Math.min(s.chunkSizeBytes, s.sizeBytes - chunkIndex * s.chunkSizeBytes);
  let next = 0;
  let covered = 0;
  for (const b of chunk.blocks) {
    if (!(b.lengthBytes > 0) || !(b.objectOffset >= 0)) return `block '${b.key}' has length ${b.lengthBytes} at object offset ${b.objectOffset}`;
    if (b.offsetInChunk < next) return `block '${b.key}' at ${b.offsetInChunk} overlaps the previous one (ends at ${next})`;
    next = b.offsetInChunk + b.lengthBytes;
    covered += b.lengthBytes;
  }
  if (next > chunkBytes) return `blocks reach byte ${next}, the chunk holds ${chunkBytes}`;
  if (s.digest !== "" && covered !== chunkBytes) return `blocks cover ${covered} of the chunk's ${chunkBytes} bytes`;
  return null;
}

export async function checkObjects(
  facts: BodyFacts,
  source: FsckObjectSource,
  repair: boolean,
  sink: ViolationSink,
): Promise<{ listed: number; deleted: number; deleteErrors: number }> {
  const listed = new Set(await source.listObjects(BLOCKS_PREFIX));
  await checkReferenced(facts, listed, source, sink);
  const leaks: string[] = [];
  for (const key of listed) {
    if (facts.referenced.has(key) || facts.gcKeys.has(key)) continue;
    if (facts.stagedPrefixes.some((prefix) => key.startsWith(prefix))) continue;
    leaks.push(key);
    sink.add("object-leak", `object '${key}' belongs to no body, prepare or GC record`, { objectKey: key });
  }
  let deleted = 0;
  let deleteErrors = 0;
  if (repair && source.deleteObject) {
    for (const key of leaks) {
      try {
        await source.deleteObject(key);
        deleted++;
      } catch {
        deleteErrors++;
      }
    }
  }
  return { listed: listed.size, deleted, deleteErrors };
}

async function checkReferenced(facts: BodyFacts, listed: Set<string>, source: FsckObjectSource, sink: ViolationSink): Promise<void> {
  const present: Array<[string, number]> = [];
  for (const [key, needBytes] of facts.referenced) {
    if (listed.has(key)) present.push([key, needBytes]);
    else sink.add("block-missing", `block '${key}' is referenced but not in the object store`, { objectKey: key });
  }
  const head = source.headObject?.bind(source);
  if (!head) return;
  let next = 0;
  const worker = async () => {
    while (next < present.length) {
      const [key, needBytes] = present[next++]!;
      const found = await head(key);
      if (!found) sink.add("block-missing", `block '${key}' vanished while fsck ran`, { objectKey: key });
      else if (found.sizeBytes < needBytes) {
        sink.add("block-short", `block '${key}' has ${found.sizeBytes} bytes, manifests read up to ${needBytes}`, { objectKey: key, sizeBytes: found.sizeBytes, needBytes });
      } else {
        const checksummed = facts.checksums.get(key)?.objectSizeBytes;
        if (checksummed !== undefined && found.sizeBytes !== checksummed) {
          sink.add("block-replaced", `block '${key}' has ${found.sizeBytes} bytes, its checksums cover ${checksummed}: the object was replaced`, { objectKey: key, sizeBytes: found.sizeBytes, checksummedBytes: checksummed });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, present.length) }, worker));
}
