import { LIMITS, type Version, type WatchEvent } from "../../types/index.ts";
import type { Notifier } from "../kernel/index.ts";
import { invalidationsFor, type Invalidation } from "./event-rules.ts";
import type { NodeTable } from "./node-table.ts";
import type { DirWatch, NodeSource } from "./source.ts";

// Live mounts: each directory the kernel has looked into is watched, and its events become
// FUSE_NOTIFY_INVAL_ENTRY / FUSE_NOTIFY_INVAL_INODE, so a change made anywhere else shows up
// through the mount at once instead of after the cache timeout. Events are applied in batches a
// few milliseconds apart: by then the replies to our own requests (which the events echo) have
// been recorded, and one batch dedupes an invalidation many events ask for.

const BATCH_DELAY_MS = 15;
/** A directory whose subscription failed is tried again no sooner than this. */
const RETRY_AFTER_MS = 1_000;

export class Invalidator {
  private readonly watches = new Map<number, Promise<DirWatch | null>>();
  /** Directories whose subscription is live: events for them reach us from now on. */
  private readonly active = new Set<number>();
  private readonly failedAtMs = new Map<number, number>();
  private queue: WatchEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private notifier: Notifier | null = null;
  private closed = false;
  /** Events applied and invalidations sent; for tests and stats. */
  readonly counts = { events: 0, sent: 0 };

  constructor(
    private readonly source: NodeSource & Required<Pick<NodeSource, "watch">>,
    private readonly nodes: NodeTable,
    /** A file's body changed elsewhere: drop what open handles fetched ahead. */
    private readonly bodyChanged: (nodeid: number) => void,
    /** Every invalidation, sent to the kernel or not: what the mount answers locally forgets it too. */
    private readonly changed: (inval: Invalidation) => void = () => {},
  ) {}

  /** The kernel's cached pages of a file are wrong (our unpublished writes were dropped): drop them. */
  dropPages(nodeid: number): void {
    this.send({ kind: "inode", nodeid, offsetBytes: 0 });
  }

  /** The directory's subscription is live: every change to it from now on reaches us. */
  isLive(dirNodeid: number): boolean {
    return this.active.has(dirNodeid);
  }

  /** Notifications need the mounted device; until then, nothing is cached to invalidate. */
  attach(notifier: Notifier): void {
    this.notifier = notifier;
  }

  /**
   * How long the kernel may cache names in `dirNodeid` and their attributes. Until the
   * directory's subscription is live a change could slip by unseen, so nothing is cached; a
   * directory we cannot watch is cached briefly; a watched one for long.
   */
  timeoutFor(dirNodeid: number): number {
    if (this.active.has(dirNodeid)) return LIMITS.fuseLiveCacheTimeoutMs;
    return this.watches.has(dirNodeid) ? 0 : LIMITS.fuseUnwatchedCacheTimeoutMs;
  }

  /**
   * Starts watching like watchDir and resolves once the subscription is live (or could not be
   * made): a listing answered after it can be cached by the kernel for the full timeout.
   */
  async watchDirReady(nodeid: number): Promise<void> {
    this.watchDir(nodeid);
    await this.watches.get(nodeid);
  }

  watchDir(nodeid: number): void {
    this.startWatch(nodeid);
  }

  /**
   * A directory this mount just made, at `version` (its mkdir's commit): live at once. Its watch
   * starts after that version, so a change made there by anyone before metad holds the
   * subscription is replayed to us like any later one: what is answered from the empty listing
   * meanwhile is no staler than a watched directory's answers. Git and tar look into each
   * directory they make at once; they would otherwise ask metad until the subscribe returned.
   */
  watchNewDir(nodeid: number, version: Version): void {
    if (this.startWatch(nodeid, version)) this.active.add(nodeid);
  }

  /** Starts the directory's subscription unless it has one; false when none was started. */
  private startWatch(nodeid: number, afterVersion?: Version): boolean {
    if (this.closed || this.watches.has(nodeid) || this.watches.size >= LIMITS.fuseWatchedDirsMax) return false;
    const failedAtMs = this.failedAtMs.get(nodeid);
    if (failedAtMs !== undefined && performance.now() - failedAtMs < RETRY_AFTER_MS) return false;
    const path = this.nodes.pathOf(nodeid);
    const node = this.nodes.get(nodeid);
    if (path === null || !node) return false;
    const started = this.source.watch(node.inode, path, afterVersion).then(
      (watch) => {
        if (this.watches.get(nodeid) !== started) {
          void watch.close();
          return null;
        }
        this.active.add(nodeid);
        this.failedAtMs.delete(nodeid);
        void this.pump(nodeid, watch, started);
        return watch;
      },
      () => {
        // The directory went away or metad is unreachable; a later lookup tries again. If it was
        // live from its mkdir, what was answered meanwhile may have missed a change: drop it.
        if (this.watches.get(nodeid) === started) {
          this.watches.delete(nodeid);
          if (this.active.delete(nodeid)) this.dropAllOf(nodeid);
        }
        this.failedAtMs.set(nodeid, performance.now());
        return null;
      },
    );
    this.watches.set(nodeid, started);
    return true;
  }

  unwatch(nodeid: number): void {
    const watch = this.watches.get(nodeid);
    if (!watch) return;
    this.watches.delete(nodeid);
    this.active.delete(nodeid);
    this.failedAtMs.delete(nodeid);
    void watch.then((w) => w?.close());
  }

  private async pump(nodeid: number, watch: DirWatch, started: Promise<DirWatch | null>): Promise<void> {
    try {
      for await (const event of watch) this.enqueue(event);
    } catch {
      // The watch fell behind or its cursor expired: events were lost. The next lookup watches again.
      this.dropAllOf(nodeid);
    } finally {
      if (this.watches.get(nodeid) === started) {
        this.watches.delete(nodeid);
        this.active.delete(nodeid);
      }
    }
  }

  /** Everything the kernel (and the mount) holds from this directory is suspect: drop it all. */
  private dropAllOf(nodeid: number): void {
    for (const name of this.nodes.namesIn(nodeid)) this.send({ kind: "entry", parent: nodeid, name });
    this.send({ kind: "inode", nodeid, offsetBytes: 0 });
  }

  private enqueue(event: WatchEvent): void {
    this.queue.push(event);
    this.timer ??= setTimeout(() => this.flush(), BATCH_DELAY_MS);
  }

  private flush(): void {
    this.timer = null;
    const events = this.queue;
    this.queue = [];
    const sent = new Set<string>();
    for (const event of events) {
      this.counts.events++;
      for (const inval of invalidationsFor(event, this.nodes)) {
        const key = inval.kind === "entry" ? `e${inval.parent}\0${inval.name}` : `i${inval.nodeid}:${inval.offsetBytes}`;
        if (sent.has(key)) continue;
        sent.add(key);
        this.send(inval);
      }
    }
  }

  private send(inval: Invalidation): void {
    this.changed(inval);
    if (!this.notifier) return;
    if (inval.kind === "entry") {
      if (this.notifier.notifyInvalEntry(inval.parent, inval.name)) this.counts.sent++;
      return;
    }
    if (inval.offsetBytes === 0) this.bodyChanged(inval.nodeid);
    if (this.notifier.notifyInvalInode(inval.nodeid, inval.offsetBytes, 0)) this.counts.sent++;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const all = [...this.watches.values()];
    this.watches.clear();
    this.active.clear();
    await Promise.all(all.map((w) => w.then((watch) => watch?.close())));
  }
}
