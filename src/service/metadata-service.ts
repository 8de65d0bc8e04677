import type { MetadataStore } from "../schema/index.ts";
import { ServiceCore, type ResultCodec } from "./core.ts";
import { Clones } from "./clone.ts";
import { Differ } from "./diff.ts";
import { Rollbacks } from "./rollback.ts";
import { Collector, DEFAULT_GC_RETENTION, type GcRetention } from "./gc.ts";
import { Mounts } from "./mounts.ts";
import { Namespace } from "./namespace.ts";
import { Orphans } from "./orphans.ts";
import { Paths, type PathView } from "./paths.ts";
import { Publisher } from "./publish.ts";
import { defaultResultCodec } from "./result-codec.ts";
import { Snapshots } from "./snapshots.ts";
import { Watch } from "./watch.ts";
import { Xattrs } from "./xattrs.ts";

export interface MetadataServiceOptions {
  /** Wall clock for expiries and dedupe ages, injectable for tests. */
  nowMs?: () => number;
  /** How results are encoded for dedupe and the wire; the server passes the wire's codec. */
  resultCodec?: ResultCodec;
  /** How much of the watch, dedupe and command logs GC keeps. */
  retention?: Partial<GcRetention>;
  /**
   * false: do not create the default mount at open. A replicated metad (src/server/cluster-node.ts)
   * creates it through the replicated log instead, once, from the catalog's leader.
   */
  bootstrap?: boolean;
}

/**
 * All filesystem semantics over one metadata store, by area: mounts, inode ops, path ops,
 * publish, snapshots, watch and GC. One instance per database.
 */
export class MetadataService {
  readonly core: ServiceCore;
  readonly mounts: Mounts;
  readonly ns: Namespace;
  readonly paths: Paths;
  readonly publisher: Publisher;
  readonly snapshots: Snapshots;
  readonly watch: Watch;
  readonly orphans: Orphans;
  readonly xattrs: Xattrs;
  readonly gc: Collector;
  readonly clones: Clones;
  readonly differ: Differ;
  readonly rollbacks: Rollbacks;

  constructor(readonly store: MetadataStore, options: MetadataServiceOptions = {}) {
    const nowMs = options.nowMs ?? Date.now;
    this.core = new ServiceCore(store, options.resultCodec ?? defaultResultCodec, nowMs);
    this.mounts = new Mounts(this.core);
    this.ns = new Namespace(this.core);
    this.paths = new Paths(this.core, this.ns);
    this.publisher = new Publisher(this.core, nowMs);
    this.snapshots = new Snapshots(this.core);
    this.watch = new Watch(this.core);
    this.orphans = new Orphans(this.core);
    this.xattrs = new Xattrs(this.core);
    const resolve = (view: PathView, path: string, follow: boolean) => this.paths.resolve(view, path, follow);
    this.clones = new Clones(this.core, resolve);
    this.differ = new Differ(this.core, resolve);
    this.rollbacks = new Rollbacks(this.core, resolve);
    this.gc = new Collector(this.core, { ...DEFAULT_GC_RETENTION, ...options.retention }, this.orphans);
    if (options.bootstrap !== false) this.mounts.bootstrap();
  }

  /** Group commit: the writes inside share one SQLite transaction, each still atomic alone. */
  group<T>(fn: () => T): T {
    return this.core.group(fn);
  }

  close(): void {
    this.store.close();
  }
}
