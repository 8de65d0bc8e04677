import { FsError, LIMITS } from "../../types/index.ts";
import type { RawFileSystem } from "../kernel/index.ts";
import { checkWritable, type FsState } from "./state.ts";

// STATFS, ACCESS and extended attributes (kept by metad beside the inode; snapshots have none).

const W_OK = 2;
/** statfs figures: NoKV has no fixed capacity; report a large, plausible, constant filesystem. */
const STATFS_BLOCK_BYTES = 4096;
const STATFS_BLOCKS = LIMITS.fileMaxBytes / STATFS_BLOCK_BYTES;
const STATFS_FILES = 2 ** 32;

/**
 * The answer to a getxattr of a name known absent, made once: only its errno reaches the kernel,
 * and a new error's stack trace was about a tenth of the mount's CPU for each such request (one
 * before every write).
 */
const XATTR_ABSENT = new FsError("ENODATA", "no such attribute");

export function miscOps(state: FsState): Pick<RawFileSystem, "statfs" | "access" | "getxattr" | "listxattr" | "setxattr" | "removexattr"> {
  const { source } = state;
  const inodeOf = (nodeid: number) => state.nodes.require(nodeid).inode;
  return {
    async statfs() {
      return {
        blocks: STATFS_BLOCKS,
        blocksFree: STATFS_BLOCKS,
        blocksAvailable: STATFS_BLOCKS,
        files: STATFS_FILES,
        filesFree: STATFS_FILES - state.nodes.size,
        blockSizeBytes: STATFS_BLOCK_BYTES,
        nameMaxBytes: LIMITS.nameMaxBytes,
      };
    },
    // default_permissions has the kernel check modes itself; only read-only is ours to enforce.
    async access(_ctx, _nodeid, mask) {
      if ((mask & W_OK) !== 0 && state.source.readOnly) throw new FsError("EROFS", "the mount is read-only");
    },
    async getxattr(_ctx, nodeid, name) {
      if (!source.getxattr) throw new FsError("ENODATA", "snapshot mounts show no extended attributes");
      // The kernel asks for security.capability before writes: usually the answer is known.
      if (state.local.xattrAbsent(nodeid, name)) throw XATTR_ABSENT;
      // system.* (POSIX ACLs) is not kept: as on a filesystem without ACLs, there is none (ls -l asks).
      if (name.startsWith("system.")) throw new FsError("ENODATA", `no attribute '${name}' (NoKV keeps no ACLs)`);
      // Not known yet: learn the whole list once, so the kernel's next question (it asks for
      // security.capability before every write) is answered here. Kept only while the file's
      // directory is watched: a change from elsewhere arrives as an event and forgets it.
      const node = state.nodes.require(nodeid);
      const link = state.nodes.linkOf(node);
      if (source.listxattr && link !== null && state.local.xattrNames(nodeid) === undefined && state.local.watched(link.parent)) {
        // A listed file: its whole page at once (ls -l asks each); otherwise this file's list.
        if (!(await state.xattrPages.learn(nodeid))) state.local.setXattrNames(nodeid, await source.listxattr(node.inode));
        if (state.local.xattrAbsent(nodeid, name)) throw XATTR_ABSENT;
      }
      return await source.getxattr(inodeOf(nodeid), name);
    },
    async listxattr(_ctx, nodeid) {
      if (!source.listxattr) return [];
      if (state.local.xattrNames(nodeid) === undefined) await state.xattrPages.learn(nodeid);
      const known = state.local.xattrNames(nodeid);
      if (known) return known;
      const names = await source.listxattr(inodeOf(nodeid));
      state.local.setXattrNames(nodeid, names);
      return names;
    },
    async setxattr(_ctx, nodeid, name, value, flags) {
      checkWritable(state);
      if (!source.setxattr) throw new FsError("ENOTSUP", "this mount keeps no extended attributes");
      state.local.setXattrNames(nodeid, null);
      await source.setxattr(inodeOf(nodeid), name, value, flags);
    },
    async removexattr(_ctx, nodeid, name) {
      checkWritable(state);
      if (!source.removexattr) throw new FsError("ENOTSUP", "this mount keeps no extended attributes");
      state.local.setXattrNames(nodeid, null);
      await source.removexattr(inodeOf(nodeid), name);
    },
  };
}
