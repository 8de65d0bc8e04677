import type { Dentry, DirEntryPlus, DirPage, InodeAttrs } from "../types/index.ts";
import { withPath } from "./errors.ts";
import type { RpcClient } from "./rpc-client.ts";
import { NoKVDirent, NoKVStats } from "./stats.ts";

// The read half of the fs-like API, shared by the live client and snapshot views (which add a
// `snapshot` argument to every request and have no write methods).

export interface ReaddirOptions {
  withFileTypes?: boolean;
}

export class PathReader {
  constructor(
    protected readonly rpc: RpcClient,
    protected readonly mountId: number,
    protected readonly viewArgs: Record<string, unknown> = {},
  ) {}

  protected call(op: string, args: Record<string, unknown>, requestKey?: string): Promise<unknown> {
    return this.rpc.call(op, { mount: this.mountId, ...this.viewArgs, ...args }, requestKey);
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
}
