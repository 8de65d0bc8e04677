import { status } from "@grpc/grpc-js";
import { FsError } from "../types/index.ts";

// CSI answers failures with gRPC status codes, each call's meaning fixed by the spec (NOT_FOUND:
// the volume does not exist, ALREADY_EXISTS: same name, incompatible request, ...). A handler
// throws CsiError with the code the spec names for that case; an FsError from metad or the
// local filesystem that nobody translated gets the nearest code by its errno.

export { status as CsiCode };

export class CsiError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (message: string) => new CsiError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new CsiError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new CsiError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new CsiError(status.FAILED_PRECONDITION, message);

const BY_ERRNO: Partial<Record<string, status>> = {
  ENOENT: status.NOT_FOUND,
  ENOTDIR: status.NOT_FOUND,
  EEXIST: status.ALREADY_EXISTS,
  EINVAL: status.INVALID_ARGUMENT,
  ENAMETOOLONG: status.INVALID_ARGUMENT,
  EACCES: status.PERMISSION_DENIED,
  EPERM: status.PERMISSION_DENIED,
  EROFS: status.PERMISSION_DENIED,
  ENOSPC: status.RESOURCE_EXHAUSTED,
  EDQUOT: status.RESOURCE_EXHAUSTED,
  ECONNREFUSED: status.UNAVAILABLE,
  ECONNRESET: status.UNAVAILABLE,
  ETIMEDOUT: status.UNAVAILABLE,
  EHOSTUNREACH: status.UNAVAILABLE,
  ENOTCONN: status.UNAVAILABLE,
  EAGAIN: status.UNAVAILABLE,
  EBUSY: status.UNAVAILABLE,
  ENOTSUP: status.UNIMPLEMENTED,
  ENOSYS: status.UNIMPLEMENTED,
};

/** The status and message a failed call answers with. */
export function toCsiError(err: unknown): CsiError {
  if (err instanceof CsiError) return err;
  if (err instanceof FsError) return new CsiError(BY_ERRNO[err.code] ?? status.INTERNAL, err.message);
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === "string" && BY_ERRNO[code] !== undefined) return new CsiError(BY_ERRNO[code]!, message);
  return new CsiError(status.INTERNAL, message);
}

/** The gRPC name of a status code ("NOT_FOUND"), for logs and messages. */
export function codeName(code: status): string {
  return status[code] ?? String(code);
}
