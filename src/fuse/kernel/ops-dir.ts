import { DirentBuffer, encodeOpen } from "./reply.ts";
import { EMPTY, need, type OpCall, type OpSpec } from "./op-types.ts";

// Opcodes on directory handles: opendir, readdir(plus), releasedir, fsyncdir.

async function readdir({ fs, req, maxReplyBytes }: OpCall, plus: boolean): Promise<Uint8Array> {
  const sink = new DirentBuffer(plus, Math.min(req.u32(16), maxReplyBytes));
  await need(fs.readdir, "readdir").call(fs, req, req.nodeid, req.u64(0), req.u64(8), sink);
  return sink.finish();
}

export const DIR_OPS: readonly OpSpec[] = [
  {
    name: "OPENDIR",
    inSizeBytes: 8,
    handler: async ({ fs, req }) => encodeOpen(fs.opendir ? await fs.opendir(req, req.nodeid, req.u32(0)) : { fh: 0, openFlags: 0 }),
  },
  { name: "READDIR", inSizeBytes: 40, handler: (call) => readdir(call, false) },
  { name: "READDIRPLUS", inSizeBytes: 40, handler: (call) => readdir(call, true) },
  {
    name: "RELEASEDIR",
    inSizeBytes: 24,
    handler: async ({ fs, req }) => {
      await fs.releasedir?.(req, req.nodeid, req.u64(0));
      return EMPTY;
    },
  },
  {
    name: "FSYNCDIR",
    inSizeBytes: 16,
    handler: async ({ fs, req }) => {
      await need(fs.fsyncdir, "fsyncdir").call(fs, req, req.nodeid, req.u64(0), (req.u32(8) & 1) !== 0);
      return EMPTY;
    },
  },
];
