import { FsError } from "../../types/index.ts";
import { FATTR, FATTR_KILL_SUIDGID, RENAME_EXCHANGE, RENAME_NOREPLACE } from "./abi.ts";
import { encodeAttrOut, encodeEntry } from "./reply.ts";
import { EMPTY, NO_REPLY, need, type OpSpec } from "./op-types.ts";
import type { FuseRequest } from "./request.ts";
import type { SetattrIn } from "./types.ts";

// Opcodes on names and inodes: lookup, attributes, creation of non-files, removal, rename, link.

const NS_PER_SEC = 1_000_000_000n;

function decodeSetattr(req: FuseRequest): SetattrIn {
  const valid = req.u32(0);
  const out: SetattrIn = {};
  if (valid & FATTR.FH) out.fh = req.u64(8);
  if (valid & FATTR.SIZE) out.sizeBytes = req.u64(16);
  if (valid & FATTR.ATIME) out.atimeNs = valid & FATTR.ATIME_NOW ? "now" : req.u64Big(32) * NS_PER_SEC + BigInt(req.u32(56));
  if (valid & FATTR.MTIME) out.mtimeNs = valid & FATTR.MTIME_NOW ? "now" : req.u64Big(40) * NS_PER_SEC + BigInt(req.u32(60));
  if (valid & FATTR.MODE) out.mode = req.u32(68);
  if (valid & FATTR.UID) out.uid = req.u32(76);
  if (valid & FATTR.GID) out.gid = req.u32(80);
  if (valid & FATTR_KILL_SUIDGID) out.killSuidGid = true;
  return out;
}

export const NODE_OPS: readonly OpSpec[] = [
  { name: "LOOKUP", inSizeBytes: 0, handler: async ({ fs, req }) => encodeEntry(await need(fs.lookup, "lookup").call(fs, req, req.nodeid, req.name(0))) },
  {
    name: "FORGET",
    inSizeBytes: 8,
    handler: async ({ fs, req }) => {
      fs.forget?.(req.nodeid, req.u64(0));
      return NO_REPLY;
    },
  },
  {
    name: "BATCH_FORGET",
    inSizeBytes: 8,
    handler: async ({ fs, req }) => {
      const count = Math.min(req.u32(0), Math.floor((req.body.byteLength - 8) / 16));
      for (let i = 0; i < count; i++) fs.forget?.(req.u64(8 + i * 16), req.u64(16 + i * 16));
      return NO_REPLY;
    },
  },
  {
    name: "GETATTR",
    inSizeBytes: 16,
    handler: async ({ fs, req }) => {
      const withFh = (req.u32(0) & 1) !== 0; // FUSE_GETATTR_FH
      return encodeAttrOut(await need(fs.getattr, "getattr").call(fs, req, req.nodeid, withFh ? req.u64(8) : undefined));
    },
  },
  { name: "SETATTR", inSizeBytes: 88, handler: async ({ fs, req }) => encodeAttrOut(await need(fs.setattr, "setattr").call(fs, req, req.nodeid, decodeSetattr(req))) },
  { name: "READLINK", inSizeBytes: 0, handler: async ({ fs, req }) => new TextEncoder().encode(await need(fs.readlink, "readlink").call(fs, req, req.nodeid)) },
  {
    name: "SYMLINK",
    inSizeBytes: 0,
    handler: async ({ fs, req }) => {
      const [name, target] = req.names(0, 2) as [string, string];
      return encodeEntry(await need(fs.symlink, "symlink").call(fs, req, req.nodeid, name, target));
    },
  },
  { name: "MKNOD", inSizeBytes: 16, handler: async ({ fs, req }) => encodeEntry(await need(fs.mknod, "mknod").call(fs, req, req.nodeid, req.name(16), req.u32(0), req.u32(4))) },
  { name: "MKDIR", inSizeBytes: 8, handler: async ({ fs, req }) => encodeEntry(await need(fs.mkdir, "mkdir").call(fs, req, req.nodeid, req.name(8), req.u32(0))) },
  {
    name: "UNLINK",
    inSizeBytes: 0,
    handler: async ({ fs, req }) => {
      await need(fs.unlink, "unlink").call(fs, req, req.nodeid, req.name(0));
      return EMPTY;
    },
  },
  {
    name: "RMDIR",
    inSizeBytes: 0,
    handler: async ({ fs, req }) => {
      await need(fs.rmdir, "rmdir").call(fs, req, req.nodeid, req.name(0));
      return EMPTY;
    },
  },
  {
    name: "RENAME",
    inSizeBytes: 8,
    handler: async ({ fs, req }) => {
      const [name, newName] = req.names(8, 2) as [string, string];
      await need(fs.rename, "rename").call(fs, req, { parent: req.nodeid, name, newParent: req.u64(0), newName, flags: 0 });
      return EMPTY;
    },
  },
  {
    name: "RENAME2",
    inSizeBytes: 16,
    handler: async ({ fs, req }) => {
      const [name, newName] = req.names(16, 2) as [string, string];
      const flags = req.u32(8) & (RENAME_NOREPLACE | RENAME_EXCHANGE);
      if (flags !== req.u32(8)) throw new FsError("EINVAL", `rename2 flags ${req.u32(8)} include unsupported bits (RENAME_WHITEOUT)`);
      await need(fs.rename, "rename").call(fs, req, { parent: req.nodeid, name, newParent: req.u64(0), newName, flags });
      return EMPTY;
    },
  },
  { name: "LINK", inSizeBytes: 8, handler: async ({ fs, req }) => encodeEntry(await need(fs.link, "link").call(fs, req, req.u64(0), req.nodeid, req.name(8))) },
];
