import {
  FsError,
  LIMITS,
  ROOT_INODE,
  splitPath,
  splitTarget,
  type AttrChanges,
  type Dentry,
  type DirEntryPlus,
  type DirPage,
  type InodeAttrs,
  type InodeId,
  type MountId,
  type Version,
} from "../types/index.ts";
import type { ServiceCore, WriteOptions } from "./core.ts";
import type { Namespace } from "./namespace.ts";

// Path operations on top of the inode operations: resolve server-side (one request instead of a
// lookup per component), then do the inode op. Symlinks in the middle of a path are followed;
// the last component is followed only where the call says so (stat, not lstat). Writes check
// for an exactly-once replay before resolving, since a retry finds the namespace already changed.

/** Where a path resolves: the mount, the version to read at, and the subtree a snapshot shows. */
export interface PathView {
  mount: MountId;
  at?: Version;
  /**
   * A snapshot of a subtree: paths stay the live namespace's absolute paths (a snapshot of
   * /datasets shows /datasets/...), and only the subtree's root and what is under it resolve;
   * anything else is ENOENT. `..` never climbs above it.
   */
  root?: InodeId;
}

export interface PathArgs extends PathView {
  path: string;
}

export class Paths {
  constructor(
    private readonly core: ServiceCore,
    private readonly ns: Namespace,
  ) {}

  /** The inode at `path`, following symlinks along the way and, when `follow`, at the end. */
  resolve(view: PathView, path: string, follow: boolean): InodeAttrs {
    return this.walk(view, splitPath(path), follow);
  }

  private walk(view: PathView, parts: string[], follow: boolean): InodeAttrs {
    const scope = view.root ?? ROOT_INODE;
    const queue = [...parts];
    let cur = this.core.getInode(view.mount, ROOT_INODE, view.at);
    // Whether the walk stands in the scope's subtree now: it must, at the end.
    let inside = scope === ROOT_INODE;
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "..") {
        if (cur.inode !== ROOT_INODE && cur.inode !== scope) cur = this.core.getInode(view.mount, cur.parent, view.at);
        continue;
      }
      if (cur.type !== "dir") throw new FsError("ENOTDIR", `'${part}' is under a non-directory`);
      const dentry = this.core.readDentry({ mount: view.mount, parent: cur.inode, name: part }, view.at);
      if (!dentry) throw new FsError("ENOENT", `'${part}' not found`);
      const child = this.core.getInode(view.mount, dentry.inode, view.at);
      if (child.type === "symlink" && (queue.length > 0 || follow)) {
        if (++hops > LIMITS.symlinkFollowMax) throw new FsError("ELOOP", `more than ${LIMITS.symlinkFollowMax} symlinks`);
        queue.unshift(...splitTarget(child.target));
        if (child.target.startsWith("/")) {
          cur = this.core.getInode(view.mount, ROOT_INODE, view.at);
          inside = scope === ROOT_INODE;
        }
        continue;
      }
      cur = child;
      if (cur.inode === scope) inside = true;
    }
    if (!inside) throw new FsError("ENOENT", "outside the directory this snapshot holds");
    return cur;
  }

  /** The directory a new or removed entry lives in, and its name. */
  private parentOf(view: PathView, path: string): { dir: InodeAttrs; name: string } {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new FsError("EBUSY", "the root cannot be created, removed or renamed");
    if (name === "..") throw new FsError("EINVAL", `path ends in '..': ${path}`);
    const dir = this.walk(view, parts, true);
    if (dir.type !== "dir") throw new FsError("ENOTDIR", `parent of '${name}' is not a directory`);
    return { dir, name };
  }

  stat(args: PathArgs): InodeAttrs {
    return this.resolve(args, args.path, true);
  }

  lstat(args: PathArgs): InodeAttrs {
    return this.resolve(args, args.path, false);
  }

  readdir(args: PathArgs & { after?: string; limit?: number }): DirPage<Dentry> {
    const dir = this.resolve(args, args.path, true);
    return this.ns.readdir({ ...pageArgs(args), inode: dir.inode });
  }

  readdirPlus(args: PathArgs & { after?: string; limit?: number }): DirPage<DirEntryPlus> {
    const dir = this.resolve(args, args.path, true);
    return this.ns.readdirPlus({ ...pageArgs(args), inode: dir.inode });
  }

  readlink(args: PathArgs): string {
    return this.ns.readlink({ ...viewOf(args), inode: this.resolve(args, args.path, false).inode });
  }

  /** mkdir; with `recursive`, missing parents too, returning the last directory made or null if none was. */
  mkdir(args: PathArgs & WriteOptions & { recursive?: boolean; mode?: number; uid?: number; gid?: number }): InodeAttrs | null {
    const replay = this.core.replayed<InodeAttrs | null>(args);
    if (replay) return replay.value;
    const live = liveOnly(args);
    if (!args.recursive) {
      const { dir, name } = this.parentOf(live, args.path);
      return this.ns.mkdir({ ...ownerOf(args), ...keyOf(args), mount: args.mount, parent: dir.inode, name, parentAttrs: dir });
    }
    const parts = splitPath(args.path);
    let cur = this.core.getInode(args.mount, ROOT_INODE);
    let created: InodeAttrs | null = null;
    for (let i = 0; i < parts.length; i++) {
      const prefix = "/" + parts.slice(0, i + 1).join("/");
      try {
        const found = this.walk(live, parts.slice(0, i + 1), true);
        if (found.type !== "dir") throw new FsError("ENOTDIR", `'${prefix}' is not a directory`);
        cur = found;
        continue;
      } catch (err) {
        if (!(err instanceof FsError) || err.code !== "ENOENT") throw err;
      }
      const name = parts[i]!;
      if (name === "..") throw new FsError("ENOENT", `'${prefix}' does not exist`);
      const options = { ...ownerOf(args), mount: args.mount, parent: cur.inode, name };
      // Only the last directory carries the caller's request key: it is the one a retry repeats.
      cur = this.ns.mkdir(i === parts.length - 1 ? { ...options, ...keyOf(args) } : options);
      created = cur;
    }
    return created;
  }

  createFile(args: PathArgs & WriteOptions & { mode?: number; uid?: number; gid?: number }): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    const { dir, name } = this.parentOf(liveOnly(args), args.path);
    return this.ns.create({ ...ownerOf(args), ...keyOf(args), mount: args.mount, parent: dir.inode, name, parentAttrs: dir });
  }

  symlink(args: PathArgs & WriteOptions & { target: string; uid?: number; gid?: number }): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    const { dir, name } = this.parentOf(liveOnly(args), args.path);
    return this.ns.symlink({ ...ownerOf(args), ...keyOf(args), mount: args.mount, parent: dir.inode, name, target: args.target });
  }

  link(args: PathArgs & WriteOptions & { newPath: string }): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    const live = liveOnly(args);
    const source = this.resolve(live, args.path, false);
    const { dir, name } = this.parentOf(live, args.newPath);
    return this.ns.link({ ...keyOf(args), mount: args.mount, inode: source.inode, newParent: dir.inode, newName: name });
  }

  /** Removes a file, symlink or empty directory. */
  remove(args: PathArgs & WriteOptions & { dirOnly?: boolean; fileOnly?: boolean }): void {
    if (this.core.replayed(args)) return;
    const { dir, name } = this.parentOf(liveOnly(args), args.path);
    const dentry = this.core.readDentry({ mount: args.mount, parent: dir.inode, name });
    if (!dentry) throw new FsError("ENOENT", `'${name}' not found`);
    const entry = { ...keyOf(args), mount: args.mount, parent: dir.inode, name };
    if (dentry.type === "dir") {
      if (args.fileOnly) throw new FsError("EISDIR", `'${args.path}' is a directory`);
      this.ns.rmdir(entry);
    } else {
      if (args.dirOnly) throw new FsError("ENOTDIR", `'${args.path}' is not a directory`);
      this.ns.unlink(entry);
    }
  }

  rename(args: PathArgs & WriteOptions & { newPath: string; noReplace?: boolean; exchange?: boolean }): void {
    if (this.core.replayed(args)) return;
    const live = liveOnly(args);
    const from = this.parentOf(live, args.path);
    const to = this.parentOf(live, args.newPath);
    this.ns.rename({
      ...keyOf(args),
      mount: args.mount,
      parent: from.dir.inode,
      name: from.name,
      newParent: to.dir.inode,
      newName: to.name,
      ...(args.noReplace ? { noReplace: true } : {}),
      ...(args.exchange ? { exchange: true } : {}),
    });
  }

  setattr(args: PathArgs & WriteOptions & { changes: AttrChanges; follow?: boolean }): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    const target = this.resolve(liveOnly(args), args.path, args.follow ?? true);
    return this.ns.setattr({ ...keyOf(args), mount: args.mount, inode: target.inode, changes: args.changes });
  }
}

function viewOf(args: PathView): PathView {
  const view: PathView = { mount: args.mount };
  if (args.at !== undefined) view.at = args.at;
  if (args.root !== undefined) view.root = args.root;
  return view;
}

function pageArgs(args: PathArgs & { after?: string; limit?: number }) {
  return {
    mount: args.mount,
    ...(args.at === undefined ? {} : { at: args.at }),
    ...(args.after === undefined ? {} : { after: args.after }),
    ...(args.limit === undefined ? {} : { limit: args.limit }),
  };
}

/** Writes go to the live namespace only; a snapshot view refuses them. */
function liveOnly(view: PathView): PathView {
  if (view.at !== undefined || (view.root !== undefined && view.root !== ROOT_INODE)) {
    throw new FsError("EROFS", "snapshots are read-only");
  }
  return { mount: view.mount };
}

function ownerOf(args: { mode?: number; uid?: number; gid?: number }) {
  return {
    ...(args.mode === undefined ? {} : { mode: args.mode }),
    ...(args.uid === undefined ? {} : { uid: args.uid }),
    ...(args.gid === undefined ? {} : { gid: args.gid }),
  };
}

/** The caller's key for the inode op, marked as already looked up: one dedupe read per request. */
function keyOf(args: WriteOptions): WriteOptions {
  return args.requestKey === undefined ? {} : { requestKey: args.requestKey, replayChecked: true };
}
