import { argArray, argBytes, argInt, argOptional, argString, type Args } from "../wire/index.ts";
import { FsError, LIMITS, type InodeType } from "../types/index.ts";
import { createEach, type CreateEachEntry, type NewEntryArgs } from "../service/index.ts";
import {
  atArg, changesArg, flagArg, inodeArg, mountArg, nameArg, ownerArgs, pageArgs, pathArg, viewArg, writeKey,
  type OpContext, type OpSpec,
} from "./op-context.ts";

// Inode ops (what FUSE uses) and path ops (what the SDK's fs-like API uses), argument to service.

const read = (run: OpSpec["run"]): OpSpec => ({ write: false, run });
const write = (run: OpSpec["run"]): OpSpec => ({ write: true, run });

const entry = (ctx: OpContext, args: Args) => ({ mount: mountArg(ctx, args), parent: inodeArg(args, "parent"), name: nameArg(args) });

/** What a `create` request asks for, as the service takes it (group commit merges runs of them). */
export function createArgs(ctx: OpContext, args: Args, requestKey: string | undefined): NewEntryArgs {
  return { ...entry(ctx, args), ...ownerArgs(args), ...writeKey(requestKey) };
}

/** A `create` or `create_prepared` request as one entry of a merged run (createEach). */
export function createEachArgs(ctx: OpContext, op: string, args: Args, requestKey: string | undefined): CreateEachEntry {
  const created = createArgs(ctx, args, requestKey);
  if (op !== "create_prepared") return created;
  const expiryMs = argOptional(args, "expiryMs", argInt, { min: 1, max: LIMITS.stagedExpiryMaxMs });
  return { ...created, prepare: expiryMs === undefined ? {} : { expiryMs } };
}
const sessionArg = (a: Args) => argString(a, "session", { maxBytes: LIMITS.sessionIdMaxBytes });
const keepOpenArg = (a: Args): { keepOpen?: string } => {
  const session = argOptional(a, "keepOpen", argString, { maxBytes: LIMITS.sessionIdMaxBytes });
  return session === undefined ? {} : { keepOpen: session };
};
/** An array of inode numbers (bigints from int64-only encoders accepted). */
const inodesArg = (a: Args): number[] =>
  argArray(a, "inodes", { maxLength: LIMITS.readdirPageMaxEntries }).map((v) => {
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) throw new FsError("EINVAL", `args.inodes holds ${String(v)}, not an inode number`);
    return n;
  });
const xattrNameArg = (a: Args) => argString(a, "name", { maxBytes: LIMITS.xattrNameMaxBytes * 4 });

export const NAMESPACE_OPS: Record<string, OpSpec> = {
  lookup: read((ctx, a) => ctx.service.ns.lookup({ ...atArg(ctx, a), parent: inodeArg(a, "parent"), name: nameArg(a) })),
  getattr: read((ctx, a) => ctx.service.ns.getattr({ ...atArg(ctx, a), inode: inodeArg(a) })),
  readdir: read((ctx, a) => ctx.service.ns.readdir({ ...atArg(ctx, a), inode: inodeArg(a), ...pageArgs(a) })),
  readdir_plus: read((ctx, a) => ctx.service.ns.readdirPlus({ ...atArg(ctx, a), inode: inodeArg(a), ...pageArgs(a) })),
  readlink: read((ctx, a) => ctx.service.ns.readlink({ ...atArg(ctx, a), inode: inodeArg(a) })),
  mkdir: write((ctx, a, k) => ctx.service.ns.mkdir({ ...entry(ctx, a), ...ownerArgs(a), ...writeKey(k) })),
  create: write((ctx, a, k) => ctx.service.ns.create(createArgs(ctx, a, k))),
  // A new file and where its first body goes, in one round trip and one command (createEach): the
  // small file an agent writes costs this and one publish. The request key records the file; a
  // retry gets it and stages another prepare, and the unused one expires.
  create_prepared: write((ctx, a, k) => {
    const args = createEachArgs(ctx, "create_prepared", a, k);
    const [result] = createEach(ctx.service.core, args.mount, [args]);
    if (result instanceof FsError) throw result;
    return result;
  }),
  mknod: write((ctx, a, k) =>
    ctx.service.ns.mknod({
      ...entry(ctx, a),
      type: argString(a, "type") as InodeType,
      rdev: argOptional(a, "rdev", argInt, { min: 0, max: 0xffff_ffff }) ?? 0,
      ...ownerArgs(a),
      ...writeKey(k),
    }),
  ),
  create_files: write((ctx, a, k) =>
    ctx.service.ns.createFiles({
      mount: mountArg(ctx, a),
      parent: inodeArg(a, "parent"),
      names: argArray(a, "names", { maxLength: LIMITS.createManyMaxNames }) as string[],
      ...ownerArgs(a),
      ...writeKey(k),
    }),
  ),
  remove_files: write((ctx, a, k) =>
    ctx.service.ns.removeFiles({
      mount: mountArg(ctx, a),
      parent: inodeArg(a, "parent"),
      names: argArray(a, "names", { maxLength: LIMITS.removeManyMaxNames }) as string[],
      ...writeKey(k),
    }),
  ),
  symlink: write((ctx, a, k) => ctx.service.ns.symlink({ ...entry(ctx, a), target: argString(a, "target", { allowEmpty: true }), ...ownerArgs(a), ...writeKey(k) })),
  link: write((ctx, a, k) =>
    ctx.service.ns.link({ mount: mountArg(ctx, a), inode: inodeArg(a), newParent: inodeArg(a, "newParent"), newName: nameArg(a, "newName"), ...writeKey(k) }),
  ),
  unlink: write((ctx, a, k) => ctx.service.ns.unlink({ ...entry(ctx, a), ...keepOpenArg(a), returnParent: flagArg(a, "returnParent"), ...writeKey(k) })),
  rmdir: write((ctx, a, k) => ctx.service.ns.rmdir({ ...entry(ctx, a), returnParent: flagArg(a, "returnParent"), ...writeKey(k) })),
  rename: write((ctx, a, k) =>
    ctx.service.ns.rename({
      ...entry(ctx, a),
      newParent: inodeArg(a, "newParent"),
      newName: nameArg(a, "newName"),
      noReplace: flagArg(a, "noReplace"),
      exchange: flagArg(a, "exchange"),
      ...keepOpenArg(a),
      ...writeKey(k),
    }),
  ),
  setattr: write((ctx, a, k) => ctx.service.ns.setattr({ mount: mountArg(ctx, a), inode: inodeArg(a), changes: changesArg(a), ...writeKey(k) })),

  getxattr: read((ctx, a) => ctx.service.xattrs.get({ mount: mountArg(ctx, a), inode: inodeArg(a), name: xattrNameArg(a) })),
  xattr_names: read((ctx, a) =>
    ctx.service.xattrs.namesOf({ mount: mountArg(ctx, a), inodes: inodesArg(a) }),
  ),
  listxattr: read((ctx, a) => ctx.service.xattrs.list({ mount: mountArg(ctx, a), inode: inodeArg(a) })),
  setxattr: write((ctx, a, k) =>
    ctx.service.xattrs.set({
      mount: mountArg(ctx, a),
      inode: inodeArg(a),
      name: xattrNameArg(a),
      value: argBytes(a, "value", { maxBytes: LIMITS.xattrValueMaxBytes }),
      flags: argOptional(a, "flags", argInt, { min: 0, max: 3 }) ?? 0,
      ...writeKey(k),
    }),
  ),
  removexattr: write((ctx, a, k) => ctx.service.xattrs.remove({ mount: mountArg(ctx, a), inode: inodeArg(a), name: xattrNameArg(a), ...writeKey(k) })),

  // Orphans: unlinked files a mount session holds open (see src/service/orphans.ts).
  orphan_release: write((ctx, a, k) => ctx.service.orphans.release({ mount: mountArg(ctx, a), inode: inodeArg(a), session: sessionArg(a), ...writeKey(k) })),
  session_renew: write((ctx, a, k) => ctx.service.orphans.renew({ mount: mountArg(ctx, a), session: sessionArg(a), ...writeKey(k) })),
  session_close: write((ctx, a, k) => ctx.service.orphans.closeSession({ mount: mountArg(ctx, a), session: sessionArg(a), ...writeKey(k) })),

  stat_path: read((ctx, a) => ctx.service.paths.stat({ ...viewArg(ctx, a), path: pathArg(a) })),
  lstat_path: read((ctx, a) => ctx.service.paths.lstat({ ...viewArg(ctx, a), path: pathArg(a) })),
  readdir_path: read((ctx, a) => {
    const args = { ...viewArg(ctx, a), path: pathArg(a), ...pageArgs(a) };
    return flagArg(a, "plus") ? ctx.service.paths.readdirPlus(args) : ctx.service.paths.readdir(args);
  }),
  readlink_path: read((ctx, a) => ctx.service.paths.readlink({ ...viewArg(ctx, a), path: pathArg(a) })),
  mkdir_path: write((ctx, a, k) =>
    ctx.service.paths.mkdir({ ...viewArg(ctx, a), path: pathArg(a), recursive: flagArg(a, "recursive"), ...ownerArgs(a), ...writeKey(k) }),
  ),
  create_file_path: write((ctx, a, k) => ctx.service.paths.createFile({ ...viewArg(ctx, a), path: pathArg(a), ...ownerArgs(a), ...writeKey(k) })),
  symlink_path: write((ctx, a, k) =>
    ctx.service.paths.symlink({ ...viewArg(ctx, a), path: pathArg(a), target: argString(a, "target", { allowEmpty: true }), ...ownerArgs(a), ...writeKey(k) }),
  ),
  link_path: write((ctx, a, k) => ctx.service.paths.link({ ...viewArg(ctx, a), path: pathArg(a), newPath: pathArg(a, "newPath"), ...writeKey(k) })),
  remove_path: write((ctx, a, k) =>
    ctx.service.paths.remove({ ...viewArg(ctx, a), path: pathArg(a), dirOnly: flagArg(a, "dirOnly"), fileOnly: flagArg(a, "fileOnly"), ...writeKey(k) }),
  ),
  rename_path: write((ctx, a, k) =>
    ctx.service.paths.rename({
      ...viewArg(ctx, a),
      path: pathArg(a),
      newPath: pathArg(a, "newPath"),
      noReplace: flagArg(a, "noReplace"),
      exchange: flagArg(a, "exchange"),
      ...writeKey(k),
    }),
  ),
  setattr_path: write((ctx, a, k) =>
    ctx.service.paths.setattr({
      ...viewArg(ctx, a),
      path: pathArg(a),
      changes: changesArg(a),
      follow: argOptional(a, "follow", (x, n) => x[n] === true) ?? true,
      ...writeKey(k),
    }),
  ),
};
