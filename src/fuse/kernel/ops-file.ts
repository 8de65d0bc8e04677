import { OPEN_KILL_SUIDGID, WRITE_KILL_SUIDGID } from "./abi.ts";
import { encodeCreate, encodeOpen, encodeWrite } from "./reply.ts";
import { EMPTY, need, type OpSpec } from "./op-types.ts";

// Opcodes on open files: open/create, read/write, flush/release/fsync.

const WRITE_IN_BYTES = 40;

export const FILE_OPS: readonly OpSpec[] = [
  {
    name: "OPEN",
    inSizeBytes: 8,
    handler: async ({ fs, req }) => encodeOpen(await need(fs.open, "open").call(fs, req, req.nodeid, req.u32(0), (req.u32(4) & OPEN_KILL_SUIDGID) !== 0)),
  },
  {
    name: "CREATE",
    inSizeBytes: 16,
    handler: async ({ fs, req }) => {
      const kill = (req.u32(12) & OPEN_KILL_SUIDGID) !== 0;
      const { entry, open } = await need(fs.create, "create").call(fs, req, req.nodeid, req.name(16), req.u32(4), req.u32(0), kill);
      return encodeCreate(entry, open);
    },
  },
  {
    // O_TMPFILE: a CREATE with no name to keep (the kernel sends a placeholder).
    name: "TMPFILE",
    inSizeBytes: 16,
    handler: async ({ fs, req }) => {
      const { entry, open } = await need(fs.tmpfile, "tmpfile").call(fs, req, req.nodeid, req.u32(4), req.u32(0));
      return encodeCreate(entry, open);
    },
  },
  {
    name: "READ",
    inSizeBytes: 40,
    handler: async ({ fs, req, maxReplyBytes }) => {
      const lengthBytes = Math.min(req.u32(16), maxReplyBytes);
      return await need(fs.read, "read").call(fs, req, req.nodeid, req.u64(0), req.u64(8), lengthBytes);
    },
  },
  {
    name: "WRITE",
    inSizeBytes: WRITE_IN_BYTES,
    handler: async ({ fs, req }) => {
      const sizeBytes = req.u32(16);
      const data = req.body.subarray(WRITE_IN_BYTES, WRITE_IN_BYTES + sizeBytes);
      if (data.byteLength !== sizeBytes) throw new RangeError(`write of ${sizeBytes} bytes carries ${data.byteLength}`);
      const kill = (req.u32(20) & WRITE_KILL_SUIDGID) !== 0;
      return encodeWrite(await need(fs.write, "write").call(fs, req, req.nodeid, req.u64(0), req.u64(8), data, kill));
    },
  },
  {
    name: "FLUSH",
    inSizeBytes: 24,
    handler: async ({ fs, req }) => {
      await need(fs.flush, "flush").call(fs, req, req.nodeid, req.u64(0));
      return EMPTY;
    },
  },
  {
    name: "RELEASE",
    inSizeBytes: 24,
    handler: async ({ fs, req }) => {
      await fs.release?.(req, req.nodeid, req.u64(0));
      return EMPTY;
    },
  },
  {
    // fuse_fallocate_in: fh, offset, length, mode.
    name: "FALLOCATE",
    inSizeBytes: 32,
    handler: async ({ fs, req }) => {
      await need(fs.fallocate, "fallocate").call(fs, req, req.nodeid, req.u64(0), req.u64(8), req.u64(16), req.u32(24));
      return EMPTY;
    },
  },
  {
    name: "FSYNC",
    inSizeBytes: 16,
    handler: async ({ fs, req }) => {
      await need(fs.fsync, "fsync").call(fs, req, req.nodeid, req.u64(0), (req.u32(8) & 1) !== 0);
      return EMPTY;
    },
  },
];
