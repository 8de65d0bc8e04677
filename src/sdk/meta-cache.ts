import { LIMITS, type InodeAttrs, type ReadPlan, type WatchEvent } from "../types/index.ts";

// Attributes (stat by path) and read plans cached in this process, only while watches keep them
// fresh: a path's attributes are kept once every directory on the way to it is watched and the
// server holds those subscriptions, and a request made before that is never kept. Any event in a
// watched directory drops what it names (the child's path, the inode's plans); a rename or a
// remove drops everything (a directory moved moves every path under it). A write by this client,
// ESTALE, a missing block and a lost connection drop everything too. What remains is stale only
// for the moment an event from another client takes to arrive.

/** What the cache needs of a watch: events until it ends, and when the server holds it. */
export interface DirWatch {
  ready: Promise<unknown>;
  events: AsyncIterable<WatchEvent>;
  close(): Promise<void>;
}

interface Watched {
  watch: DirWatch;
  live: boolean;
}

export class MetaCache {
  private readonly stats = new Map<string, InodeAttrs>();
  private readonly plans = new Map<string, ReadPlan>();
  private readonly dirs = new Map<string, Watched>();
  /** Bumped by every drop: a reply to a request made before it is not kept. */
  private epoch = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly watchDir: (path: string) => DirWatch) {}

  /** Metadata reads of the data path, through the cache: `send` makes the request. */
  async call(op: string, args: Record<string, unknown>, send: () => Promise<unknown>): Promise<unknown> {
    if (op === "stat_path" && typeof args.path === "string" && isPlainPath(args.path)) return this.stat(args.path, send);
    if (op === "read_plan" && typeof args.generation === "number") return this.plan(args, send);
    return send();
  }

  /** Drops everything and every watch (disconnect: events may have been missed). */
  dropAll(): void {
    this.clear();
    for (const w of this.dirs.values()) void w.watch.close().catch(() => undefined);
    this.dirs.clear();
  }

  /** Drops every cached answer, keeping the watches (a write, ESTALE, a missing block). */
  clear(): void {
    this.epoch++;
    this.stats.clear();
    this.plans.clear();
  }

  private async stat(path: string, send: () => Promise<unknown>): Promise<unknown> {
    const known = this.stats.get(path);
    if (known) {
      this.hits++;
      return known;
    }
    this.misses++;
    const epoch = this.epoch;
    const keep = this.watchedAll(path);
    const attrs = (await send()) as InodeAttrs;
    if (keep && epoch === this.epoch) this.remember(this.stats, path, attrs);
    return attrs;
  }

  private async plan(args: Record<string, unknown>, send: () => Promise<unknown>): Promise<unknown> {
    const key = `${args.inode}:${args.generation}:${args.offsetBytes}:${args.lengthBytes}`;
    const known = this.plans.get(key);
    if (known) {
      this.hits++;
      return known;
    }
    this.misses++;
    const epoch = this.epoch;
    const plan = (await send()) as ReadPlan;
    // A plan names one generation's immutable blocks; it is dropped with its inode's events anyway.
    if (epoch === this.epoch) this.remember(this.plans, key, plan);
    return plan;
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    map.set(key, value);
    if (map.size > LIMITS.metaCacheEntriesMax) map.delete(map.keys().next().value!);
  }

  /** True when every directory above `path` is watched and live; starts the missing watches. */
  private watchedAll(path: string): boolean {
    let all = true;
    for (const dir of ancestors(path)) {
      const w = this.dirs.get(dir) ?? this.startWatch(dir);
      all &&= w?.live === true;
    }
    return all;
  }

  private startWatch(dir: string): Watched | null {
    if (this.dirs.size >= LIMITS.metaCacheWatchedDirsMax) return null;
    const watched: Watched = { watch: this.watchDir(dir), live: false };
    this.dirs.set(dir, watched);
    const end = () => {
      if (this.dirs.get(dir) !== watched) return;
      this.dirs.delete(dir);
      this.clear();
    };
    watched.watch.ready.then(() => {
      if (this.dirs.get(dir) === watched) watched.live = true;
    }, end);
    void (async () => {
      for await (const e of watched.watch.events) this.onEvent(dir, e);
    })().then(end, end);
    return watched;
  }

  private onEvent(dir: string, e: WatchEvent): void {
    if (e.kind === "rename" || e.kind === "remove") return this.clear();
    this.epoch++;
    this.stats.delete(dir === "/" ? `/${e.name}` : `${dir}/${e.name}`);
    for (const [key, attrs] of this.stats) if (attrs.inode === e.inode) this.stats.delete(key);
    const prefix = `${e.inode}:`;
    for (const key of this.plans.keys()) if (key.startsWith(prefix)) this.plans.delete(key);
  }
}

/** "/", "/a", "/a/b" for "/a/b/c": the directories whose changes can change what "/a/b/c" names. */
export function ancestors(path: string): string[] {
  const parts = path.split("/").filter((p) => p.length > 0);
  const out = ["/"];
  for (let i = 1; i < parts.length; i++) out.push(`/${parts.slice(0, i).join("/")}`);
  return out;
}

/** Absolute, no empty, "." or ".." component: one spelling per path, so a cached answer has one key. */
function isPlainPath(path: string): boolean {
  return path.startsWith("/") && (path === "/" || path.split("/").slice(1).every((p) => p !== "" && p !== "." && p !== ".."));
}
