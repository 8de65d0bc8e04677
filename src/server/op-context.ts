import { FsError, LIMITS, ROOT_INODE, type AttrChanges, type MountId, type WatchCursor } from "../types/index.ts";
import type { MetadataService, PathView } from "../service/index.ts";
import { argBigint, argBool, argInt, argOptional, argString, type Args } from "../wire/index.ts";

// What an op handler sees, and the argument readers every op table shares.

export interface OpContext {
  service: MetadataService;
  /** The URL of the object store clients should use (no secrets). */
  objectsUrl: string;
  /** metad's durability: clients fsync blocks before publish under "full". */
  durability: "normal" | "full";
  /** The object store's id: clients refuse a store that carries another. */
  storeId: string;
  /** Subscribes the calling connection to a scope from a cursor; events follow as pushes. */
  subscribe(args: { id?: number; mount: MountId; scope: number; cursor: WatchCursor }): { subscription: number; scope: number; cursor: string };
  unsubscribe(subscription: number): boolean;
  runGc(): Promise<unknown>;
  stats(): unknown;
}

export type OpHandler = (ctx: OpContext, args: Args, requestKey: string | undefined) => unknown;

export interface OpSpec {
  /** Writes go through group commit and accept an exactly-once request key. */
  write: boolean;
  /** Async ops (GC) run outside the group-commit transaction. */
  async?: boolean;
  run: OpHandler;
}

export function mountArg(ctx: OpContext, args: Args): MountId {
  return ctx.service.mounts.resolve(argInt(args, "mount", { min: 1 }));
}

export function inodeArg(args: Args, name = "inode"): number {
  return argInt(args, name, { min: 1 });
}

/** Names and paths are validated by the service; the reader only bounds their size. */
export function nameArg(args: Args, name = "name"): string {
  return argString(args, name, { maxBytes: LIMITS.nameMaxBytes * 4, allowEmpty: true });
}

export function pathArg(args: Args, name = "path"): string {
  return argString(args, name, { maxBytes: LIMITS.pathMaxBytes * 2 });
}

/** The live mount, or a snapshot's read-only view of it when `snapshot` is given. */
export function viewArg(ctx: OpContext, args: Args): PathView & { mount: MountId } {
  const mount = mountArg(ctx, args);
  const snapshotId = argOptional(args, "snapshot", argInt, { min: 1 });
  if (snapshotId === undefined) return { mount };
  const snap = ctx.service.snapshots.get(mount, snapshotId);
  return { mount, at: snap.readVersion, root: snap.rootInode };
}

/** `at` for inode reads in a snapshot; inode ops outside the snapshot's subtree still read at its version. */
export function atArg(ctx: OpContext, args: Args): { mount: MountId; at?: number } {
  const view = viewArg(ctx, args);
  return view.at === undefined ? { mount: view.mount } : { mount: view.mount, at: view.at };
}

export function writeKey(requestKey: string | undefined): { requestKey?: string } {
  return requestKey === undefined ? {} : { requestKey };
}

export function ownerArgs(args: Args): { mode?: number; uid?: number; gid?: number } {
  const out: { mode?: number; uid?: number; gid?: number } = {};
  const mode = argOptional(args, "mode", argInt, { min: 0, max: 0o7777 });
  const uid = argOptional(args, "uid", argInt, { min: 0, max: 0xffff_ffff });
  const gid = argOptional(args, "gid", argInt, { min: 0, max: 0xffff_ffff });
  if (mode !== undefined) out.mode = mode;
  if (uid !== undefined) out.uid = uid;
  if (gid !== undefined) out.gid = gid;
  return out;
}

export function changesArg(args: Args): AttrChanges {
  const changes: AttrChanges = ownerArgs(args);
  const size = argOptional(args, "sizeBytes", argInt, { min: 0, max: LIMITS.fileMaxBytes });
  const atime = argOptional(args, "atimeNs", argBigint, { min: 0n });
  const mtime = argOptional(args, "mtimeNs", argBigint, { min: 0n });
  if (size !== undefined) changes.sizeBytes = size;
  if (atime !== undefined) changes.atimeNs = atime;
  if (mtime !== undefined) changes.mtimeNs = mtime;
  if (Object.keys(changes).length === 0) throw new FsError("EINVAL", "setattr names no attribute to change");
  return changes;
}

export function flagArg(args: Args, name: string): boolean {
  return argOptional(args, name, argBool) ?? false;
}

export function pageArgs(args: Args): { after?: string; limit?: number } {
  const out: { after?: string; limit?: number } = {};
  const after = argOptional(args, "after", argString, { maxBytes: LIMITS.nameMaxBytes * 4 });
  const limit = argOptional(args, "limit", argInt, { min: 1, max: LIMITS.readdirPageMaxEntries });
  if (after !== undefined) out.after = after;
  if (limit !== undefined) out.limit = limit;
  return out;
}

export { ROOT_INODE };
