import type { ObjectStore } from "../objstore/index.ts";
import { FsError, LIMITS, type CloneResult, type DiffEntry, type DirEntryPlus, type InodeAttrs, type ReadPlan, type RollbackResult } from "../types/index.ts";
import { wireToError, type WireResponse } from "../wire/index.ts";
import { BlockCache, type CacheStats } from "./block-cache.ts";
import type { BodySource } from "./blocks.ts";
import { publishBody, type Call, type PublishOptions, type PublishTarget } from "./body-writer.ts";
import { fsErrorFor, withPath } from "./errors.ts";
import { InodeApi } from "./inode-api.ts";
import { DataPath, type DataPathOptions, type IntegrityStats } from "./objects.ts";
import { PathReader } from "./path-reader.ts";
import { nodeCacheFrom } from "./cache-options.ts";
import { MetaCache } from "./meta-cache.ts";
import { warmup, type WarmupOptions, type WarmupResult } from "./warmup.ts";
import type { NodeCacheCounters } from "./node-cache/index.ts";
import { RpcClient, type RpcOpStats } from "./rpc-client.ts";
import { NoKVStats, timeToNs } from "./stats.ts";
import { Watcher, cursorFrom, type WatchOptions } from "./watcher.ts";
import { diffLabel, diffPages, type DiffOptions, type DiffTarget } from "./workspace.ts";
import { bodyWriteStream, type NoKVWriteStream } from "./write-stream.ts";

// The SDK client: node:fs/promises-shaped path methods, the inode API, batches, snapshots and
// watches, over one pipelined connection. Every write carries a fresh request key, so a retry
// after a dropped connection is applied exactly once.

export interface ConnectOptions {
  /** Mount name; "default" when absent. */
  mount?: string;
  requestTimeoutMs?: number;
  /** Object store URL to use instead of the one metad names (same store, another route to it). */
  objects?: string;
  /** An open object store to use instead (a wrapped one, for metrics or tests); the caller closes it. */
  objectStore?: ObjectStore;
  /** Block cache capacity in bytes (default LIMITS.blockCacheDefaultBytes); 0 turns it off. */
  cacheBytes?: number;
  /**
   * The node cache directory shared by every client on this machine (TypeScript, FUSE, Python):
   * whole blocks on local disk, filled once per node (docs/cache.md). Default NOKV_CACHE_DIR; off when neither is set.
   */
  cacheDir?: string;
  /** The node cache's size limit in bytes (default NOKV_CACHE_MAX_BYTES, else LIMITS.nodeCacheDefaultMaxBytes). */
  cacheMaxBytes?: number;
  /**
   * Cache attributes and read plans in this process while watches on their directories keep them
   * fresh (dropped on any event there and on disconnect). Default false.
   */
  metadataCache?: boolean;
  /**
   * Verify every byte read against the CRC-32 its uploader stored (default true). Turning it off
   * exists to measure its cost (bench/); a corrupt block then reads back silently.
   */
  verifyChecksums?: boolean;
}

export interface WriteFileOptions extends Omit<PublishOptions, "replace"> {
  /** For string data (default utf8). */
  encoding?: BufferEncoding;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: "read-only" | "read-write" | "admin";
  mounts: "*" | string[];
  createdAtMs: number;
}

export interface BatchOp {
  op: string;
  args: Record<string, unknown>;
}

export interface SnapshotInfo {
  snapshotId: number;
  mount: number;
  rootInode: number;
  readVersion: number;
  createdVersion: number;
  /**
   * The snapshotted directory's absolute path when the snapshot was taken. A view uses the live
   * namespace's absolute paths: a snapshot of /datasets reads /datasets/...; nothing else resolves.
   */
  path: string;
}

/** A read-only view of a snapshot: the read methods of the client, rooted at the snapshot. */
export class SnapshotView extends PathReader {
  constructor(rpc: RpcClient, mountId: number, readonly info: SnapshotInfo, private readonly retireFn: () => Promise<void>, data: DataPath) {
    super(rpc, mountId, { snapshot: info.snapshotId }, data);
  }
  get id(): number {
    return this.info.snapshotId;
  }
  /** Drops the snapshot: what only it kept alive becomes garbage. */
  retire(): Promise<void> {
    return this.retireFn();
  }
}

export class NoKVClient extends PathReader {
  readonly inode: InodeApi;
  private readonly clientId = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  private sequence = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly keyedCall: Call = (op, args, write) => this.call(op, args, write ? this.nextKey() : undefined);

  /** `objectsUrl` is the store metad named in hello; `options` may route data elsewhere. */
  constructor(rpc: RpcClient, readonly mount: { id: number; name: string }, readonly objectsUrl: string, options: ConnectOptions = {}, server: DataPathOptions = {}) {
    super(rpc, mount.id, {}, new DataPath(options.objectStore ?? options.objects ?? objectsUrl, new BlockCache(options.cacheBytes ?? LIMITS.blockCacheDefaultBytes), { ...server, ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }), ...nodeCacheOption(options) }));
    this.inode = new InodeApi(this.keyedCall, {
      reader: this.reader,
      publish: (target, source, publishOptions) => this.publishTo(target, source, publishOptions),
      store: () => this.data.store(),
    });
    rpc.onReconnect = () => {
      for (const w of this.watchers) w.resubscribe();
    };
    if (options.metadataCache) {
      const metaCache = new MetaCache(
        (dir) => {
          const w = this.watch(dir);
          return { ready: w.ready, events: w, close: () => w.close() };
        },
        (dir) => this.pages<DirEntryPlus>(dir, true),
        (inode, generation, lengthBytes) => this.batchedCall("read_plan", { inode, generation, offsetBytes: 0, lengthBytes }) as Promise<ReadPlan>,
      );
      this.metaCache = metaCache;
      // Events may be lost with the connection: nothing cached survives it.
      rpc.onDisconnect = () => metaCache.dropAll();
    }
  }

  /** A request key no other write of any client uses. */
  private nextKey(): string {
    return `${this.clientId}:${++this.sequence}`;
  }

  private write(op: string, args: Record<string, unknown>): Promise<unknown> {
    return this.call(op, args, this.nextKey());
  }

  mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<string | undefined> {
    return withPath("mkdir", path, async () => {
      const made = await this.write("mkdir_path", { path, recursive: options.recursive ?? false, ...(options.mode === undefined ? {} : { mode: options.mode }) });
      return options.recursive && made ? path : undefined;
    });
  }

  /** Creates an empty file (EEXIST if the name is taken). */
  createFile(path: string, options: { mode?: number } = {}): Promise<NoKVStats> {
    return withPath("open", path, async () => new NoKVStats((await this.write("create_file_path", { path, ...options })) as InodeAttrs));
  }

  rmdir(path: string): Promise<void> {
    return withPath("rmdir", path, async () => void (await this.write("remove_path", { path, dirOnly: true })));
  }

  unlink(path: string): Promise<void> {
    return withPath("unlink", path, async () => void (await this.write("remove_path", { path, fileOnly: true })));
  }

  /** Like fs.rm: `recursive` removes a tree, `force` ignores a missing path. */
  async rm(path: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    let stats: NoKVStats;
    try {
      stats = await this.lstat(path);
    } catch (err) {
      if (options.force && (err as FsError).code === "ENOENT") return;
      throw err;
    }
    if (!stats.isDirectory()) return this.unlink(path);
    if (!options.recursive) throw new FsError("EISDIR", undefined, { syscall: "rm", path });
    const base = path.endsWith("/") ? path : `${path}/`;
    const entries = await this.readdir(path, { withFileTypes: true });
    const files = entries.filter((e) => !e.isDirectory()).map((e) => ({ op: "remove_path", args: { path: base + e.name } }));
    for (let i = 0; i < files.length; i += LIMITS.batchMaxOps) {
      for (const r of await this.batch(files.slice(i, i + LIMITS.batchMaxOps))) {
        if (!r.ok && !(options.force && r.error.code === "ENOENT")) throw wireToError(r.error);
      }
    }
    await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => this.rm(base + e.name, options)));
    await this.rmdir(path);
  }

  rename(oldPath: string, newPath: string, options: { noReplace?: boolean; exchange?: boolean } = {}): Promise<void> {
    return withPath("rename", oldPath, async () => void (await this.write("rename_path", { path: oldPath, newPath, ...options })));
  }

  symlink(target: string, path: string): Promise<void> {
    return withPath("symlink", path, async () => void (await this.write("symlink_path", { path, target })));
  }

  link(existingPath: string, newPath: string): Promise<void> {
    return withPath("link", existingPath, async () => void (await this.write("link_path", { path: existingPath, newPath })));
  }

  chmod(path: string, mode: number): Promise<void> {
    return withPath("chmod", path, async () => void (await this.write("setattr_path", { path, mode })));
  }

  chown(path: string, uid: number, gid: number): Promise<void> {
    return withPath("chown", path, async () => void (await this.write("setattr_path", { path, uid, gid })));
  }

  utimes(path: string, atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    return withPath("utime", path, async () => void (await this.write("setattr_path", { path, atimeNs: timeToNs(atime), mtimeNs: timeToNs(mtime) })));
  }

  truncate(path: string, len = 0): Promise<void> {
    return withPath("truncate", path, async () => void (await this.write("setattr_path", { path, sizeBytes: len })));
  }

  /**
   * Many operations in one round trip: ordered, not atomic, one result per op. `args` take the
   * wire op's fields (the mount is filled in); consecutive creates in one directory commit as one.
   */
  async batch(ops: BatchOp[]): Promise<WireResponse[]> {
    if (ops.length > LIMITS.batchMaxOps) throw new FsError("EINVAL", `batch of ${ops.length} ops, limit ${LIMITS.batchMaxOps}`);
    const wireOps = ops.map((o) => ({ op: o.op, args: { mount: this.mount.id, ...o.args } }));
    return (await this.write("batch", { ops: wireOps })) as WireResponse[];
  }

  /**
   * Publishes a file atomically: its blocks upload straight to the object store (`concurrency` at
   * a time, default 8), then one request makes it visible with all its bytes. `source` may be
   * bytes, a string, a Blob, an async iterable of chunks (a node Readable) or a web ReadableStream;
   * streams are read as the upload goes, never held whole. EEXIST unless `replace`.
   */
  publish(path: string, source: BodySource, options: PublishOptions = {}): Promise<NoKVStats> {
    return withPath("open", path, async () => new NoKVStats(await this.publishTo({ path }, source, options)));
  }

  /** Like fs.writeFile: creates or replaces the file with `data`, atomically. */
  writeFile(path: string, data: BodySource, options: WriteFileOptions | BufferEncoding = {}): Promise<void> {
    const { encoding, ...rest } = typeof options === "string" ? { encoding: options } : options;
    const source = typeof data === "string" && encoding ? Buffer.from(data, encoding) : data;
    return withPath("open", path, async () => void (await this.publishTo({ path }, source, { ...rest, replace: true })));
  }

  /**
   * A node:stream Writable that publishes the file when it finishes ('finish' fires once the file
   * is visible). Replaces an existing file unless `replace: false`.
   */
  createWriteStream(path: string, options: PublishOptions = {}): NoKVWriteStream {
    const queueBytes = options.blockSizeBytes ?? LIMITS.blockSizeDefaultBytes;
    return bodyWriteStream((source) => withPath("open", path, () => this.publishTo({ path }, source, { replace: true, ...options })), queueBytes);
  }

  /** Hits and misses of the block cache (per object range read). */
  cacheStats(): CacheStats {
    return this.data.cache.stats();
  }

  /**
   * Reads every file under `path` through the node cache, so a job that follows reads at local-disk
   * speed. EINVAL when the client has no node cache (cacheDir / NOKV_CACHE_DIR).
   */
  warmup(path: string, options: WarmupOptions = {}): Promise<WarmupResult> {
    return withPath("warmup", path, async () => {
      if (!this.data.nodeCache()) throw new FsError("EINVAL", "no node cache: connect with cacheDir or set NOKV_CACHE_DIR");
      return warmup({ stat: (p) => this.stat(p), readdirStats: (p) => this.readdirStats(p), reader: this.reader }, path, options);
    });
  }

  /** Hits and misses of the metadata cache (zero when metadataCache is off). */
  metadataCacheStats(): { hits: number; misses: number } {
    return { hits: this.metaCache?.hits ?? 0, misses: this.metaCache?.misses ?? 0 };
  }

  /** The node cache's counters in this process (null when it is off); `nokv-fs cache stats` sums every process. */
  nodeCacheStats(): NodeCacheCounters | null {
    const node = this.data.nodeCache();
    return node ? { ...node.stats.counters } : null;
  }

  /** Checksum segments verified, mismatches caught (and cured by a re-read), failed uploads cleaned up. */
  integrityStats(): IntegrityStats {
    return { ...this.data.integrity };
  }

  private publishTo(target: PublishTarget, source: BodySource, options: PublishOptions): Promise<InodeAttrs> {
    return publishBody(this.keyedCall, this.data, target, source, options);
  }

  /** Snapshots the directory at `path` (the mount root by default) and opens a view of it. */
  snapshot(path = "/"): Promise<SnapshotView> {
    return withPath("snapshot", path, async () => this.view((await this.write("snapshot_create", { path })) as SnapshotInfo));
  }

  openSnapshot(snapshotId: number): Promise<SnapshotView> {
    return withPath("snapshot", undefined, async () => this.view((await this.call("snapshot_get", { snapshot: snapshotId })) as SnapshotInfo));
  }

  listSnapshots(): Promise<SnapshotInfo[]> {
    return this.call("snapshot_list", {}) as Promise<SnapshotInfo[]>;
  }

  /**
   * A writable copy of `src` (a directory tree, a file or a symlink; as snapshot `snapshot` saw it
   * when given) at `dst`, made in one atomic step from metadata alone: no byte is copied, and
   * afterwards a write on either side never shows on the other. EEXIST if `dst` exists.
   */
  clone(src: string, dst: string, options: { snapshot?: number } = {}): Promise<CloneResult> {
    return withPath("clone", src, async () => (await this.write("clone_path", { path: src, newPath: dst, ...options })) as CloneResult);
  }

  /**
   * What differs from directory `a` to directory `b` (live paths, or `{ path, snapshot }`): added,
   * removed, changed (content by generation and block lists, never by reading bytes; mode, owner,
   * symlink target) and renamed (same inode, between two states of one directory), page by page.
   */
  async *diff(a: DiffTarget, b: DiffTarget, options: DiffOptions = {}): AsyncGenerator<DiffEntry> {
    try {
      yield* diffPages((op, args) => this.call(op, args), a, b, options);
    } catch (err) {
      throw fsErrorFor(err, "diff", diffLabel(a));
    }
  }

  /** The directory at `path` becomes what the snapshot saw, in one atomic step (watchers see each change). */
  rollback(path: string, snapshot: number | SnapshotView): Promise<RollbackResult> {
    const id = typeof snapshot === "number" ? snapshot : snapshot.id;
    return withPath("rollback", path, async () => (await this.write("rollback_path", { path, snapshot: id })) as RollbackResult);
  }

  /** The named mounts (separate namespaces) this metad serves. */
  listMounts(): Promise<Array<{ id: number; name: string }>> {
    return this.call("mounts_list", {}) as Promise<Array<{ id: number; name: string }>>;
  }

  /** Creates a named mount with an empty root; EEXIST if the name is taken. */
  createMount(name: string): Promise<{ id: number; name: string }> {
    return withPath("mount", undefined, async () => (await this.write("mount_create", { name })) as { id: number; name: string });
  }

  private view(info: SnapshotInfo): SnapshotView {
    return new SnapshotView(this.rpc, this.mount.id, info, async () => void (await this.write("snapshot_retire", { snapshot: info.snapshotId })), this.data);
  }

  /**
   * Events in the directory at `path` (or `{ inode }`) as they commit, pushed by the server.
   * Returns an async iterable at once, like node:fs/promises watch: `for await (const e of
   * fs.watch(p, { signal }))`. With `cursor` (a previous watcher's `.cursor`) events since then
   * come first; `signal` ends it with an AbortError; `await watcher.ready` waits until the server
   * holds the subscription. A failure to start (ENOENT, ESTALE) is thrown by the iteration.
   */
  watch(target: string | { inode: number }, options: WatchOptions = {}): Watcher {
    // By inode, a watch follows its directory through renames, also when it resubscribes.
    const scope = typeof target === "string" ? { path: target } : { inode: target.inode };
    const label = typeof target === "string" ? target : `inode ${target.inode}`;
    const watcher = new Watcher(this.rpc, { mount: this.mount.id, ...scope }, options, (err) => fsErrorFor(err, "watch", label), (w) => this.watchers.delete(w));
    if (!watcher.closed) this.watchers.add(watcher);
    return watcher;
  }

  /**
   * Applied commands of this mount's shard (or the catalog's) from a log position on: the data
   * every replica applies. One page; `nextFrom` continues it.
   */
  readLog(options: { from?: number; limit?: number; catalog?: boolean } = {}): Promise<LogPage> {
    return this.call("log_read", { mount: this.mount.id, ...options }) as Promise<LogPage>;
  }

  /**
   * Makes an access token (admin only): `role` read-only, read-write or admin; `mounts` the mount
   * names it may use (admin tokens: all). The secret is in `token` and cannot be shown again.
   */
  createToken(spec: { role: "read-only" | "read-write" | "admin"; mounts?: string[] | "*"; name?: string }): Promise<{ token: string; info: TokenInfo }> {
    return this.call("token_create", { ...spec }) as Promise<{ token: string; info: TokenInfo }>;
  }

  /** The stored tokens (ids, names, roles, mounts; never secrets). Admin only. */
  listTokens(): Promise<TokenInfo[]> {
    return this.call("token_list", {}) as Promise<TokenInfo[]>;
  }

  /** Revokes a token by id: connections using it are closed and it is refused from then on. Admin only. */
  revokeToken(id: string): Promise<TokenInfo> {
    return this.call("token_revoke", { id }) as Promise<TokenInfo>;
  }

  /** Server statistics, as GET /stats returns them. */
  serverStats(): Promise<unknown> {
    return this.call("stats", {});
  }

  /** Runs one GC pass on the server now. */
  gc(): Promise<unknown> {
    return this.call("gc", {});
  }

  async close(): Promise<void> {
    for (const w of [...this.watchers]) await w.close();
    this.rpc.close();
    await this.data.close();
  }

  /** Round trips of this client's requests so far, per op (see RpcClient.opStats). */
  rpcStats(): ReadonlyMap<string, Readonly<RpcOpStats>> {
    return this.rpc.opStats;
  }

  /** Test hook: drops the connection without closing the client. */
  dropConnection(): void {
    this.rpc.dropConnection();
  }
}

/** One page of a shard's command log (see readLog). */
export interface LogPage {
  shard: number;
  /** The oldest position still in the log (older ones were trimmed behind a checkpoint). */
  floor: number;
  /** The shard's newest position. */
  head: number;
  entries: Array<{ version: number; kind: string; command: Record<string, unknown> }>;
  nextFrom: number | null;
}

function nodeCacheOption(options: ConnectOptions): { nodeCache?: { cacheDir: string; maxBytes: number } } {
  const nodeCache = nodeCacheFrom(options, typeof process === "undefined" ? {} : process.env);
  return nodeCache ? { nodeCache } : {};
}
