// S3 errors to errnos. Both clients funnel through here: Bun's S3Error carries `code`
// ("NoSuchKey"), the AWS SDK carries `name`/`Code` and `$metadata.httpStatusCode`; network
// failures carry a socket-level code. Only this file knows those shapes.
import { FsError, toFsError } from "../../types/index.ts";

export interface S3Failure {
  error: FsError;
  /** Worth another attempt: a timeout, a 5xx, throttling or a dropped connection. */
  retryable: boolean;
}

/** Thrown by the store's own request timer; never by a client. */
export class S3TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "S3TimeoutError";
  }
}

const RETRYABLE_CODES = new Set([
  "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "RequestTimeoutException", "Throttling",
  "ConnectionRefused", "ConnectionClosed", "ConnectionReset", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT",
  "EAI_AGAIN", "ENOTFOUND", "UND_ERR_SOCKET", "TimeoutError",
]);
const DENIED_CODES = new Set(["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "Forbidden"]);
const MISSING_CODES = new Set(["NoSuchKey", "NotFound"]);

interface ErrorShape {
  code: string | undefined;
  status: number | undefined;
  message: string;
}

function shapeOf(err: unknown): ErrorShape {
  const e = (err ?? {}) as { Code?: unknown; code?: unknown; name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const named = e.$metadata !== undefined && typeof e.name === "string" ? e.name : undefined;
  const code = typeof e.Code === "string" ? e.Code : typeof e.code === "string" ? e.code : named;
  return { code, status, message: typeof e.message === "string" ? e.message : String(err) };
}

/** True when the server refused a range that starts at or past the object's end (HTTP 416). */
export function isInvalidRange(err: unknown): boolean {
  const { code, status } = shapeOf(err);
  return code === "InvalidRange" || status === 416;
}

export function mapS3Error(err: unknown, where: { op: string; key: string; url: string }): S3Failure {
  const at = { syscall: where.op, path: where.key };
  if (err instanceof FsError) return { error: err, retryable: false };
  if (err instanceof S3TimeoutError) return { error: new FsError("ETIMEDOUT", `${where.op} ${JSON.stringify(where.key)} on ${where.url}: ${err.message}`, at), retryable: true };
  const { code, status, message } = shapeOf(err);
  if (code === undefined && status === undefined) {
    // Not an S3 or network error: a bug. toFsError logs it with its stack.
    const mapped = toFsError(err);
    return { error: mapped, retryable: false };
  }
  const detail = `S3 ${code ?? "error"}${status ? ` (HTTP ${status})` : ""} on ${where.op} ${JSON.stringify(where.key)} in ${where.url}: ${message}`;
  // A missing bucket also answers 404; it is a misconfigured store, not a missing object.
  if (code === "NoSuchBucket") return { error: new FsError("EIO", detail, at), retryable: false };
  if ((code !== undefined && MISSING_CODES.has(code)) || status === 404) return { error: new FsError("ENOENT", detail, at), retryable: false };
  if ((code !== undefined && DENIED_CODES.has(code)) || status === 403) return { error: new FsError("EACCES", detail, at), retryable: false };
  const retryable = (status !== undefined && (status >= 500 || status === 429)) || (code !== undefined && RETRYABLE_CODES.has(code));
  return { error: new FsError("EIO", detail, at), retryable };
}
