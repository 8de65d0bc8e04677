// s3://BUCKET[/PREFIX]: the object store over any S3-compatible server. The policy lives here
// once for both clients: key checks, the store prefix, ranges past the end, timeouts, retries,
// and checks on what the server answers before it is believed.
import { FsError, LIMITS } from "../../types/index.ts";
import { checkKey, checkListOptions, checkObjectSize, checkPrefix, checkRange, compareKeys } from "../keys.ts";
import type { ByteRange, ListOptions, ListPage, ObjectHead, ObjectStore } from "../object-store.ts";
import { createBunDriver } from "./bun-driver.ts";
import { createNodeDriver } from "./node-driver.ts";
import type { S3ClientKind, S3Driver } from "./s3-driver.ts";
import { isInvalidRange, mapS3Error, S3TimeoutError } from "./s3-errors.ts";
import { credentialsFromEnv, formatS3Url, parseS3Url, type S3Location } from "./s3-url.ts";

export interface S3RequestPolicy {
  requestTimeoutMs: number;
  /** Attempts in all, first included; only timeouts, 5xx, throttling and network errors repeat. */
  maxAttempts: number;
  retryBackoffBaseMs: number;
}

export const DEFAULT_S3_POLICY: S3RequestPolicy = {
  requestTimeoutMs: LIMITS.s3RequestTimeoutMs,
  maxAttempts: LIMITS.s3RequestMaxAttempts,
  retryBackoffBaseMs: LIMITS.s3RetryBackoffBaseMs,
};

export interface S3StoreOptions {
  url: string;
  /** Where AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN come from; process.env by default. Without them, the AWS provider chain. */
  env?: Record<string, string | undefined>;
  /** "auto": Bun's built-in client under Bun, @aws-sdk/client-s3 elsewhere. */
  client?: "auto" | S3ClientKind;
  policy?: Partial<S3RequestPolicy>;
}

const EMPTY = new Uint8Array(0);

export async function openS3Store(options: S3StoreOptions): Promise<S3ObjectStore> {
  const location = parseS3Url(options.url);
  const credentials = credentialsFromEnv(options.env ?? process.env);
  const onBun = typeof Bun !== "undefined";
  const kind = !options.client || options.client === "auto" ? (onBun ? "bun" : "node") : options.client;
  if (kind === "bun" && !onBun) throw new FsError("EINVAL", "the bun S3 client needs the Bun runtime");
  const driver = kind === "bun" ? await createBunDriver({ location, credentials }) : await createNodeDriver({ location, credentials });
  return new S3ObjectStore(location, driver, { ...DEFAULT_S3_POLICY, ...options.policy });
}

export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  readonly clientKind: S3ClientKind;
  readonly #driver: S3Driver;
  readonly #policy: S3RequestPolicy;
  /** "" or the store prefix with its trailing '/': prepended to every key. */
  readonly #base: string;

  constructor(location: S3Location, driver: S3Driver, policy: S3RequestPolicy) {
    this.url = formatS3Url(location);
    this.clientKind = driver.kind;
    this.#driver = driver;
    this.#policy = policy;
    this.#base = location.prefix ? `${location.prefix}/` : "";
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    checkKey(key);
    checkObjectSize(key, bytes);
    await this.#call("put", key, (signal) => this.#driver.put(this.#base + key, bytes, signal));
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    checkKey(key);
    if (!range) return await this.#call("get", key, (signal) => this.#driver.get(this.#base + key, null, signal));
    checkRange(key, range);
    // S3 has no empty Range header; a zero-length read still owes ENOENT for a missing key.
    if (range.lengthBytes === 0) {
      if ((await this.head(key)) === null) throw new FsError("ENOENT", `no object ${JSON.stringify(key)} in ${this.url}`, { syscall: "get", path: key });
      return EMPTY;
    }
    const wanted = { startBytes: range.offsetBytes, endBytes: range.offsetBytes + range.lengthBytes };
    const bytes = await this.#call("get", key, async (signal) => {
      try {
        return await this.#driver.get(this.#base + key, wanted, signal);
      } catch (err) {
        // 416: the range starts at or past the end (any range of an empty object does). S3 checks
        // the key first, so the object exists and the clipped read is empty.
        if (isInvalidRange(err)) return EMPTY;
        throw err;
      }
    });
    if (bytes.byteLength > range.lengthBytes) {
      throw new FsError("EIO", `${this.url} answered ${bytes.byteLength} bytes for a ${range.lengthBytes}-byte range of ${JSON.stringify(key)}`, { syscall: "get", path: key });
    }
    return bytes;
  }

  async head(key: string): Promise<ObjectHead | null> {
    checkKey(key);
    try {
      return { sizeBytes: await this.#call("head", key, (signal) => this.#driver.head(this.#base + key, signal)) };
    } catch (err) {
      if (err instanceof FsError && err.code === "ENOENT") return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.#call("delete", key, (signal) => this.#driver.delete(this.#base + key, signal));
    } catch (err) {
      // S3 answers 204 for a missing key; some compatible servers answer 404. Both mean done.
      if (!(err instanceof FsError && err.code === "ENOENT")) throw err;
    }
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    checkPrefix(prefix);
    const limit = checkListOptions(options);
    const after = options?.after;
    const input = { prefix: this.#base + prefix, startAfter: after ? this.#base + after : undefined, maxKeys: limit };
    const result = await this.#call("list", prefix, (signal) => this.#driver.list(input, signal));
    const keys = result.keys.map((key) => key.slice(this.#base.length));
    this.#checkListing(prefix, after ?? "", limit, result.keys, keys);
    if (result.truncated && keys.length === 0) throw this.#badListing(prefix, "an empty page marked truncated");
    return { keys, nextAfter: result.truncated ? keys[keys.length - 1]! : null };
  }

  async close(): Promise<void> {
    this.#driver.close();
  }

  /** Paging continues from the last key, so a wrong order would silently lose keys: refuse it. */
  #checkListing(prefix: string, after: string, limit: number, fullKeys: string[], keys: string[]): void {
    if (keys.length > limit) throw this.#badListing(prefix, `${keys.length} keys for a page of ${limit}`);
    let previous = after;
    for (const [i, key] of keys.entries()) {
      if (!fullKeys[i]!.startsWith(this.#base + prefix)) throw this.#badListing(prefix, `key ${JSON.stringify(fullKeys[i])} outside the prefix`);
      if (compareKeys(key, previous) <= 0) throw this.#badListing(prefix, `key ${JSON.stringify(key)} out of order`);
      previous = key;
    }
  }

  #badListing(prefix: string, what: string): FsError {
    return new FsError("EIO", `${this.url} listed ${what} for prefix ${JSON.stringify(prefix)}`, { syscall: "list", path: prefix });
  }

  async #call<T>(op: string, key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt(fn);
      } catch (err) {
        const { error, retryable } = mapS3Error(err, { op, key, url: this.url });
        if (!retryable || attempt >= this.#policy.maxAttempts) throw error;
        // Jitter keeps many clients that failed together from retrying in lockstep.
        const backoffMs = this.#policy.retryBackoffBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  }

  async #attempt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Reject first so the caller sees the timeout, not the client's abort error.
        reject(new S3TimeoutError(this.#policy.requestTimeoutMs));
        controller.abort();
      }, this.#policy.requestTimeoutMs);
    });
    const work = fn(controller.signal);
    // A call abandoned after its timeout may still fail later; that must not be an unhandled rejection.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
