import type { Readable } from "node:stream";
import { FsError, type Dentry, type DirEntryPlus, type DirPage, type InodeAttrs } from "../types/index.ts";
import { BodyReader, readWhole } from "./body-reader.ts";
import { fsErrorFor, withPath } from "./errors.ts";
import { NoKVFileHandle } from "./file-handle.ts";
import type { MetaCache } from "./meta-cache.ts";
import type { DataPath } from "./objects.ts";
import { ReadBatcher } from "./read-batcher.ts";
import { bodyReadStream, type ReadStreamOptions } from "./read-stream.ts";
import type { RpcClient } from "./rpc-client.ts";
import { NoKVDirent, NoKVStats } from "./stats.ts";

// The read half of the fs-like API, shared by the live client and snapshot views (which add a
// `snapshot` argument to every request and have no write methods).

export interface ReaddirOptions {
  withFileTypes?: boolean;
}

export type ReadFileOptions = { encoding?: BufferEncoding | null } | BufferEncoding | null;

export class PathReader {
  private bodyReader: BodyReader | null = null;
  private readonly batcher = new ReadBatcher((op, args) => this.rpc.call(op, args));
  /** Attributes and read plans kept while watches keep them fresh (live client with metadataCache only). */
  protected metaCache: MetaCache | null = null;

  constructor(
    protected readonly rpc: RpcClient,
    protected readonly mountId: number,
    protected readonly viewArgs: Record<string, unknown> = {},
    /** The object store and block cache; file bytes are read from there, never through metad. */
    protected readonly data: DataPath,
  ) {}

  /** Reads through read plans made in this view (a snapshot's plans read at its version). */
  protected get reader(): BodyReader {
    return (this.bodyReader ??= new BodyReader((op, args) => this.dataCall(op, args), this.data, () => this.metaCache?.clear()));
  }

  /** The metadata reads of the data path: many readers at once share one batch request. */
  private dataCall(op: string, args: Record<string, unknown>): Promise<unknown> {
    const full = { mount: this.mountId, ...this.viewArgs, ...args };
    if (this.metaCache) return this.metaCache.call(op, full, () => this.batcher.call(op, full));
    return this.batcher.call(op, full);
  }

  protected call(op: string, args: Record<string, unknown>, requestKey?: string): Promise<unknown> {
    const request = this.rpc.call(op, { mount: this.mountId, ...this.viewArgs, ...args }, requestKey);
    if (requestKey === undefined || !this.metaCache) return request;
    // This client's own write: what it changed is dropped now and again once it is applied.
    const cache = this.metaCache;
    cache.clear();
    return request.finally(() => cache.clear());
  }

  stat(path: string): Promise<NoKVStats> {
    return withPath("stat", path, async () => new NoKVStats((await this.call("stat_path", { path })) as InodeAttrs));
  }

  lstat(path: string): Promise<NoKVStats> {
    return withPath("lstat", path, async () => new NoKVStats((await this.call("lstat_path", { path })) as InodeAttrs));
  }

  /** True when `path` exists (following symlinks), false on ENOENT. */
  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return false;
      throw err;
    }
  }

  readdir(path: string): Promise<string[]>;
  readdir(path: string, options: { withFileTypes: true }): Promise<NoKVDirent[]>;
  readdir(path: string, options?: ReaddirOptions): Promise<string[] | NoKVDirent[]>;
  readdir(path: string, options: ReaddirOptions = {}): Promise<string[] | NoKVDirent[]> {
    return withPath("scandir", path, async () => {
      const entries: Dentry[] = [];
      for await (const page of this.pages<Dentry>(path, false)) entries.push(...page);
      if (!options.withFileTypes) return entries.map((e) => e.name);
      return entries.map((e) => new NoKVDirent(e.name, path, e.type));
    });
  }

  /** Entries with their attributes, one request per page (readdir-plus). */
  readdirStats(path: string): Promise<Array<{ name: string; stats: NoKVStats }>> {
    return withPath("scandir", path, async () => {
      const out: Array<{ name: string; stats: NoKVStats }> = [];
      for await (const page of this.pages<DirEntryPlus>(path, true)) {
        for (const e of page) out.push({ name: e.name, stats: new NoKVStats(e.attrs) });
      }
      return out;
    });
  }

  private async *pages<T extends { name: string }>(path: string, plus: boolean): AsyncGenerator<T[]> {
    let after: string | null = null;
    do {
      const page = (await this.call("readdir_path", { path, plus, ...(after === null ? {} : { after }) })) as DirPage<T>;
      yield page.entries;
      after = page.nextAfter;
    } while (after !== null);
  }

  readlink(path: string): Promise<string> {
    return withPath("readlink", path, async () => (await this.call("readlink_path", { path })) as string);
  }

  /** The whole file, as a Buffer or, with an encoding, a string (like fs.readFile). */
  readFile(path: string, options?: { encoding?: null } | null): Promise<Buffer>;
  readFile(path: string, options: { encoding: BufferEncoding } | BufferEncoding): Promise<string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer | string>;
  readFile(path: string, options: ReadFileOptions = null): Promise<Buffer | string> {
    const encoding = typeof options === "string" ? options : options?.encoding;
    return withPath("open", path, async () => {
      const bytes = await readWhole(() => this.statAttrs(path), this.reader);
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return encoding ? buffer.toString(encoding) : buffer;
    });
  }

  /** A node:stream Readable of the file, or of bytes `start`..`end` (inclusive) of it. */
  createReadStream(path: string, options: ReadStreamOptions = {}): Readable {
    const describe = (err: unknown) => fsErrorFor(err, "open", path);
    try {
      return bodyReadStream(() => this.statAttrs(path), this.reader, options, describe);
    } catch (err) {
      throw describe(err);
    }
  }

  /** A read-only handle like fs/promises FileHandle: positional reads, stat, close. */
  open(path: string): Promise<NoKVFileHandle> {
    return withPath("open", path, async () => {
      const attrs = await this.statAttrs(path);
      if (attrs.type !== "file") throw new FsError(attrs.type === "dir" ? "EISDIR" : "EINVAL", "not a regular file");
      return new NoKVFileHandle(attrs, this.reader, () => this.dataCall("getattr", { inode: attrs.inode }) as Promise<InodeAttrs>);
    });
  }

  private statAttrs(path: string): Promise<InodeAttrs> {
    return this.dataCall("stat_path", { path }) as Promise<InodeAttrs>;
  }
}
