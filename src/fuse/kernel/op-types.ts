import { FsError } from "../../types/index.ts";
import type { OpcodeName } from "./abi.ts";
import type { RawFileSystem } from "./raw-fs.ts";
import type { FuseRequest } from "./request.ts";
import type { ConnectionInfo } from "./types.ts";

// The shape of one row of the opcode table, and what a handler sees.

/** Returned by handlers of requests the kernel expects no reply to (FORGET, INTERRUPT). */
export const NO_REPLY = Symbol("no reply");
export type NoReply = typeof NO_REPLY;

/**
 * Reply bytes lent by their owner (a read window it will reuse): the session writes them, then
 * calls release(), so the owner never refills memory the kernel has not taken yet.
 */
export interface LentBytes {
  bytes: Uint8Array;
  release(): void;
}

export function isLent(out: Uint8Array | LentBytes): out is LentBytes {
  return !(out instanceof Uint8Array);
}

/** A reply's bytes as the caller's own: copied out of a loan, which is then released (tests, tools). */
export function ownBytes(out: Uint8Array | LentBytes): Uint8Array {
  if (!isLent(out)) return out;
  try {
    return out.bytes.slice();
  } finally {
    out.release();
  }
}

export interface OpCall {
  fs: RawFileSystem;
  req: FuseRequest;
  /** The negotiated connection; INIT fills it in. */
  conn: ConnectionInfo;
  /** INIT only: records the negotiated connection. */
  negotiated(conn: ConnectionInfo): void;
  /** Bytes the kernel may take in one reply to READ/READDIR (its `size` field, bounded). */
  maxReplyBytes: number;
}

export interface OpSpec {
  name: OpcodeName;
  /** The fixed in-struct size; a shorter body is a protocol error (EIO). */
  inSizeBytes: number;
  handler(call: OpCall): Promise<Uint8Array | LentBytes | NoReply>;
}

export const EMPTY = new Uint8Array(0);

/** The filesystem's method, or ENOSYS when it has none (the kernel then uses its default). */
export function need<T>(method: T | undefined, name: string): T {
  if (method === undefined) throw new FsError("ENOSYS", `filesystem has no ${name}`);
  return method;
}
