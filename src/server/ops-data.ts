import { FsError, LIMITS, ROOT_INODE, formatCursor, parseCursor, type BodyManifest, type WatchCursor } from "../types/index.ts";
import { argInt, argMap, argOptional, argString, type Args } from "../wire/index.ts";
import { CATALOG_SHARD, decodeCommand } from "../schema/index.ts";
import { changesArg, flagArg, inodeArg, mountArg, nameArg, ownerArgs, pathArg, viewArg, writeKey, type OpContext, type OpSpec } from "./op-context.ts";

// Publish, read plans, snapshots, watch, mounts and housekeeping ops.

const read = (run: OpSpec["run"]): OpSpec => ({ write: false, run });
const write = (run: OpSpec["run"]): OpSpec => ({ write: true, run });

/** A publish's `changes`: a setattr of mode, owner and times that lands with the body (never its size). */
function publishChanges(args: Args): { changes?: ReturnType<typeof changesArg> } {
  const changes = argOptional(args, "changes", argMap);
  if (changes === undefined) return {};
  const parsed = changesArg(changes);
  if (parsed.sizeBytes !== undefined) throw new FsError("EINVAL", "a publish's changes cannot set sizeBytes: the manifest is the size");
  return { changes: parsed };
}

/** The directory and name a path op publishes into. */
function parentAndName(ctx: OpContext, args: Args): { mount: number; parent: number; name: string } {
  const mount = mountArg(ctx, args);
  if (args.path === undefined) return { mount, parent: inodeArg(args, "parent"), name: nameArg(args) };
  const path = pathArg(args);
  const cut = path.replace(/\/+$/, "").lastIndexOf("/");
  const dirPath = cut <= 0 ? "/" : path.slice(0, cut);
  const name = path.replace(/\/+$/, "").slice(cut + 1);
  const dir = ctx.service.paths.stat({ mount, path: dirPath });
  if (dir.type !== "dir") throw new FsError("ENOTDIR", `'${dirPath}' is not a directory`);
  return { mount, parent: dir.inode, name };
}

function cursorArg(ctx: OpContext, args: Args, mount: number): WatchCursor {
  const text = argOptional(args, "cursor", argString, { maxBytes: 64 });
  if (text === undefined || text === "now") return ctx.service.watch.head(mount);
  const cursor = parseCursor(text);
  if (!cursor) throw new FsError("EINVAL", `args.cursor '${text}' is not VERSION.ORDINAL or "now"`);
  return cursor;
}

/**
 * The directory a watch or snapshot names: `inode`, or `path`, or the mount root. By inode too it
 * must be a directory now: a watch of one already removed would wait for events that never come.
 */
function dirArg(ctx: OpContext, args: Args, mount: number): number {
  if (args.inode !== undefined && args.inode !== null) return ctx.service.core.getDir(mount, inodeArg(args)).inode;
  if (args.path !== undefined && args.path !== null) return ctx.service.paths.stat({ mount, path: pathArg(args) }).inode;
  return ROOT_INODE;
}

export const DATA_OPS: Record<string, OpSpec> = {
  hello: read((ctx, a) => {
    const name = argOptional(a, "mount", argString, { maxBytes: LIMITS.nameMaxBytes }) ?? "default";
    const id = ctx.service.mounts.resolve(name);
    return { mount: { id, name }, objects: ctx.objectsUrl, durability: ctx.durability, storeId: ctx.storeId, limits: LIMITS, protocol: 1 };
  }),
  mounts_list: read((ctx) => ctx.service.mounts.list()),
  mount_create: write((ctx, a, k) => ctx.service.mounts.create(argString(a, "name", { maxBytes: LIMITS.nameMaxBytes * 4 }), writeKey(k))),

  prepare: write((ctx, a, k) =>
    a.inode !== undefined && a.parent === undefined && a.path === undefined
      ? ctx.service.publisher.prepareInode({ mount: mountArg(ctx, a), inode: inodeArg(a), ...optionalInt(a, "expiryMs", "expiryMs"), ...writeKey(k) })
      : ctx.service.publisher.prepare({
          ...parentAndName(ctx, a),
          ...optionalInt(a, "blockSizeBytes", "blockSizeBytes"),
          ...optionalInt(a, "expiryMs", "expiryMs"),
          ...writeKey(k),
        }),
  ),
  publish: write((ctx, a, k) =>
    ctx.service.publisher.publish({
      ...parentAndName(ctx, a),
      prepareId: argString(a, "prepareId", { maxBytes: 256 }),
      manifest: argMap(a, "manifest") as unknown as BodyManifest,
      replace: flagArg(a, "replace"),
      patch: flagArg(a, "patch"),
      ...optionalInt(a, "prepareNextExpiryMs", "prepareNextExpiryMs"),
      ...optionalInt(a, "ifGeneration", "ifGeneration"),
      ...ownerArgs(a),
      ...publishChanges(a),
      ...writeKey(k),
    }),
  ),
  body_manifest: read((ctx, a) => ctx.service.publisher.bodyManifest({ mount: mountArg(ctx, a), inode: inodeArg(a), ...optionalInt(a, "generation", "generation") })),
  read_plan: read((ctx, a) => {
    const view = viewArg(ctx, a);
    return ctx.service.publisher.readPlan({
      mount: view.mount,
      ...(view.at === undefined ? {} : { at: view.at }),
      inode: inodeArg(a),
      offsetBytes: argInt(a, "offsetBytes", { min: 0 }),
      lengthBytes: argInt(a, "lengthBytes", { min: 0 }),
      ...optionalInt(a, "generation", "generation"),
    });
  }),

  snapshot_create: write((ctx, a, k) => {
    const mount = mountArg(ctx, a);
    return ctx.service.snapshots.create({ mount, inode: dirArg(ctx, a, mount), ...writeKey(k) });
  }),
  snapshot_list: read((ctx, a) => ctx.service.snapshots.list(mountArg(ctx, a))),
  snapshot_get: read((ctx, a) => ctx.service.snapshots.get(mountArg(ctx, a), argInt(a, "snapshot", { min: 1 }))),
  snapshot_retire: write((ctx, a, k) => ctx.service.snapshots.retire({ mount: mountArg(ctx, a), snapshotId: argInt(a, "snapshot", { min: 1 }), ...writeKey(k) })),

  watch_replay: read((ctx, a) => {
    const mount = mountArg(ctx, a);
    const page = ctx.service.watch.replay({
      mount,
      scope: dirArg(ctx, a, mount),
      cursor: cursorArg(ctx, a, mount),
      ...optionalInt(a, "limit", "limit"),
    });
    return { ...page, cursor: formatCursor(page.cursor) };
  }),
  /**
   * Subscribes from a cursor: metad pushes every event after it in commit order, first what the
   * log holds, then each commit as it happens. `subscription`: the client's id for its pushes.
   */
  watch_subscribe: read((ctx, a) => {
    const mount = mountArg(ctx, a);
    const scope = dirArg(ctx, a, mount);
    const id = argOptional(a, "subscription", argInt, { min: 1, max: 2 ** 31 - 1 });
    return ctx.subscribe({ mount, scope, cursor: cursorArg(ctx, a, mount), ...(id === undefined ? {} : { id }) });
  }),
  watch_unsubscribe: read((ctx, a) => ({ removed: ctx.unsubscribe(argInt(a, "subscription", { min: 1 })) })),

  /** A page of a shard's command log, decoded: what a replica applies, for people and tools to read. */
  log_read: read((ctx, a) => {
    const shard = flagArg(a, "catalog") ? CATALOG_SHARD : mountArg(ctx, a);
    const state = ctx.service.store.shardState(shard);
    const from = Math.max(argOptional(a, "from", argInt, { min: 0 }) ?? state.logFloor, state.logFloor, 1);
    const limit = argOptional(a, "limit", argInt, { min: 1, max: LIMITS.logPageMaxEntries }) ?? LIMITS.logPageMaxEntries;
    const entries = ctx.service.store.readLog(shard, from, limit).map((e) => {
      const { result: _result, ...command } = decodeCommand(e.bytes);
      return { version: e.version, kind: e.kind, command };
    });
    const last = entries[entries.length - 1];
    return { shard, floor: Math.max(state.logFloor, 1), head: state.version, entries, nextFrom: last && last.version < state.version ? last.version + 1 : null };
  }),
  gc: { write: false, async: true, run: (ctx) => ctx.runGc() },
  stats: read((ctx) => ctx.stats()),
};

function optionalInt<K extends string>(args: Args, field: string, as: K): { [P in K]?: number } {
  const value = argOptional(args, field, argInt, { min: 0 });
  return (value === undefined ? {} : { [as]: value }) as { [P in K]?: number };
}
