// s3://BUCKET[/PREFIX]?endpoint=URL&region=R. Credentials never ride in the URL: they come from
// the AWS_* environment or else the AWS standard provider chain (profiles, web identity,
// container and instance roles), so the URL itself can be logged and sent to clients. A URL that
// does carry credentials is refused, and never repeated with them in the error.
import { FsError, LIMITS } from "../../types/index.ts";
import { checkKey } from "../keys.ts";

export interface S3Location {
  bucket: string;
  /** Keys live under `${prefix}/`; "" for the bucket's root. */
  prefix: string;
  /** http(s) origin of the S3 API, used with path-style addressing. */
  endpoint: string;
  region: string;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const DEFAULT_REGION = "us-east-1";
const KNOWN_PARAMS = new Set(["endpoint", "region"]);
// S3 bucket naming rules: 3-63 of lowercase letters, digits, dots, hyphens; alphanumeric ends.
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bad(url: string, why: string): FsError {
  return new FsError("EINVAL", `object store url ${JSON.stringify(withoutUserinfo(url))}: ${why}`);
}

/** `url` with any `user:password@` (also inside a percent-encoded endpoint) replaced: for messages. */
export function withoutUserinfo(url: string): string {
  return url.replace(/(\/\/|%2F%2F)[^/?#@]*?(@|%40)/gi, "$1<redacted>$2");
}

export function parseS3Url(url: string): S3Location {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad(url, "not a URL");
  }
  if (parsed.protocol !== "s3:") throw bad(url, "not an s3:// URL");
  if (parsed.username || parsed.password) throw bad(url, "credentials in the URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role");
  if (parsed.hash) throw bad(url, "has a #fragment");
  const bucket = parsed.hostname;
  if (!BUCKET_RE.test(bucket)) throw bad(url, `bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name`);
  for (const name of parsed.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(name)) throw bad(url, `unknown parameter ${JSON.stringify(name)} (known: ${[...KNOWN_PARAMS].join(", ")})`);
  }
  const region = parsed.searchParams.get("region") || DEFAULT_REGION;
  const endpoint = checkEndpoint(url, parsed.searchParams.get("endpoint") ?? `https://s3.${region}.amazonaws.com`);
  // From the raw text, not parsed.pathname: URL parsing would resolve "/../x" to "/x" silently.
  const rawPath = /^s3:\/\/[^/?#]*([^?#]*)/.exec(url)?.[1] ?? "";
  const prefix = decodePath(url, rawPath).replace(/^\/+|\/+$/g, "");
  if (prefix !== "") {
    try {
      checkKey(prefix);
    } catch (err) {
      throw bad(url, `prefix ${(err as Error).message}`);
    }
    if (Buffer.byteLength(prefix) > LIMITS.objectStorePrefixMaxBytes) throw bad(url, `prefix longer than ${LIMITS.objectStorePrefixMaxBytes} bytes`);
  }
  return { bucket, prefix, endpoint, region };
}

function decodePath(url: string, pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    throw bad(url, "prefix has a malformed %-escape");
  }
}

function checkEndpoint(url: string, endpoint: string): string {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw bad(url, "endpoint is not a URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw bad(url, "endpoint is not http(s)");
  if (parsed.username || parsed.password) throw bad(url, "credentials in the endpoint");
  if (parsed.search || parsed.hash || (parsed.pathname !== "/" && parsed.pathname !== "")) throw bad(url, "endpoint has a path or query");
  return parsed.origin;
}

/** The canonical URL of a location: what the store reports as its `url`. */
export function formatS3Url(location: S3Location): string {
  const path = location.prefix ? `/${location.prefix.split("/").map(encodeURIComponent).join("/")}` : "";
  const query = new URLSearchParams({ endpoint: location.endpoint, region: location.region });
  return `s3://${location.bucket}${path}?${query}`;
}

/**
 * Keys from the environment, or null when it names none: then the AWS standard provider chain
 * (AWS_PROFILE and the shared files, web identity, container and instance roles) finds them.
 */
export function credentialsFromEnv(env: Record<string, string | undefined>): S3Credentials | null {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId && !secretAccessKey) return null;
  if (!accessKeyId || !secretAccessKey) {
    throw new FsError("EINVAL", `s3 object store: ${accessKeyId ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"} is missing beside ${accessKeyId ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"}`);
  }
  const sessionToken = env.AWS_SESSION_TOKEN;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/** What the chain's failure means to an operator. */
export function noCredentials(err: unknown): FsError {
  const why = err instanceof Error ? err.message : String(err);
  return new FsError("EINVAL", `s3 object store has no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), web identity or an instance role (${why})`);
}
