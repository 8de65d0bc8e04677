import { FsError, errnoMessage, isErrnoCode } from "../types/index.ts";

// How a failed command reports itself: one line on stderr, `nokv-fs: CMD PATH: CODE: message`,
// and the exit code that tells a script what kind of failure it was.

export const EXIT_OK = 0;
/** The operation was tried and failed (a missing path, a full disk, an unreachable server). */
export const EXIT_FAILED = 1;
/** The command line itself was wrong: nothing was tried. */
export const EXIT_USAGE = 2;

/** A command line that names no valid operation; reported with a pointer to --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An operation failure that already carries its full message. */
export class CliFailure extends Error {
  override name = "CliFailure";
}

/**
 * The message for a failed `command` on `path`. An FsError from the SDK names the path it failed
 * on (for `rm -r` that may be a child of the argument), which is the one the user needs to see.
 */
export function describeFailure(command: string, path: string | undefined, err: unknown): string {
  if (err instanceof CliFailure) return `nokv-fs: ${command}: ${err.message}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof FsError || isErrnoCode(code)) {
    const fsErr = err as FsError;
    const where = fsErr.path ?? path;
    // The SDK keeps the original error (with the server's or the store's detail) in `cause`;
    // errors raised before a path was known keep the detail in their own message.
    const text = fsErr.cause instanceof FsError ? fsErr.cause.detail : fsErr instanceof FsError ? fsErr.detail : "";
    const detail = text === "" ? "" : ` (${text})`;
    return `nokv-fs: ${command}${where ? ` ${where}` : ""}: ${fsErr.code}: ${errnoMessage(fsErr.code)}${detail}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `nokv-fs: ${command}${path ? ` ${path}` : ""}: ${message}`;
}

/** The same failure for --json: code, errno message, the server's or store's detail, command, path. */
export function describeFailureJson(command: string, err: unknown): Record<string, unknown> {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof FsError || isErrnoCode(code)) {
    const fsErr = err as FsError;
    const detail = fsErr.cause instanceof FsError ? fsErr.cause.detail : fsErr instanceof FsError ? fsErr.detail : "";
    return {
      code: fsErr.code,
      message: errnoMessage(fsErr.code),
      ...(detail === "" ? {} : { detail }),
      command,
      ...(fsErr.path === undefined ? {} : { path: fsErr.path }),
    };
  }
  return { code: "EIO", message: err instanceof Error ? err.message : String(err), command };
}
