import type { MetadataStore } from "../schema/index.ts";
import { ServiceCore } from "./core.ts";
import { Collector } from "./gc.ts";
import { Mounts } from "./mounts.ts";
import { Namespace } from "./namespace.ts";
import { PathIndex } from "./path-index.ts";
import { Paths } from "./paths.ts";
import { Publisher } from "./publish.ts";
import { Snapshots } from "./snapshots.ts";
import { Watch } from "./watch.ts";

export interface MetadataServiceOptions {
  /** Wall clock for expiries and dedupe ages, injectable for tests. */
  nowMs?: () => number;
}

/**
 * All filesystem semantics over one metadata store, by area: mounts, inode ops, path ops,
 * publish, snapshots, watch and GC. One instance per database.
 */
export class MetadataService {
  readonly core: ServiceCore;
  readonly mounts: Mounts;
  readonly pathIndex: PathIndex;
  readonly ns: Namespace;
  readonly paths: Paths;
  readonly publisher: Publisher;
  readonly snapshots: Snapshots;
  readonly watch: Watch;
  readonly gc: Collector;

  constructor(readonly store: MetadataStore, options: MetadataServiceOptions = {}) {
    const nowMs = options.nowMs ?? Date.now;
    this.core = new ServiceCore(store);
    this.mounts = new Mounts(this.core);
    this.pathIndex = new PathIndex(this.core);
    this.ns = new Namespace(this.core, this.pathIndex);
    this.paths = new Paths(this.core, this.ns, this.pathIndex);
    this.publisher = new Publisher(this.core, nowMs);
    this.snapshots = new Snapshots(this.core);
    this.watch = new Watch(this.core);
    this.gc = new Collector(this.core, nowMs);
    this.mounts.bootstrap();
  }

  /** Group commit: the writes inside share one SQLite transaction, each still atomic alone. */
  group<T>(fn: () => T): T {
    try {
      return this.core.group(fn);
    } catch (err) {
      this.pathIndex.reload();
      throw err;
    }
  }

  close(): void {
    this.store.close();
  }
}
