import { FsError, nowNs, toFsError, validateName, type InodeAttrs, type InodeId, type MountId } from "../types/index.ts";
import type { MetadataCommand } from "../schema/index.ts";
import { newInode, type ServiceCore } from "./core.ts";
import { touchDir, type NewEntryArgs } from "./namespace.ts";

/**
 * Empty files in any directories of one mount, from many independent requests, as ONE command:
 * what group commit does with a burst of single creates from many clients. Each request keeps its
 * own answer: a replay of its key, an error (bad name, no such directory, the name exists), or
 * its new attributes, recorded under its own key. Batching them costs one log entry, one parent
 * write per directory and one clock update instead of one of each per request.
 */
export function createEach(core: ServiceCore, mount: MountId, entries: readonly NewEntryArgs[]): Array<InodeAttrs | FsError> {
  const out: Array<InodeAttrs | FsError> = new Array(entries.length);
  const command = core.command("create_files", mount);
  const dirs = new Map<InodeId, InodeAttrs | FsError>();
  const taken = new Set<string>();
  const now = nowNs();
  const values: Array<[number, ReturnType<typeof newInode>]> = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    try {
      if (e.mount !== mount) throw new Error(`createEach: entry in mount ${e.mount}, command in ${mount}`);
      const replay = core.replayed<InodeAttrs>(e);
      if (replay) {
        out[i] = replay.value;
        continue;
      }
      validateName(e.name);
      let dir = dirs.get(e.parent);
      if (!dir) {
        try {
          dir = core.getDir(mount, e.parent);
        } catch (err) {
          dir = toFsError(err);
        }
        dirs.set(e.parent, dir);
      }
      if (dir instanceof FsError) throw dir;
      const slot = `${e.parent}/${e.name}`;
      // The read of the name is the check: build and apply run in one synchronous turn.
      if (taken.has(slot) || core.readDentry({ mount, parent: e.parent, name: e.name })) throw new FsError("EEXIST", `'${e.name}' exists`);
      taken.add(slot);
      const inode = core.allocateId(command);
      const value = newInode({ inode, type: "file", parent: e.parent, now, mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.gid ?? 0 });
      command.mutations.push(
        { family: "inode", op: "insert", key: { mount, inode }, value },
        { family: "dentry", op: "insert", key: { mount, parent: e.parent, name: e.name }, value: { inode, type: "file" } },
      );
      command.watchEvents.push({ mount, kind: "create", scope: e.parent, name: e.name, inode });
      values.push([i, value]);
    } catch (err) {
      out[i] = toFsError(err);
    }
  }
  if (values.length === 0) return out;
  for (const dir of dirs.values()) if (!(dir instanceof FsError)) command.mutations.push(touchDir(mount, dir, now, 0));
  const dedupe: NonNullable<MetadataCommand["dedupe"]> = [];
  for (const [i, value] of values) {
    const attrs = core.resultOf({ ...value, version: command.version });
    out[i] = attrs;
    const key = entries[i]!.requestKey;
    if (key !== undefined) dedupe.push({ requestKey: key, result: core.encodedOf(attrs)! });
  }
  if (dedupe.length > 0) command.dedupe = dedupe;
  core.commit(command);
  return out;
}
