import { FsError, LIMITS } from "../types/index.ts";

// Where the node cache lives and how large it may grow: connect() options first, then
// NOKV_CACHE_DIR / NOKV_CACHE_MAX_BYTES, so a training job turns it on without a code change.

const UNITS: Record<string, number> = { "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };

/** "10737418240", "10GiB", "512M", "4 k" (binary units) as bytes; EINVAL otherwise. */
export function parseByteSize(text: string, what = "size"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new FsError("EINVAL", `${what} ${JSON.stringify(text)} is not a positive byte count (e.g. 10GiB, 512MiB, 1048576)`);
  return bytes;
}

export interface NodeCacheChoice {
  cacheDir?: string;
  cacheMaxBytes?: number;
}

/** The node cache to use, or undefined when neither the options nor the environment name a directory. */
export function nodeCacheFrom(options: NodeCacheChoice, env: Record<string, string | undefined>): { cacheDir: string; maxBytes: number } | undefined {
  const cacheDir = options.cacheDir ?? (env.NOKV_CACHE_DIR || undefined);
  if (!cacheDir) return undefined;
  const fromEnv = env.NOKV_CACHE_MAX_BYTES ? parseByteSize(env.NOKV_CACHE_MAX_BYTES, "NOKV_CACHE_MAX_BYTES") : undefined;
  const maxBytes = options.cacheMaxBytes ?? fromEnv ?? LIMITS.nodeCacheDefaultMaxBytes;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new FsError("EINVAL", `cacheMaxBytes ${maxBytes} is not a positive byte count`);
  return { cacheDir, maxBytes };
}
