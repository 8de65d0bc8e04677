import { FsError, S_IFMT, isSpecialType, nowNs, typeOfModeBits, type AttrChanges } from "../../types/index.ts";
import { RENAME_EXCHANGE, RENAME_NOREPLACE, type AttrOut, type RawFileSystem, type SetattrIn } from "../kernel/index.ts";
import { negativeEntry, toFuseAttr } from "./attrs.ts";
import type { Node } from "./node-table.ts";
import { attrTimeoutFor, checkWritable, ownerOf, replyEntry, type FsState } from "./state.ts";

// Names and attributes: LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR,
// UNLINK, RMDIR, RENAME(2), LINK. Each is one SDK inode call plus bookkeeping.

type EntryOps = "lookup" | "forget" | "getattr" | "setattr" | "readlink" | "symlink" | "mknod" | "mkdir" | "unlink" | "rmdir" | "rename" | "link";

export function entryOps(state: FsState): Pick<RawFileSystem, EntryOps> {
  const { nodes, source } = state;
  const inodeOf = (nodeid: number) => nodes.require(nodeid).inode;
  const attrOut = (node: Node): AttrOut => ({ attrValidMs: attrTimeoutFor(state, node), attr: toFuseAttr(nodes, node.attrs, state.bodies.overlay(node)) });

  return {
    async lookup(_ctx, parent, name) {
      try {
        return replyEntry(state, parent, name, await source.lookup(inodeOf(parent), name));
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
      nodes.update(node, await source.getattr(node.inode));
      return attrOut(node);
    },
    async setattr(_ctx, nodeid, changes) {
      checkWritable(state);
      const node = nodes.require(nodeid);
      const serverChanges = await bodyFirst(state, node, changes);
      if (Object.keys(serverChanges).length > 0) nodes.update(node, await source.setattr(node.inode, serverChanges));
      return attrOut(node);
    },
    async readlink(_ctx, nodeid) {
      const node = nodes.require(nodeid);
      return node.attrs.target !== "" ? node.attrs.target : await source.readlink(node.inode);
    },
    async symlink(ctx, parent, name, target) {
      checkWritable(state);
      return replyEntry(state, parent, name, await source.symlink(inodeOf(parent), name, target, ownerOf(ctx)));
    },
    async mknod(ctx, parent, name, mode, rdev) {
      checkWritable(state);
      const type = typeOfModeBits(mode);
      if (type === "file") return replyEntry(state, parent, name, await source.create(inodeOf(parent), name, ownerOf(ctx, mode)));
      if (type === null || !isSpecialType(type)) throw new FsError("EINVAL", `mknod of mode ${(mode & S_IFMT).toString(8)}: not a file, fifo, socket or device`);
      const node = { type, rdev: type === "chardev" || type === "blockdev" ? rdev : 0 };
      return replyEntry(state, parent, name, await source.mknod(inodeOf(parent), name, node, ownerOf(ctx, mode)));
    },
    async mkdir(ctx, parent, name, mode) {
      checkWritable(state);
      return replyEntry(state, parent, name, await source.mkdir(inodeOf(parent), name, ownerOf(ctx, mode)));
    },
    async unlink(_ctx, parent, name) {
      checkWritable(state);
      await source.unlink(inodeOf(parent), name);
      nodes.removed(parent, name);
    },
    async rmdir(_ctx, parent, name) {
      checkWritable(state);
      await source.rmdir(inodeOf(parent), name);
      nodes.removed(parent, name);
    },
    async rename(_ctx, { parent, name, newParent, newName, flags }) {
      checkWritable(state);
      const exchange = (flags & RENAME_EXCHANGE) !== 0;
      await source.rename({ parent: inodeOf(parent), name, newParent: inodeOf(newParent), newName, noReplace: (flags & RENAME_NOREPLACE) !== 0, exchange });
      if (exchange) nodes.exchanged({ parent, name }, { parent: newParent, name: newName });
      else nodes.moved({ parent, name }, { parent: newParent, name: newName });
    },
    async link(_ctx, nodeid, newParent, newName) {
      checkWritable(state);
      return replyEntry(state, newParent, newName, await source.link(inodeOf(nodeid), inodeOf(newParent), newName));
    },
  };
}

/**
 * Applies what an open body must carry (a truncate; times to restore after its publish) and
 * returns the changes left for metad.
 */
async function bodyFirst(state: FsState, node: Node, changes: SetattrIn): Promise<AttrChanges> {
  const out: AttrChanges = {};
  if (changes.mode !== undefined) out.mode = changes.mode & 0o7777;
  else if (changes.killSuidGid && (node.attrs.mode & 0o6000) !== 0) out.mode = node.attrs.mode & ~0o6000;
  if (changes.uid !== undefined) out.uid = changes.uid;
  if (changes.gid !== undefined) out.gid = changes.gid;
  if (changes.atimeNs !== undefined) out.atimeNs = changes.atimeNs === "now" ? nowNs() : changes.atimeNs;
  if (changes.mtimeNs !== undefined) out.mtimeNs = changes.mtimeNs === "now" ? nowNs() : changes.mtimeNs;
  if (changes.sizeBytes !== undefined && !(await state.bodies.truncate(node, changes.sizeBytes))) out.sizeBytes = changes.sizeBytes;
  if (out.atimeNs !== undefined || out.mtimeNs !== undefined) {
    state.bodies.setTimes(node, { ...(out.atimeNs === undefined ? {} : { atimeNs: out.atimeNs }), ...(out.mtimeNs === undefined ? {} : { mtimeNs: out.mtimeNs }) });
  }
  return out;
}
