// The one errno vocabulary of NoKV. Every layer throws FsError; anything else that escapes is a bug
// and becomes EIO through toFsError, logged once with its stack.

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  EROFS: 30,
  EMLINK: 31,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  ESTALE: 116,
} as const;

export type ErrnoCode = keyof typeof ERRNO;

const MESSAGES: Record<ErrnoCode, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  EIO: "i/o error",
  E2BIG: "argument list too long",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  EACCES: "permission denied",
  EBUSY: "resource busy",
  EEXIST: "file already exists",
  EXDEV: "cross-mount link",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  ENFILE: "too many open files in system",
  EMFILE: "too many open files",
  EFBIG: "file too large",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  EMLINK: "too many links",
  ERANGE: "result out of range",
  ENAMETOOLONG: "name too long",
  ENOSYS: "function not implemented",
  ENOTEMPTY: "directory not empty",
  ELOOP: "too many levels of symbolic links",
  ENODATA: "no data available",
  EPROTO: "protocol error",
  EOVERFLOW: "value too large",
  ENOTSUP: "operation not supported",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "timed out",
  ECONNREFUSED: "connection refused",
  ESTALE: "stale file handle",
};

export function isErrnoCode(code: unknown): code is ErrnoCode {
  return typeof code === "string" && Object.hasOwn(ERRNO, code);
}

export function errnoMessage(code: ErrnoCode): string {
  return MESSAGES[code];
}

/** An operating error: bad input or a state the caller must handle. Carries a node-style code. */
export class FsError extends Error {
  readonly code: ErrnoCode;
  /** Negative, as node:fs reports it (ENOENT is -2); ERRNO[code] is the positive number. */
  readonly errno: number;
  syscall: string | undefined;
  path: string | undefined;

  constructor(code: ErrnoCode, detail?: string, where?: { syscall?: string; path?: string }) {
    super(detail ? `${code}: ${MESSAGES[code]}, ${detail}` : `${code}: ${MESSAGES[code]}`);
    this.name = "FsError";
    this.code = code;
    this.errno = -ERRNO[code];
    this.syscall = where?.syscall;
    this.path = where?.path;
  }

  /** The message without the code prefix, for re-wrapping on the other side of the wire. */
  get detail(): string {
    const prefix = `${this.code}: ${MESSAGES[this.code]}`;
    return this.message.startsWith(`${prefix}, `) ? this.message.slice(prefix.length + 2) : "";
  }
}

export function fsError(code: ErrnoCode, detail?: string): FsError {
  return new FsError(code, detail);
}

type ErrorLogger = (err: unknown) => void;
let logUnexpected: ErrorLogger = (err) => {
  console.error("nokv: unexpected error mapped to EIO:", err instanceof Error ? err.stack : err);
};

/** Lets a host (metad, tests) route unexpected-error logs; returns the previous logger. */
export function setUnexpectedErrorLogger(logger: ErrorLogger): ErrorLogger {
  const previous = logUnexpected;
  logUnexpected = logger;
  return previous;
}

/**
 * The one funnel from any thrown value to an errno. FsError passes through; node-style errors
 * with a known code keep it (ENOSPC from the disk, EROFS from a read-only mount); anything else is
 * a bug or an unforeseen fault: logged with its stack and reported as EIO.
 */
export function toFsError(err: unknown): FsError {
  if (err instanceof FsError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (isErrnoCode(code)) {
    const message = err instanceof Error ? err.message : String(err);
    return new FsError(code, message);
  }
  const sqliteCode = typeof code === "string" ? code : "";
  if (sqliteCode === "SQLITE_FULL") return new FsError("ENOSPC", "metadata store is full");
  if (sqliteCode === "SQLITE_READONLY") return new FsError("EROFS", "metadata store is read-only");
  logUnexpected(err);
  return new FsError("EIO", err instanceof Error ? err.message : String(err));
}
