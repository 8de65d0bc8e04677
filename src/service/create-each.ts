import { FsError, LIMITS, nowNs, toFsError, validateName, type InodeAttrs, type InodeId, type MountId, type PreparedPublish } from "../types/index.ts";
import type { MetadataCommand, Mutation } from "../schema/index.ts";
import { newInode, type ServiceCore } from "./core.ts";
import { touchDir, type NewEntryArgs } from "./namespace.ts";
import { checkExpiry, stageBody, stagePrepareOf } from "./stage.ts";

/** One request of a merged run: a create, or (with `prepare`) a create_prepared. */
export interface CreateEachEntry extends NewEntryArgs {
  /** Also stage the new file's first body, expiring after expiryMs (default LIMITS.stagedExpiryDefaultMs). */
  prepare?: { expiryMs?: number };
}

/** What a create_prepared answers: the new file and where its first body goes. */
export interface CreatedPrepared {
  attrs: InodeAttrs;
  prepared: PreparedPublish;
}

/**
 * Empty files in any directories of one mount, from many independent requests, as ONE command:
 * what group commit does with a burst of single creates from many clients. Each request keeps its
 * own answer: a replay of its key, an error (bad name, no such directory, the name exists), or
 * its new attributes, recorded under its own key. Batching them costs one log entry, one parent
 * write per directory and one clock update instead of one of each per request. An entry with
 * `prepare` also stages its file's first body in the same command (one log entry, not two); its
 * key records the attributes only, so a retry gets them and a new prepare, as a retry of a create
 * and then a prepare would.
 */
export function createEach(core: ServiceCore, mount: MountId, entries: readonly CreateEachEntry[]): Array<InodeAttrs | CreatedPrepared | FsError> {
  const out: Array<InodeAttrs | CreatedPrepared | FsError> = new Array(entries.length);
  const command = core.command("create_files", mount);
  const dirs = new Map<InodeId, InodeAttrs | FsError>();
  const taken = new Set<string>();
  const now = nowNs();
  const values: Array<[number, ReturnType<typeof newInode>, PreparedPublish | undefined]> = [];
  let replayedPrepares = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    try {
      if (e.mount !== mount) throw new Error(`createEach: entry in mount ${e.mount}, command in ${mount}`);
      const replay = core.replayed<InodeAttrs>(e);
      if (replay) {
        // The file was made earlier; its prepare is new, of the name as it is now.
        out[i] = e.prepare ? { attrs: replay.value, prepared: stagePrepareOf(core, command, { mount, parent: e.parent, name: e.name, ...e.prepare }) } : replay.value;
        if (e.prepare) replayedPrepares++;
        continue;
      }
      validateName(e.name);
      const dir = dirOf(core, dirs, mount, e.parent);
      if (dir instanceof FsError) throw dir;
      const slot = `${e.parent}/${e.name}`;
      // The read of the name is the check: build and apply run in one synchronous turn.
      if (taken.has(slot) || core.readDentry({ mount, parent: e.parent, name: e.name })) throw new FsError("EEXIST", `'${e.name}' exists`);
      const expiryMs = e.prepare?.expiryMs ?? LIMITS.stagedExpiryDefaultMs;
      if (e.prepare) checkExpiry(expiryMs);
      taken.add(slot);
      const inode = core.allocateId(command);
      const value = newInode({ inode, type: "file", parent: e.parent, now, mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.gid ?? 0 });
      command.mutations.push(
        { family: "inode", op: "insert", key: { mount, inode }, value },
        { family: "dentry", op: "insert", key: { mount, parent: e.parent, name: e.name }, value: { inode, type: "file" } },
      );
      command.watchEvents.push({ mount, kind: "create", scope: e.parent, name: e.name, inode });
      const prepared = e.prepare ? stageBody(core, command, { mount, inode, expiryMs, freshInode: false, blockSizeBytes: LIMITS.blockSizeDefaultBytes }) : undefined;
      values.push([i, value, prepared]);
    } catch (err) {
      out[i] = toFsError(err);
    }
  }
  if (values.length === 0 && replayedPrepares === 0) return out;
  if (values.length > 0) for (const dir of dirs.values()) if (!(dir instanceof FsError)) command.mutations.push(touchDir(mount, dir, now, 0));
  command.mutations = stagedLast(command.mutations);
  const dedupe: NonNullable<MetadataCommand["dedupe"]> = [];
  for (const [i, value, prepared] of values) {
    const attrs = core.resultOf({ ...value, version: command.version });
    out[i] = prepared ? { attrs, prepared } : attrs;
    const key = entries[i]!.requestKey;
    if (key !== undefined) dedupe.push({ requestKey: key, result: core.encodedOf(attrs)! });
  }
  if (dedupe.length > 0) command.dedupe = dedupe;
  core.commit(command);
  return out;
}

function dirOf(core: ServiceCore, dirs: Map<InodeId, InodeAttrs | FsError>, mount: MountId, parent: InodeId): InodeAttrs | FsError {
  let dir = dirs.get(parent);
  if (!dir) {
    try {
      dir = core.getDir(mount, parent);
    } catch (err) {
      dir = toFsError(err);
    }
    dirs.set(parent, dir);
  }
  return dir;
}

/**
 * The staged rows after every other mutation: the store inserts new inodes and names many rows
 * per statement until another kind of write comes between them. The rows are distinct, so the
 * order changes nothing else.
 */
function stagedLast(mutations: Mutation[]): Mutation[] {
  if (!mutations.some((m) => m.family === "staged")) return mutations;
  return [...mutations.filter((m) => m.family !== "staged"), ...mutations.filter((m) => m.family === "staged")];
}
