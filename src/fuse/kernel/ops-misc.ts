import { FsError, LIMITS } from "../../types/index.ts";
import { FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION, FUSE_MIN_MINOR_VERSION, INIT_FLAG } from "./abi.ts";
import { encodeInit, encodeNameList, encodeStatfs, encodeXattrSize } from "./reply.ts";
import { EMPTY, NO_REPLY, need, type OpCall, type OpSpec } from "./op-types.ts";

// Connection setup and teardown, statfs, access, extended attributes, interrupt.

/** What we ask for when the kernel offers it. Writeback caching stays off: close() must publish. */
const WANTED_FLAGS =
  INIT_FLAG.ASYNC_READ |
  INIT_FLAG.ATOMIC_O_TRUNC |
  INIT_FLAG.BIG_WRITES |
  INIT_FLAG.AUTO_INVAL_DATA |
  INIT_FLAG.DO_READDIRPLUS |
  INIT_FLAG.READDIRPLUS_AUTO |
  INIT_FLAG.PARALLEL_DIROPS |
  INIT_FLAG.MAX_PAGES |
  INIT_FLAG.CACHE_SYMLINKS |
  INIT_FLAG.HANDLE_KILLPRIV_V2;

async function init({ fs, req, negotiated }: OpCall): Promise<Uint8Array> {
  const major = req.u32(0);
  const minor = req.u32(4);
  if (major > FUSE_KERNEL_VERSION) {
    // The kernel retries INIT with our major when we answer with only the version pair.
    const out = new Uint8Array(8);
    new DataView(out.buffer).setUint32(0, FUSE_KERNEL_VERSION, true);
    new DataView(out.buffer).setUint32(4, FUSE_KERNEL_MINOR_VERSION, true);
    return out;
  }
  if (major < FUSE_KERNEL_VERSION || minor < FUSE_MIN_MINOR_VERSION) {
    throw new FsError("EPROTO", `kernel speaks FUSE ${major}.${minor}; NoKV needs ${FUSE_KERNEL_VERSION}.${FUSE_MIN_MINOR_VERSION} or later`);
  }
  const conn = {
    major: FUSE_KERNEL_VERSION,
    minor: Math.min(minor, FUSE_KERNEL_MINOR_VERSION),
    maxReadaheadBytes: req.u32(8),
    flags: req.u32(12) & WANTED_FLAGS,
    maxWriteBytes: LIMITS.fuseMaxWriteBytes,
  };
  negotiated(conn);
  fs.init?.(conn);
  return encodeInit(conn, LIMITS.fuseMaxBackgroundRequests);
}

/** GETXATTR/LISTXATTR: a size-0 request probes the size; a too-small buffer is ERANGE. */
function sized(value: Uint8Array, sizeBytes: number): Uint8Array {
  if (sizeBytes === 0) return encodeXattrSize(value.byteLength);
  if (value.byteLength > sizeBytes) throw new FsError("ERANGE", `attribute of ${value.byteLength} bytes, buffer of ${sizeBytes}`);
  return value;
}

export const MISC_OPS: readonly OpSpec[] = [
  { name: "INIT", inSizeBytes: 16, handler: init },
  {
    name: "DESTROY",
    inSizeBytes: 0,
    handler: async ({ fs }) => {
      fs.destroy?.();
      return EMPTY;
    },
  },
  { name: "STATFS", inSizeBytes: 0, handler: async ({ fs, req }) => encodeStatfs(await need(fs.statfs, "statfs").call(fs, req, req.nodeid)) },
  {
    name: "ACCESS",
    inSizeBytes: 8,
    handler: async ({ fs, req }) => {
      await need(fs.access, "access").call(fs, req, req.nodeid, req.u32(0));
      return EMPTY;
    },
  },
  { name: "GETXATTR", inSizeBytes: 8, handler: async ({ fs, req }) => sized(await need(fs.getxattr, "getxattr").call(fs, req, req.nodeid, req.name(8)), req.u32(0)) },
  { name: "LISTXATTR", inSizeBytes: 8, handler: async ({ fs, req }) => sized(encodeNameList(await need(fs.listxattr, "listxattr").call(fs, req, req.nodeid)), req.u32(0)) },
  {
    name: "SETXATTR",
    inSizeBytes: 8,
    handler: async ({ fs, req }) => {
      const name = req.name(8);
      const valueAt = req.body.indexOf(0, 8) + 1;
      const value = req.body.subarray(valueAt, valueAt + req.u32(0));
      await need(fs.setxattr, "setxattr").call(fs, req, req.nodeid, name, value, req.u32(4));
      return EMPTY;
    },
  },
  {
    name: "REMOVEXATTR",
    inSizeBytes: 0,
    handler: async ({ fs, req }) => {
      await need(fs.removexattr, "removexattr").call(fs, req, req.nodeid, req.name(0));
      return EMPTY;
    },
  },
  // The answer to the interrupted request still comes when its handler finishes; handlers here
  // are short RPCs, so waiting for them is simpler than cancelling them halfway.
  { name: "INTERRUPT", inSizeBytes: 8, handler: async () => NO_REPLY },
];
