import { FsError, errnoMessage, toFsError } from "../types/index.ts";

/**
 * Re-shapes an error the way node:fs reports it: `ENOENT: no such file or directory, stat '/a'`,
 * with `code`, `errno`, `syscall` and `path` set; the server's own detail stays in `cause`.
 */
export function fsErrorFor(err: unknown, syscall: string, path?: string): FsError {
  const base = toFsError(err);
  const where = path === undefined ? { syscall } : { syscall, path };
  const out = new FsError(base.code, undefined, where);
  out.message = `${base.code}: ${errnoMessage(base.code)}, ${syscall}${path === undefined ? "" : ` '${path}'`}`;
  // An I/O error says which object failed and how (a checksum, a truncated or missing block):
  // that is what an operator acts on, so it stays in the message, not only in `cause`.
  if (base.code === "EIO" && base.detail) out.message += `: ${base.detail}`;
  if (base.detail) out.cause = base.detail;
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
