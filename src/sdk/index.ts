import { readFileSync } from "node:fs";
import { FsError } from "../types/index.ts";
import { NoKVClient, type ConnectOptions } from "./client.ts";
import { RpcClient } from "./rpc-client.ts";

export { NoKVClient, SnapshotView, type BatchOp, type ConnectOptions, type SnapshotInfo, type TokenInfo, type WriteFileOptions } from "./client.ts";
export type { BodySource } from "./blocks.ts";
export type { PublishOptions } from "./body-writer.ts";
export type { PublishProgress } from "./upload.ts";
export type { CacheStats } from "./block-cache.ts";
export type { RpcOpStats } from "./rpc-client.ts";
export type { IntegrityStats } from "./objects.ts";
export type { WarmupOptions, WarmupResult } from "./warmup.ts";
export type { NodeCacheCounters } from "./node-cache/index.ts";
export { parseByteSize } from "./cache-options.ts";
export type { ReadStreamOptions } from "./read-stream.ts";
export type { ReadFileOptions } from "./path-reader.ts";
export type { InodeReadOptions } from "./inode-api.ts";
export { NoKVFileHandle, type HandleReadResult } from "./file-handle.ts";
export type { NoKVWriteStream } from "./write-stream.ts";
export { NoKVStats, NoKVDirent } from "./stats.ts";
export { Watcher, WatchAbortError, type CursorWatchEvent, type WatchOptions } from "./watcher.ts";
export { InodeApi } from "./inode-api.ts";
export { ReadPlans } from "./read-plans.ts";
export { FsError } from "../types/index.ts";
export type { InodeAttrs, WatchEvent, DirEntryPlus, Dentry, ReadPlan, CloneResult, DiffEntry, DiffChange, DiffKind, RollbackResult } from "../types/index.ts";
export type { DiffOptions, DiffTarget } from "./workspace.ts";

export const DEFAULT_PORT = 7777;

/** Parses `nokv://host[:port]` (also `host:port`), or `nokvs://host[:port]` for TLS. */
export function parseServerUrl(url: string): { host: string; port: number; tls: boolean } {
  const match = /^(?:(nokvs?):\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!match) throw new FsError("EINVAL", `server URL '${url}' is not nokv://HOST[:PORT] or nokvs://HOST[:PORT]`);
  const host = match[2]!.replace(/^\[|\]$/g, "");
  const port = match[3] === undefined ? DEFAULT_PORT : Number(match[3]);
  if (port < 1 || port > 65_535) throw new FsError("EINVAL", `port ${port} out of range`);
  return { host, port, tls: match[1] === "nokvs" };
}

/**
 * Parses a URL naming one metad or every replica of a replicated one:
 * `nokv://h1:7777,h2:7777,h3:7777`. The client starts with the first and follows redirects.
 */
export function parseServerUrls(url: string): { endpoints: { host: string; port: number }[]; tls: boolean } {
  const scheme = /^(nokvs?):\/\//.exec(url)?.[1];
  const hosts = (scheme ? url.slice(scheme.length + 3) : url).replace(/\/$/, "").split(",");
  const endpoints = hosts.map((h) => {
    const { host, port } = parseServerUrl(scheme ? `${scheme}://${h}` : h);
    return { host, port };
  });
  return { endpoints, tls: scheme === "nokvs" };
}

/**
 * Connects to metad and opens a mount: `await connect("nokv://127.0.0.1:7777", { mount: "default" })`.
 * `token` (or NOKV_TOKEN in the environment) is the token metad requires when tokens are on.
 * `nokvs://` speaks TLS; `ca` (PEM, or a file named by NOKV_CA) is the CA that signed metad's
 * certificate when the system's do not.
 */
interface HelloReply {
  mount: { id: number; name: string };
  objects: string;
  durability?: "normal" | "full";
  storeId?: string | null;
}

export async function connect(url: string, options: ConnectOptions & { token?: string; ca?: string | Buffer } = {}): Promise<NoKVClient> {
  const env = typeof process === "undefined" ? {} : process.env;
  const token = options.token ?? (env.NOKV_TOKEN || undefined);
  const { tls, endpoints } = parseServerUrls(url);
  const address = { ...endpoints[0]!, ...(endpoints.length > 1 ? { endpoints } : {}) };
  const ca = options.ca ?? (tls && env.NOKV_CA ? readCaFile(env.NOKV_CA) : undefined);
  const rpc = new RpcClient({
    ...address,
    ...(tls ? { tls: ca === undefined ? {} : { ca } } : {}),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(token === undefined ? {} : { token }),
  });
  try {
    const hello = (await rpc.call("hello", { mount: options.mount ?? "default" })) as HelloReply;
    return new NoKVClient(rpc, hello.mount, hello.objects, options, { durability: hello.durability ?? "normal", storeId: hello.storeId ?? null });
  } catch (err) {
    rpc.close();
    throw err;
  }
}

function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new FsError("EINVAL", `NOKV_CA ${path}: ${(err as Error).message}`);
  }
}
