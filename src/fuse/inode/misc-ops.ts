import { FsError, LIMITS } from "../../types/index.ts";
import type { RawFileSystem } from "../kernel/index.ts";
import type { FsState } from "./state.ts";

// STATFS, ACCESS and extended attributes (NoKV stores none).

const W_OK = 2;
/** statfs figures: NoKV has no fixed capacity; report a large, plausible, constant filesystem. */
const STATFS_BLOCK_BYTES = 4096;
const STATFS_BLOCKS = LIMITS.fileMaxBytes / STATFS_BLOCK_BYTES;
const STATFS_FILES = 2 ** 32;

export function miscOps(state: FsState): Pick<RawFileSystem, "statfs" | "access" | "getxattr" | "listxattr" | "setxattr" | "removexattr"> {
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
    async getxattr() {
      throw new FsError("ENODATA", "NoKV stores no extended attributes");
    },
    async listxattr() {
      return [];
    },
    async setxattr() {
      throw new FsError("ENOTSUP", "NoKV stores no extended attributes");
    },
    async removexattr() {
      throw new FsError("ENOTSUP", "NoKV stores no extended attributes");
    },
  };
}
