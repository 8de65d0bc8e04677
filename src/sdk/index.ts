import { FsError } from "../types/index.ts";
import { NoKVClient, type ConnectOptions } from "./client.ts";
import { RpcClient } from "./rpc-client.ts";

export { NoKVClient, SnapshotView, type BatchOp, type ConnectOptions, type SnapshotInfo, type WriteFileOptions } from "./client.ts";
export type { BodySource } from "./blocks.ts";
export type { PublishOptions } from "./body-writer.ts";
export type { PublishProgress } from "./upload.ts";
export type { CacheStats } from "./block-cache.ts";
export type { ReadStreamOptions } from "./read-stream.ts";
export type { ReadFileOptions } from "./path-reader.ts";
export type { InodeReadOptions } from "./inode-api.ts";
export { NoKVFileHandle, type HandleReadResult } from "./file-handle.ts";
export type { NoKVWriteStream } from "./write-stream.ts";
export { NoKVStats, NoKVDirent } from "./stats.ts";
export { Watcher } from "./watcher.ts";
export { InodeApi } from "./inode-api.ts";
export { FsError } from "../types/index.ts";
export type { InodeAttrs, WatchEvent, DirEntryPlus, Dentry, ReadPlan, CloneResult, DiffEntry, DiffChange, DiffKind, RollbackResult } from "../types/index.ts";
export type { DiffOptions, DiffTarget } from "./workspace.ts";

export const DEFAULT_PORT = 7777;

/** Parses `nokv://host[:port]` (also `host:port`). */
export function parseServerUrl(url: string): { host: string; port: number } {
  const match = /^(?:nokv:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!match) throw new FsError("EINVAL", `server URL '${url}' is not nokv://HOST[:PORT]`);
  const host = match[1]!.replace(/^\[|\]$/g, "");
  const port = match[2] === undefined ? DEFAULT_PORT : Number(match[2]);
  if (port < 1 || port > 65_535) throw new FsError("EINVAL", `port ${port} out of range`);
  return { host, port };
}

/**
 * Connects to metad and opens a mount: `await connect("nokv://127.0.0.1:7777", { mount: "default" })`.
 * `token` (or NOKV_TOKEN in the environment) is the shared secret a metad off loopback requires.
 */
export async function connect(url: string, options: ConnectOptions & { token?: string } = {}): Promise<NoKVClient> {
  const token = options.token ?? (typeof process === "undefined" ? undefined : process.env.NOKV_TOKEN || undefined);
  const rpc = new RpcClient({
    ...parseServerUrl(url),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(token === undefined ? {} : { token }),
  });
  try {
    const hello = (await rpc.call("hello", { mount: options.mount ?? "default" })) as { mount: { id: number; name: string }; objects: string };
    return new NoKVClient(rpc, hello.mount, hello.objects, options);
  } catch (err) {
    rpc.close();
    throw err;
  }
}
