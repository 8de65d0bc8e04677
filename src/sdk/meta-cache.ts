import { LIMITS, type InodeAttrs, type ReadPlan, type WatchEvent } from "../types/index.ts";
import { InodeKeyedCache } from "./inode-keyed-cache.ts";

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
  private readonly stats = new InodeKeyedCache<InodeAttrs>(LIMITS.metaCacheEntriesMax);
  private readonly plans = new InodeKeyedCache<ReadPlan>(LIMITS.metaCacheEntriesMax);
  private readonly dirs = new Map<string, Watched>();
  /** Bumped by every drop: a reply to a request made before it is not kept. */
  private epoch = 0;
  hits = 0;
  misses = 0;

  /** Directories whose entries were listed into the cache (or are being listed) since the last drop. */
  private readonly listed = new Map<string, Promise<void>>();
  /** Files listed whose plans nobody asked for yet (prefetched on plan misses). */
  private unplanned: InodeAttrs[] = [];
  private readonly pendingPlans = new Map<string, Promise<ReadPlan>>();

  /**
   * `watchDir` starts a watch; `listDir` lists a directory with attributes (readdir-plus), so the
   * first miss in a directory fetches its siblings in a few requests instead of one each;
   * `requestPlan` asks for the plan of bytes [0, lengthBytes) of a generation (prefetch).
   */
  constructor(
    private readonly watchDir: (path: string) => DirWatch,
    private readonly listDir?: (path: string) => AsyncIterable<Array<{ name: string; attrs: InodeAttrs }>>,
    private readonly requestPlan?: (inode: number, generation: number, lengthBytes: number) => Promise<ReadPlan>,
  ) {}

  /** Metadata reads of the data path, through the cache: `send` makes the request. */
  async call(op: string, args: Record<string, unknown>, send: () => Promise<unknown>): Promise<unknown> {
    if (op === "stat_path" && typeof args.path === "string") return this.stat(args.path, send);
    if (op === "read_plan" && typeof args.generation === "number") return this.plan(args, send);
    return send();
  }

  /** The cached attributes of `path`, without a request (the synchronous fast path of readFile; not counted). */
  peekStat(path: string): InodeAttrs | undefined {
    return this.stats.get(path);
  }

  /** The cached plan of a range of one generation, without a request (not counted). */
  peekPlan(inode: number, generation: number, offsetBytes: number, lengthBytes: number): ReadPlan | undefined {
    return this.plans.get(`${inode}:${generation}:${offsetBytes}:${lengthBytes}`);
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
    this.listed.clear();
    this.unplanned = [];
  }

  private async stat(path: string, send: () => Promise<unknown>): Promise<unknown> {
    const known = this.stats.get(path);
    if (known) {
      this.hits++;
      return known;
    }
    if (!isPlainPath(path)) return send();
    this.misses++;
    const epoch = this.epoch;
    const keep = this.watchedAll(path);
    if (keep && this.listDir) {
      const parent = ancestors(path).pop()!;
      await this.list(parent, epoch);
      const listed = this.stats.get(path);
      if (listed) return listed;
    }
    const attrs = (await send()) as InodeAttrs;
    // Only files: a directory's own attributes change with its entries, and its events come in
    // its own scope, not in the parent's where its cached attributes would be dropped.
    if (keep && epoch === this.epoch && attrs.type === "file") this.stats.set(path, attrs.inode, attrs);
    return attrs;
  }

  /** Lists `dir` into the cache once per drop; a failure only means no prefetch. */
  private list(dir: string, epoch: number): Promise<void> {
    let listing = this.listed.get(dir);
    if (!listing) {
      listing = this.listInto(dir, epoch).catch(() => undefined);
      this.listed.set(dir, listing);
    }
    return listing;
  }

  private async listInto(dir: string, epoch: number): Promise<void> {
    const base = dir === "/" ? "/" : `${dir}/`;
    let count = 0;
    for await (const page of this.listDir!(dir)) {
      if (epoch !== this.epoch) return;
      for (const { name, attrs } of page) {
        // Files only (see stat); stat_path follows symlinks, a listing shows the link itself.
        if (attrs.type !== "file") continue;
        this.stats.set(base + name, attrs.inode, attrs);
        if (attrs.sizeBytes > 0 && this.unplanned.length < LIMITS.metaCacheEntriesMax) this.unplanned.push(attrs);
      }
      count += page.length;
      if (count >= LIMITS.metaCacheListMaxEntries) return;
    }
  }

  private async plan(args: Record<string, unknown>, send: () => Promise<unknown>): Promise<unknown> {
    const key = `${args.inode}:${args.generation}:${args.offsetBytes}:${args.lengthBytes}`;
    const known = this.plans.get(key);
    if (known) {
      this.hits++;
      return known;
    }
    this.misses++;
    const pending = this.pendingPlans.get(key);
    if (pending) return pending;
    this.prefetchPlans();
    // The prefetch may have asked for this very plan.
    return this.pendingPlans.get(key) ?? this.fetchPlan(key, Number(args.inode), send as () => Promise<ReadPlan>);
  }

  /** One plan request, kept when no drop came in between; a plan names one generation's immutable blocks. */
  private async fetchPlan(key: string, inode: number, send: () => Promise<ReadPlan>): Promise<ReadPlan> {
    const epoch = this.epoch;
    const request = send();
    this.pendingPlans.set(key, request);
    try {
      const plan = await request;
      if (epoch === this.epoch) this.plans.set(key, inode, plan);
      return plan;
    } finally {
      this.pendingPlans.delete(key);
    }
  }

  /**
   * On a plan miss, asks for the whole-file plans of up to metaCachePlanPrefetch files listed
   * earlier and not planned yet: they travel in one batch with the miss, so a new process's first
   * epoch costs a request per batch, not one per file.
   */
  private prefetchPlans(): void {
    if (!this.requestPlan) return;
    const requestPlan = this.requestPlan;
    for (let n = 0; n < LIMITS.metaCachePlanPrefetch && this.unplanned.length > 0; ) {
      const attrs = this.unplanned.pop()!;
      const lengthBytes = Math.min(attrs.sizeBytes, LIMITS.readPlanWindowBytes);
      const key = `${attrs.inode}:${attrs.generation}:0:${lengthBytes}`;
      if (this.plans.has(key) || this.pendingPlans.has(key)) continue;
      n++;
      this.fetchPlan(key, attrs.inode, () => requestPlan(attrs.inode, attrs.generation, lengthBytes)).catch(() => undefined);
    }
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
      // What was kept relied on this watch; a watch that never started kept nothing. A failed
      // one (no such directory) stays in the map, not live, for a while: probing missing paths
      // must not cost a subscribe each.
      if (watched.live) this.clear();
      watched.live = false;
      const retry = setTimeout(() => {
        if (this.dirs.get(dir) === watched) this.dirs.delete(dir);
      }, LIMITS.metaCacheWatchRetryMs);
      retry.unref?.();
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
    this.stats.dropInode(e.inode);
    this.plans.dropInode(e.inode);
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
