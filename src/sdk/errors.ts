import { FsError, errnoMessage, toFsError } from "../types/index.ts";

/**
 * Re-shapes an error the way node:fs reports it: `ENOENT: no such file or directory, stat '/a'`,
 * with `code`, `errno` (negative, as in node), `syscall` and `path` set. The original error stays
 * in `cause` (an Error, never a string). An error raised below the namespace -- by the object
 * store, which names the operation it failed in -- also keeps its detail in the message, because
 * "permission denied, open '/x'" alone sends the reader to the wrong place.
 */
export function fsErrorFor(err: unknown, syscall: string, path?: string): FsError {
  const base = toFsError(err);
  const where = path === undefined ? { syscall } : { syscall, path };
  const out = new FsError(base.code, undefined, where);
  const fromBelow = base.detail !== "" && (base.path !== undefined || (base.syscall !== undefined && base.syscall !== syscall));
  out.message = `${base.code}: ${errnoMessage(base.code)}, ${syscall}${path === undefined ? "" : ` '${path}'`}${fromBelow ? ` (${base.detail})` : ""}`;
  // An I/O error says which object failed and how (a checksum, a truncated or missing block):
  // that is what an operator acts on, so it stays in the message, not only in `cause`.
  if (base.code === "EIO" && base.detail && !fromBelow) out.message += `: ${base.detail}`;
  if (base.detail) out.cause = base;
  return out;
}

/** Runs `fn`, re-shaping any error it throws with the syscall and path it was for. */
export async function withPath<T>(syscall: string, path: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsErrorFor(err, syscall, path);
  }
}
