import { FsError, S_IFMT, isSpecialType, nowNs, typeOfModeBits, type AttrChanges, type InodeAttrs } from "../../types/index.ts";
import { RENAME_EXCHANGE, RENAME_NOREPLACE, type AttrOut, type RawFileSystem, type SetattrIn } from "../kernel/index.ts";
import { negativeEntry, toFuseAttr } from "./attrs.ts";
import type { Node } from "./node-table.ts";
import { S_ISUID_ISGID, attrTimeoutFor, checkWritable, madeEntry, ownerOf, replyEntry, type FsState } from "./state.ts";

// Names and attributes: LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR,
// UNLINK, RMDIR, RENAME(2), LINK. Each is one SDK inode call plus bookkeeping.

type EntryOps = "lookup" | "forget" | "getattr" | "setattr" | "readlink" | "symlink" | "mknod" | "mkdir" | "unlink" | "rmdir" | "rename" | "link";

export function entryOps(state: FsState): Pick<RawFileSystem, EntryOps> {
  const { nodes, source } = state;
  const inodeOf = (nodeid: number) => nodes.require(nodeid).inode;
  const attrOut = (node: Node): AttrOut => ({ attrValidMs: attrTimeoutFor(state, node), attr: toFuseAttr(nodes, node.attrs, state.bodies.overlay(node)) });

  return {
    async lookup(_ctx, parent, name) {
      if (state.local.knownAbsent(parent, name)) return negativeEntry(state.timeoutFor(parent));
      try {
        const attrs = await source.lookup(inodeOf(parent), name);
        const entry = replyEntry(state, parent, name, attrs);
        if (attrs.type === "file") state.local.fileFresh(entry.nodeid);
        return entry;
      } catch (err) {
        if ((err as FsError).code !== "ENOENT") throw err;
        state.sawDir(parent);
        return negativeEntry(state.timeoutFor(parent));
      }
    },
    forget(nodeid, nlookup) {
      nodes.forget(nodeid, nlookup);
    },
    async getattr(_ctx, nodeid) {
      const node = nodes.require(nodeid);
      // A directory's attribute events land in its parent's scope (the root's in its own).
      const attrScope = node.type === "dir" ? (nodes.linkOf(node)?.parent ?? nodeid) : 0;
      if (node.type === "dir" && state.local.dirAttrsCurrent(nodeid, attrScope)) return attrOut(node);
      // A named file open for writing here: size and times are ours until the publish, and after
      // it node.attrs holds its reply. (An unlinked one asks metad: its link count moved.)
      const link = nodes.linkOf(node);
      if (node.type === "file" && state.bodies.openForWrite(node) && link !== null) return attrOut(node);
      if (node.type === "file" && link !== null && node.attrs.nlink === 1 && state.local.fileAttrsCurrent(nodeid, link.parent)) return attrOut(node);
      nodes.update(node, await source.getattr(node.inode));
      if (node.type === "dir") state.local.dirFresh(nodeid);
      else if (node.type === "file") state.local.fileFresh(nodeid);
      return attrOut(node);
    },
    async setattr(_ctx, nodeid, changes) {
      checkWritable(state);
      const node = nodes.require(nodeid);
      if (sameOwner(state, node, changes)) {
        // SQLite's fchown of a new journal to the owner it already has: only ctime moves, and the
        // publish of the file open for writing here stamps it.
        await state.bodies.touch(node);
        return attrOut(node);
      }
      const serverChanges = await bodyFirst(state, node, changes);
      // Between a file's writes and its close (tar, cp -p): the publish carries the change.
      if (serverChanges.sizeBytes === undefined && Object.keys(serverChanges).length > 0 && state.bodies.defer(node, serverChanges)) return attrOut(node);
      if (Object.keys(serverChanges).length > 0) {
        const attrs = await source.setattr(node.inode, serverChanges);
        nodes.ownCommit(attrs);
        nodes.update(node, attrs);
        // The reply is metad's state after our change (and after any commit before it), as a
        // getattr's would be: git's lstat after each chmod needs no round trip.
        if (node.type === "file") state.local.fileFresh(nodeid);
      }
      return attrOut(node);
    },
    async readlink(_ctx, nodeid) {
      const node = nodes.require(nodeid);
      return node.attrs.target !== "" ? node.attrs.target : await source.readlink(node.inode);
    },
    async symlink(ctx, parent, name, target) {
      checkWritable(state);
      return madeEntry(state, parent, name, await source.symlink(inodeOf(parent), name, target, ownerOf(ctx)));
    },
    async mknod(ctx, parent, name, mode, rdev) {
      checkWritable(state);
      const type = typeOfModeBits(mode);
      if (type === "file") return madeEntry(state, parent, name, await source.create(inodeOf(parent), name, ownerOf(ctx, mode)));
      if (type === null || !isSpecialType(type)) throw new FsError("EINVAL", `mknod of mode ${(mode & S_IFMT).toString(8)}: not a file, fifo, socket or device`);
      const node = { type, rdev: type === "chardev" || type === "blockdev" ? rdev : 0 };
      return madeEntry(state, parent, name, await source.mknod(inodeOf(parent), name, node, ownerOf(ctx, mode)));
    },
    async mkdir(ctx, parent, name, mode) {
      checkWritable(state);
      return madeEntry(state, parent, name, await source.mkdir(inodeOf(parent), name, ownerOf(ctx, mode)));
    },
    async unlink(_ctx, parent, name) {
      checkWritable(state);
      const open = openFileAt(state, parent, name);
      const dir = await source.unlink(inodeOf(parent), name, open ? { keepOpen: true } : {});
      if (open) state.orphans.add(open.nodeid);
      nodes.removed(parent, name);
      removedEntry(state, parent, name, dir);
    },
    async rmdir(_ctx, parent, name) {
      checkWritable(state);
      const dir = await source.rmdir(inodeOf(parent), name);
      nodes.removed(parent, name);
      removedEntry(state, parent, name, dir);
    },
    async rename(_ctx, { parent, name, newParent, newName, flags }) {
      checkWritable(state);
      const exchange = (flags & RENAME_EXCHANGE) !== 0;
      // The file a rename replaces may be open here: its handles keep reading the old inode.
      const open = exchange ? null : openFileAt(state, newParent, newName);
      const replaced = open !== null && open.nodeid !== nodes.childOf(parent, name);
      await source.rename({
        parent: inodeOf(parent), name, newParent: inodeOf(newParent), newName, noReplace: (flags & RENAME_NOREPLACE) !== 0, exchange,
        ...(replaced ? { keepOpen: true } : {}),
      });
      if (replaced) state.orphans.add(open.nodeid);
      if (exchange) nodes.exchanged({ parent, name }, { parent: newParent, name: newName });
      else nodes.moved({ parent, name }, { parent: newParent, name: newName });
      if (!exchange) {
        removedEntry(state, parent, name);
        state.local.added(newParent, newName);
      }
      state.local.dirStale(newParent);
    },
    async link(_ctx, nodeid, newParent, newName) {
      checkWritable(state);
      return madeEntry(state, newParent, newName, await source.link(inodeOf(nodeid), inodeOf(newParent), newName));
    },
  };
}

/** A chown of a named file open for writing here to the owner it has, and nothing else. */
function sameOwner(state: FsState, node: Node, changes: SetattrIn): boolean {
  if (node.type !== "file" || !state.bodies.openForWrite(node) || state.nodes.linkOf(node) === null) return false;
  // The kernel asks a chown to drop setuid/setgid (HANDLE_KILLPRIV_V2): nothing to do when neither is set.
  const killsBits = changes.killSuidGid !== undefined && (node.attrs.mode & S_ISUID_ISGID) !== 0;
  const others = [changes.mode, changes.sizeBytes, changes.atimeNs, changes.mtimeNs];
  if (killsBits || others.some((v) => v !== undefined) || (changes.uid === undefined && changes.gid === undefined)) return false;
  return (changes.uid ?? node.attrs.uid) === node.attrs.uid && (changes.gid ?? node.attrs.gid) === node.attrs.gid;
}

/**
 * `name` left `parent` by our command. `dir`: the parent as that command left it (unlink and
 * rmdir answer with it), so its attributes stay the mount's to answer; without it they are stale.
 */
function removedEntry(state: FsState, parent: number, name: string, dir: InodeAttrs | null = null): void {
  state.local.removed(parent, name);
  const node = dir && state.nodes.get(parent);
  if (!dir || !node || dir.inode !== node.inode) {
    state.local.dirStale(parent);
    return;
  }
  state.nodes.ownCommit(dir);
  state.nodes.update(node, dir);
  state.local.dirFresh(parent);
}

/** The file at `name` in `parent` when this mount has it open (it may lose its last name). */
function openFileAt(state: FsState, parent: number, name: string): Node | null {
  const nodeid = state.nodes.childOf(parent, name);
  const node = nodeid === undefined ? undefined : state.nodes.get(nodeid);
  return node !== undefined && node.type === "file" && node.handles > 0 ? node : null;
}

/**
 * Applies what an open body must carry (a truncate; times to restore after its publish) and
 * returns the changes left for metad.
 */
async function bodyFirst(state: FsState, node: Node, changes: SetattrIn): Promise<AttrChanges> {
  const out: AttrChanges = {};
  if (changes.mode !== undefined) out.mode = changes.mode & 0o7777;
  // As ext4: chown keeps a directory's setuid/setgid bits (they mean inheritance there, not privilege).
  else if (changes.killSuidGid && node.type !== "dir" && (node.attrs.mode & S_ISUID_ISGID) !== 0) out.mode = node.attrs.mode & ~S_ISUID_ISGID;
  if (changes.uid !== undefined) out.uid = changes.uid;
  if (changes.gid !== undefined) out.gid = changes.gid;
  if (changes.atimeNs !== undefined) out.atimeNs = changes.atimeNs === "now" ? nowNs() : changes.atimeNs;
  if (changes.mtimeNs !== undefined) out.mtimeNs = changes.mtimeNs === "now" ? nowNs() : changes.mtimeNs;
  if (changes.sizeBytes !== undefined && !(await state.bodies.truncate(node, changes.sizeBytes))) out.sizeBytes = changes.sizeBytes;
  // chown(f, -1, -1) arrives with nothing to change, yet Linux moves ctime: rewriting the mode
  // with its own value is a setattr that changes nothing but ctime.
  const named = ["mode", "uid", "gid", "sizeBytes", "atimeNs", "mtimeNs", "killSuidGid"] as const;
  if (named.every((field) => changes[field] === undefined)) out.mode = node.attrs.mode;
  return out;
}
