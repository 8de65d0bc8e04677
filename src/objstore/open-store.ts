// One entry point from a store URL to an ObjectStore, and the one way to make a store URL safe
// to log or to send to clients.
import { FsError } from "../types/index.ts";
import { FileObjectStore } from "./file/file-store.ts";
import type { Durability, ObjectStore } from "./object-store.ts";
import type { S3ClientKind } from "./s3/s3-driver.ts";
import { openS3Store, type S3RequestPolicy } from "./s3/s3-store.ts";

export interface OpenStoreOptions {
  /** file:// only: "full" fsyncs every object and directory entry. Default "normal". */
  durability?: Durability;
  /** s3:// only: where the AWS_* credentials come from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** s3:// only: which client to use; "auto" picks Bun's under Bun, the AWS SDK elsewhere. */
  s3Client?: "auto" | S3ClientKind;
  s3Policy?: Partial<S3RequestPolicy>;
}

const FILE_SCHEME = "file://";

/**
 * `file://DIR` (DIR taken literally, relative to the working directory unless it starts with
 * '/': file://./.nokv/objects, file:///var/lib/nokv) or `s3://BUCKET[/PREFIX]?endpoint=&region=`.
 */
export async function openObjectStore(url: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (typeof url === "string" && url.startsWith(FILE_SCHEME)) {
    const dir = url.slice(FILE_SCHEME.length);
    if (dir === "") throw new FsError("EINVAL", `object store url ${JSON.stringify(url)}: no directory`);
    return await FileObjectStore.open({ dir, durability: options.durability ?? "normal" });
  }
  if (typeof url === "string" && url.startsWith("s3://")) {
    return await openS3Store({
      url,
      ...(options.env ? { env: options.env } : {}),
      ...(options.s3Client ? { client: options.s3Client } : {}),
      ...(options.s3Policy ? { policy: options.s3Policy } : {}),
    });
  }
  throw new FsError("EINVAL", `object store url ${JSON.stringify(redactStoreUrl(String(url)))}: expected file://DIR or s3://BUCKET[/PREFIX]`);
}

/** Query parameters that may carry a secret: presigned-URL signatures, tokens, keys, passwords. */
const SECRET_PARAM_RE = /secret|token|signature|credential|password|passwd|auth|key|sig$/i;

/**
 * The URL without userinfo and without any secret-looking query parameter, recursively for URLs
 * nested in parameters (an endpoint). file:// URLs name a local directory and carry nothing else.
 * Unparseable input yields only its scheme, so a malformed URL with a secret never leaks whole.
 */
export function redactStoreUrl(url: string): string {
  if (url.startsWith(FILE_SCHEME)) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
    return scheme ? `${scheme}//<redacted>` : "<redacted>";
  }
  parsed.username = "";
  parsed.password = "";
  parsed.hash = "";
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM_RE.test(name)) parsed.searchParams.delete(name);
  }
  for (const [name, value] of [...parsed.searchParams.entries()]) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) continue;
    const redacted = redactStoreUrl(value);
    // Rewrite only when something was dropped, so a clean endpoint keeps its exact spelling.
    if (redacted !== normalized(value)) parsed.searchParams.set(name, redacted);
  }
  return parsed.href;
}

function normalized(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}
