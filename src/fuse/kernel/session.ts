import { ERRNO, FsError, toFsError } from "../../types/index.ts";
import { OPCODE } from "./abi.ts";
import { opSpec } from "./opcode-table.ts";
import { isLent, NO_REPLY } from "./op-types.ts";
import type { RawFileSystem } from "./raw-fs.ts";
import { frame, frameParts } from "./reply.ts";
import { FuseRequest } from "./request.ts";
import type { ConnectionInfo } from "./types.ts";

// One FUSE connection's dispatch: a request frame in, at most one reply frame out. Every path
// ends in a reply (or deliberately none for FORGET/INTERRUPT), so no caller of the mount waits
// forever: unknown opcode -> ENOSYS, short frame -> EIO, throwing handler -> its errno or EIO.

const TRACE = process.env.NOKV_FUSE_TRACE === "1";

/** Writes one reply frame, given as its parts in order (one writev: the kernel takes a frame whole). */
export type FrameWriter = (parts: readonly Uint8Array[]) => void;

export class FuseSession {
  conn: ConnectionInfo | null = null;
  /** Requests answered, by outcome; for tests and stats. */
  readonly counts = { ok: 0, errors: 0, unknown: 0, malformed: 0 };
  /** Per opcode: requests handled and the time their handlers took. */
  readonly opStats = new Map<string, { count: number; totalUs: number }>();

  constructor(
    private readonly fs: RawFileSystem,
    private readonly write: FrameWriter,
    private readonly maxReplyBytes: number,
  ) {}

  async dispatch(bytes: Uint8Array): Promise<void> {
    const req = FuseRequest.parse(bytes);
    if (!req) {
      this.counts.malformed++;
      const unique = FuseRequest.uniqueOf(bytes);
      if (unique !== null) this.write([frame(unique, ERRNO.EIO, null)]);
      return;
    }
    const spec = opSpec(req.opcode);
    if (!spec) {
      this.counts.unknown++;
      this.write([frame(req.unique, ERRNO.ENOSYS, null)]);
      return;
    }
    if (req.body.byteLength < spec.inSizeBytes || (this.conn === null && req.opcode !== OPCODE.INIT)) {
      this.counts.malformed++;
      this.write([frame(req.unique, ERRNO.EIO, null)]);
      return;
    }
    const startedMs = performance.now();
    if (TRACE) console.error(`fuse: ${spec.name} node ${req.nodeid}`);
    try {
      const out = await spec.handler({
        fs: this.fs,
        req,
        conn: this.conn ?? placeholderConn,
        negotiated: (conn) => (this.conn = conn),
        maxReplyBytes: this.maxReplyBytes,
      });
      this.counts.ok++;
      if (out === NO_REPLY) return;
      if (!isLent(out)) return this.write(frameParts(req.unique, 0, out));
      try {
        this.write(frameParts(req.unique, 0, out.bytes));
      } finally {
        out.release();
      }
    } catch (err) {
      this.counts.errors++;
      if (req.opcode === OPCODE.FORGET || req.opcode === OPCODE.BATCH_FORGET) return;
      this.write([frame(req.unique, errnoOf(err), null)]);
    } finally {
      const stat = this.opStats.get(spec.name) ?? { count: 0, totalUs: 0 };
      stat.count++;
      const tookUs = (performance.now() - startedMs) * 1000;
      stat.totalUs += tookUs;
      this.opStats.set(spec.name, stat);
      if (TRACE) console.error(`fuse: ${spec.name} node ${req.nodeid} done in ${tookUs.toFixed(0)} us`);
    }
  }
}

const placeholderConn: ConnectionInfo = { major: 0, minor: 0, maxWriteBytes: 0, maxReadaheadBytes: 0, flags: 0 };

/** FsError keeps its errno (positive here: FsError.errno is negative, as in node:fs); anything else is a bug, logged once by toFsError, and EIO. */
function errnoOf(err: unknown): number {
  return ERRNO[(err instanceof FsError ? err : toFsError(err)).code];
}
