import {
  FsError,
  LIMITS,
  nowNs,
  planRange,
  validateName,
  type BodyManifest,
  type BodySummary,
  type ChunkManifest,
  type MetaChanges,
  type InodeAttrs,
  type InodeId,
  type MountId,
  type PreparedPublish,
  type ReadPlan,
  type Version,
} from "../types/index.ts";
import { SUMMARY_CHUNK_INDEX, type Mutation } from "../schema/index.ts";
import { addBodyRefMutations, blockKeysOf, dropBodyMutations, holeBytesOf, loadBody } from "./body.ts";
import { newInode, valueOf, type ServiceCore, type WriteOptions } from "./core.ts";
import { applyAttrChanges, touchDir } from "./namespace.ts";
import { validateManifest, validatePatchManifest } from "./manifest-check.ts";
import { checkExpiry, stageBody, stagePrepareOf, type PrepareArgs } from "./stage.ts";

export type { PrepareArgs } from "./stage.ts";

// Artifact publication: prepare hands out where to upload (a fresh generation's key prefix),
// the client uploads blocks straight to the object store, and publish commits the dentry, inode,
// summary and every chunk manifest in one command. Until then, nothing is visible.

export interface PublishArgs extends WriteOptions {
  mount: MountId;
  prepareId: string;
  parent: InodeId;
  name: string;
  manifest: BodyManifest;
  /** Replace an existing file of that name; without it an existing name is EEXIST. */
  replace?: boolean;
  /** ESTALE unless the file's current generation is this one (optimistic writers). */
  ifGeneration?: number;
  /**
   * The manifest patches generation `ifGeneration`: it may share that generation's blocks (see
   * validatePatchManifest), and only the blocks it no longer names are queued for GC.
   */
  patch?: boolean;
  /**
   * Also prepare the file's next body (expiring after this many ms) in the same command: the
   * result's `next`. A writer that publishes again and again (fsync) then pays one round trip each.
   */
  prepareNextExpiryMs?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  /**
   * A setattr carried by the publish, applied after the body: the mode, owner and times its writer
   * set while these bytes were unpublished (tar's futimens, fchown, fchmod before close), so they
   * land with the bytes in one command instead of one each.
   */
  changes?: MetaChanges;
}

export interface PlanArgs {
  mount: MountId;
  inode: InodeId;
  /** ESTALE if the body moved past this generation since the caller looked. */
  generation?: number;
  offsetBytes: number;
  lengthBytes: number;
  at?: Version;
}

export class Publisher {
  constructor(
    private readonly core: ServiceCore,
    private readonly nowMs: () => number,
  ) {}

  prepare(args: PrepareArgs): PreparedPublish {
    const replay = this.core.replayed<PreparedPublish>(args);
    if (replay) return replay.value;
    const command = this.core.command("prepare_publish", args.mount, args);
    const prepared = stagePrepareOf(this.core, command, args);
    const result = this.core.result(command, prepared);
    this.core.commit(command);
    return result;
  }

  /**
   * A prepare for the next body of file `inode` whatever its names (none, while it is an open
   * orphan: a mount streams its blocks out under it, and publishes once a link names it again).
   */
  prepareInode(args: WriteOptions & { mount: MountId; inode: InodeId; expiryMs?: number }): PreparedPublish {
    const replay = this.core.replayed<PreparedPublish>(args);
    if (replay) return replay.value;
    const attrs = this.core.getInode(args.mount, args.inode);
    if (attrs.type !== "file") throw new FsError(attrs.type === "dir" ? "EISDIR" : "EINVAL", `inode ${args.inode} is not a regular file`);
    const command = this.core.command("prepare_publish", args.mount, args);
    const result = this.core.result(command, this.stageNext(command, args.mount, args.inode, args.expiryMs ?? LIMITS.stagedExpiryDefaultMs));
    this.core.commit(command);
    return result;
  }

  publish(args: PublishArgs): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    const { mount, parent, name, manifest } = args;
    validateName(name);
    const staged = this.core.store.getStaged(mount, args.prepareId);
    if (!staged) throw new FsError("ENOENT", `no prepared publish '${args.prepareId}' (expired or already published)`);
    if (staged.expiresAtMs < this.nowMs()) throw new FsError("ESTALE", `prepared publish '${args.prepareId}' expired`);
    if (args.patch && args.ifGeneration === undefined) throw new FsError("EINVAL", "a patch publish names the generation it patched (ifGeneration)");
    if (!args.patch) validateManifest(manifest, staged.keyPrefix);
    const dir = this.core.getDir(mount, parent);
    const key = { mount, parent, name };
    const existing = this.core.readDentry(key);
    if (existing && !args.replace) throw new FsError("EEXIST", `'${name}' already exists`);
    if (existing?.type === "dir") throw new FsError("EISDIR", `'${name}' is a directory`);
    const now = nowNs();
    const command = this.core.command("publish_artifact", mount, args);
    const { generation } = staged;
    let inode = staged.inode;
    let current = this.core.readInode(mount, inode);
    // The file this prepare was to replace is gone: the body becomes a new file with a new number,
    // never the old one again (FUSE and caches hold on to the promise that numbers never repeat).
    if (!current && !staged.freshInode) {
      inode = this.core.allocateId(command);
      current = null;
    }
    if (current && existing?.inode !== inode) {
      throw new FsError("ESTALE", `'${name}' was replaced while the upload ran; prepare again`);
    }
    if (args.ifGeneration !== undefined && (current?.generation ?? 0) !== args.ifGeneration) {
      throw new FsError("ESTALE", `inode ${inode} is at generation ${current?.generation ?? 0}, not ${args.ifGeneration}`);
    }
    const base = current ? loadBody(this.core.store, mount, inode, current.generation) : { summary: null, chunks: [] };
    if (args.patch) validatePatchManifest(manifest, staged.keyPrefix, { inode, generation: current?.generation ?? 0, chunks: base.chunks });
    if (existing) {
      command.predicates.push({ kind: "versionEquals", target: { family: "dentry", key }, version: existing.version, errno: "ESTALE" });
    } else {
      command.predicates.push({ kind: "notExists", target: { family: "dentry", key }, errno: "EEXIST" });
    }
    command.mutations.push(...this.displaced(mount, existing?.inode ?? null, inode, now));
    const body = { sizeBytes: manifest.summary.sizeBytes, generation, holeBytes: holeBytesOf(manifest.chunks, manifest.summary.chunkSizeBytes, manifest.summary.sizeBytes) };
    const value = current
      ? { ...valueOf(current), ...body, mtimeNs: now, ctimeNs: now }
      : { ...newInode({ inode, type: "file", mode: args.mode ?? 0o644, uid: args.uid ?? 0, gid: args.gid ?? 0, parent, now }), ...body };
    if (args.changes) applyAttrChanges(value, args.changes);
    if (current) {
      command.predicates.push({ kind: "versionEquals", target: { family: "inode", key: { mount, inode } }, version: current.version, errno: "ESTALE" });
    }
    // Blocks the new generation shares with the old keep the old one's reference; only the
    // blocks it replaced lose theirs (and go to GC), only new blocks gain one.
    // Each body's keys are gathered once (a large file names hundreds of blocks at every publish).
    const baseKeys = blockKeysOf(base.chunks);
    const newKeys = blockKeysOf(manifest.chunks);
    const shared = new Set([...newKeys].filter((key) => baseKeys.has(key)));
    if (current) command.mutations.push(...dropBodyMutations(mount, inode, current.generation, base, shared, baseKeys));
    command.mutations.push(current ? { family: "inode", op: "put", key: { mount, inode }, value } : { family: "inode", op: "insert", key: { mount, inode }, value });
    if (existing?.inode !== inode) {
      const dentry = { inode, type: "file" as const };
      command.mutations.push(existing ? { family: "dentry", op: "put", key, value: dentry } : { family: "dentry", op: "insert", key, value: dentry });
    }
    for (const chunk of manifest.chunks) {
      command.mutations.push({ family: "manifest", op: "insert", key: { mount, inode, generation, chunkIndex: chunk.chunkIndex }, value: { kind: "chunk", chunk } });
    }
    command.mutations.push(...addBodyRefMutations(mount, manifest.chunks, shared, newKeys));
    command.mutations.push(
      { family: "manifest", op: "insert", key: { mount, inode, generation, chunkIndex: SUMMARY_CHUNK_INDEX }, value: { kind: "summary", summary: manifest.summary } },
      { family: "staged", op: "delete", key: { mount, prepareId: args.prepareId } },
      touchDir(mount, dir, now, 0),
    );
    command.watchEvents.push({ mount, kind: "publish", scope: parent, name, inode, generation });
    const next = args.prepareNextExpiryMs === undefined ? undefined : this.stageNext(command, mount, inode, args.prepareNextExpiryMs);
    const result = this.core.result(command, { ...value, version: command.version, ...(next ? { next } : {}) });
    this.core.commit(command);
    return result;
  }

  /** A prepare of `inode`'s next body, staged by the publish `command`. */
  private stageNext(command: ReturnType<ServiceCore["command"]>, mount: MountId, inode: InodeId, expiryMs: number): PreparedPublish {
    checkExpiry(expiryMs);
    return stageBody(this.core, command, { mount, inode, expiryMs, freshInode: false, blockSizeBytes: LIMITS.blockSizeDefaultBytes });
  }

  /** When a publish puts a different inode under an existing name, the old one loses a link. */
  private displaced(mount: MountId, oldInode: InodeId | null, newInodeId: InodeId, now: bigint): Mutation[] {
    if (oldInode === null || oldInode === newInodeId) return [];
    const old = this.core.getInode(mount, oldInode);
    if (old.nlink > 1) return [{ family: "inode", op: "put", key: { mount, inode: oldInode }, value: { ...valueOf(old), nlink: old.nlink - 1, ctimeNs: now } }];
    return [
      { family: "inode", op: "delete", key: { mount, inode: oldInode } },
      ...dropBodyMutations(mount, oldInode, old.generation, loadBody(this.core.store, mount, oldInode, old.generation)),
    ];
  }

  /**
   * A file's current body as stored (summary and every chunk's blocks): what a patch publish
   * starts from. ESTALE if it moved past `generation`.
   */
  bodyManifest(args: { mount: MountId; inode: InodeId; generation?: number }): { generation: number; sizeBytes: number; summary: BodySummary | null; chunks: ChunkManifest[] } {
    const attrs = this.core.getInode(args.mount, args.inode);
    if (attrs.type !== "file") throw new FsError(attrs.type === "dir" ? "EISDIR" : "EINVAL", `inode ${args.inode} is not a regular file`);
    if (args.generation !== undefined && args.generation !== attrs.generation) {
      throw new FsError("ESTALE", `inode ${args.inode} moved from generation ${args.generation} to ${attrs.generation}`);
    }
    const body = loadBody(this.core.store, args.mount, args.inode, attrs.generation);
    return { generation: attrs.generation, sizeBytes: attrs.sizeBytes, summary: body.summary, chunks: body.chunks };
  }

  /** Which object ranges hold [offset, offset + length) of a body; gaps between ranges are zeros. */
  readPlan(args: PlanArgs): ReadPlan {
    const { mount, inode, at } = args;
    const attrs = this.core.getInode(mount, inode, at);
    if (attrs.type !== "file") throw new FsError(attrs.type === "dir" ? "EISDIR" : "EINVAL", `inode ${inode} is not a regular file`);
    if (args.generation !== undefined && args.generation !== attrs.generation) {
      throw new FsError("ESTALE", `inode ${inode} moved from generation ${args.generation} to ${attrs.generation}`);
    }
    if (!Number.isSafeInteger(args.offsetBytes) || args.offsetBytes < 0 || !Number.isSafeInteger(args.lengthBytes) || args.lengthBytes < 0) {
      throw new FsError("EINVAL", "offset and length must be non-negative integers");
    }
    const start = Math.min(args.offsetBytes, attrs.sizeBytes);
    const end = Math.min(attrs.sizeBytes, start + args.lengthBytes);
    const plan: ReadPlan = { inode, generation: attrs.generation, sizeBytes: attrs.sizeBytes, ranges: [], lengthBytes: end - start };
    if (end <= start) return plan;
    const chunkSizeBytes = this.chunkSizeOf(mount, attrs, at);
    const body = { mount, inode, generation: attrs.generation };
    // Walk the chunk rows that exist (a sparse file's holes cost nothing), a page at a time; stop
    // at a whole chunk once the plan holds readPlanMaxRanges ranges and say where to go on.
    let fromChunk = Math.floor(start / chunkSizeBytes);
    const lastChunk = Math.floor((end - 1) / chunkSizeBytes);
    for (;;) {
      const rows = this.core.store.scanChunks(body, fromChunk, lastChunk, LIMITS.readPlanChunksPerScan, at);
      for (const { chunkIndex, value } of rows) {
        if (value.kind !== "chunk") continue;
        if (plan.ranges.length + value.chunk.blocks.length > LIMITS.readPlanMaxRanges && plan.ranges.length > 0) {
          plan.lengthBytes = chunkIndex * chunkSizeBytes - start;
          plan.nextOffsetBytes = chunkIndex * chunkSizeBytes;
          return plan;
        }
        addRanges(plan, value.chunk, chunkIndex * chunkSizeBytes, start, end);
      }
      if (rows.length < LIMITS.readPlanChunksPerScan) return plan;
      fromChunk = rows[rows.length - 1]!.chunkIndex + 1;
    }
  }

  private chunkSizeOf(mount: MountId, attrs: InodeAttrs, at?: Version): number {
    const row = this.core.store.getManifest({ mount, inode: attrs.inode, generation: attrs.generation, chunkIndex: SUMMARY_CHUNK_INDEX }, at);
    return row?.kind === "summary" ? row.summary.chunkSizeBytes : LIMITS.chunkSizeBytes;
  }
}

/** The ranges of one chunk's blocks that fall inside [start, end), in output order. */
function addRanges(plan: ReadPlan, chunk: ChunkManifest, chunkStart: number, start: number, end: number): void {
  for (const block of chunk.blocks) {
    const blockStart = chunkStart + block.offsetInChunk;
    const from = Math.max(start, blockStart);
    const to = Math.min(end, blockStart + block.lengthBytes);
    if (to <= from) continue;
    plan.ranges.push(planRange(block, block.objectOffset + (from - blockStart), to - from, from - start));
  }
}
