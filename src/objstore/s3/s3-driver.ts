// The few raw S3 calls a client must offer. Drivers take full keys (store prefix included), throw
// their client's own errors and know nothing of ranges past the end, retries or timeouts:
// S3ObjectStore holds that policy once for both clients.
import type { S3Credentials, S3Location } from "./s3-url.ts";

export type S3ClientKind = "bun" | "node";

export interface S3DriverConfig {
  location: S3Location;
  /** Null: the AWS standard provider chain finds them (see credentialsFromEnv). */
  credentials: S3Credentials | null;
}

export interface S3ListResult {
  keys: string[];
  truncated: boolean;
}

export interface S3Driver {
  readonly kind: S3ClientKind;
  put(key: string, bytes: Uint8Array, signal: AbortSignal): Promise<void>;
  /** `range` is [startBytes, endBytes) with endBytes > startBytes. */
  get(key: string, range: { startBytes: number; endBytes: number } | null, signal: AbortSignal): Promise<Uint8Array>;
  /** The object's size; throws the client's not-found error when it has none. */
  head(key: string, signal: AbortSignal): Promise<number>;
  delete(key: string, signal: AbortSignal): Promise<void>;
  list(input: { prefix: string; startAfter: string | undefined; maxKeys: number }, signal: AbortSignal): Promise<S3ListResult>;
  close(): void;
}
