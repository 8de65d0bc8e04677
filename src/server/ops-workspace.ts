import { LIMITS } from "../types/index.ts";
import { argInt, argOptional, argString } from "../wire/index.ts";
import type { DiffSide } from "../service/index.ts";
import { mountArg, pathArg, viewArg, writeKey, type OpContext, type OpSpec } from "./op-context.ts";
import type { Args } from "../wire/index.ts";

// Agent workspaces: clone a subtree (live or from a snapshot), diff two subtrees a page at a time,
// roll a directory back to a snapshot.

/** One side of a diff: `path` (and `snapshot`), or `otherPath` (and `otherSnapshot`). */
function diffSide(ctx: OpContext, args: Args, pathField: string, snapshotField: string): DiffSide {
  const side: DiffSide = { path: pathArg(args, pathField) };
  const snapshotId = argOptional(args, snapshotField, argInt, { min: 1 });
  if (snapshotId === undefined) return side;
  const snap = ctx.service.snapshots.get(mountArg(ctx, args), snapshotId);
  return { ...side, at: snap.readVersion, root: snap.rootInode };
}

export const WORKSPACE_OPS: Record<string, OpSpec> = {
  /** Copies `path` (of `snapshot` when given) to `newPath` as one command, no byte copied. */
  clone_path: {
    write: true,
    run: (ctx, a, k) => {
      const view = viewArg(ctx, a);
      const source = { path: pathArg(a), ...(view.at === undefined ? {} : { at: view.at }), ...(view.root === undefined ? {} : { root: view.root }) };
      return ctx.service.clones.clone({ mount: view.mount, source, target: pathArg(a, "newPath"), ...writeKey(k) });
    },
  },
  /** One page of the differences from `path` (`snapshot`) to `otherPath` (`otherSnapshot`). */
  diff: {
    write: false,
    run: (ctx, a) =>
      ctx.service.differ.diff({
        mount: mountArg(ctx, a),
        a: diffSide(ctx, a, "path", "snapshot"),
        b: diffSide(ctx, a, "otherPath", "otherSnapshot"),
        ...optional("cursor", argOptional(a, "cursor", argString, { maxBytes: LIMITS.pathMaxBytes * 2, allowEmpty: true })),
        ...optional("limit", argOptional(a, "limit", argInt, { min: 1, max: LIMITS.diffPageMaxEntries })),
      }),
  },
  /** The directory at `path` becomes what snapshot `snapshot` saw of it. */
  rollback_path: {
    write: true,
    run: (ctx, a, k) =>
      ctx.service.rollbacks.rollback({ mount: mountArg(ctx, a), path: pathArg(a), snapshotId: argInt(a, "snapshot", { min: 1 }), ...writeKey(k) }),
  },
};

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
