// etcd housekeeping on a schedule: compaction drops history older than one period (a log that is
// appended and trimmed all day leaves every old revision behind otherwise), and defragmentation
// gives the freed pages back member by member (an uncompacted, unfragmented 394 MB database was
// measured 20x slower). Every replica may run this; a txn on the task's record makes sure each
// period's work runs once across the cluster.
import type { EtcdClient } from "./etcd/etcd-client.ts";
import { utf8 } from "./etcd/etcd-client.ts";
import { maintenanceKey } from "./keys.ts";
import { LIMITS } from "../types/limits.ts";

interface TaskRecord {
  atMs: number;
  /** compact: the revision seen at atMs, compacted to one period later. */
  revision: number;
}

export interface MaintenanceOptions {
  client: EtcdClient;
  root: string;
  compactIntervalMs?: number;
  defragIntervalMs?: number;
  onError?: (err: unknown) => void;
}

export interface MaintenanceRun {
  compactedTo: number | null;
  defragmented: string[];
}

export class EtcdMaintenance {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<MaintenanceRun> | null = null;
  private readonly compactIntervalMs: number;
  private readonly defragIntervalMs: number;

  private constructor(private readonly options: MaintenanceOptions) {
    this.compactIntervalMs = options.compactIntervalMs ?? LIMITS.etcdCompactIntervalMs;
    this.defragIntervalMs = options.defragIntervalMs ?? LIMITS.etcdDefragIntervalMs;
  }

  /** Runs only when tick() is called. */
  static create(options: MaintenanceOptions): EtcdMaintenance {
    return new EtcdMaintenance(options);
  }

  /** Ticks on a timer at the shorter of the two periods. */
  static start(options: MaintenanceOptions): EtcdMaintenance {
    const m = new EtcdMaintenance(options);
    const tickMs = Math.min(m.compactIntervalMs, m.defragIntervalMs);
    m.timer = setInterval(() => void m.tick().catch((err: unknown) => options.onError?.(err)), tickMs);
    return m;
  }

  /** Runs whatever is due; overlapping ticks share one run. */
  tick(): Promise<MaintenanceRun> {
    this.running ??= this.runDue().finally(() => (this.running = null));
    return this.running;
  }

  private async runDue(): Promise<MaintenanceRun> {
    const compactedTo = await this.compactIfDue();
    const defragmented = await this.defragIfDue();
    return { compactedTo, defragmented };
  }

  /** Claims the task for this period; returns the previous record, or null when not due or taken. */
  private async claim(task: "compact" | "defrag", intervalMs: number, revisionNow: number): Promise<TaskRecord | null> {
    const key = maintenanceKey(this.options.root, task);
    const kv = await this.options.client.get(key);
    const previous: TaskRecord | null = kv ? (JSON.parse(new TextDecoder().decode(kv.value)) as TaskRecord) : null;
    if (previous && Date.now() - previous.atMs < intervalMs) return null;
    const record: TaskRecord = { atMs: Date.now(), revision: revisionNow };
    const claimed = await this.options.client.txn([{ key, target: "MOD", number: kv?.modRevision ?? 0 }], [{ put: { key, value: utf8(JSON.stringify(record)) } }]);
    if (!claimed.succeeded) return null;
    return previous ?? { atMs: 0, revision: 0 };
  }

  private async compactIfDue(): Promise<number | null> {
    const { revision } = await this.options.client.range(maintenanceKey(this.options.root, "compact"), { countOnly: true });
    const previous = await this.claim("compact", this.compactIntervalMs, revision);
    // Compact to the revision seen one period ago: watchers less than a period behind keep going.
    if (!previous || previous.revision <= 0) return null;
    await this.options.client.compact(previous.revision);
    return previous.revision;
  }

  private async defragIfDue(): Promise<string[]> {
    const previous = await this.claim("defrag", this.defragIntervalMs, 0);
    if (!previous) return [];
    const endpoints = await this.options.client.memberEndpoints();
    const done: string[] = [];
    // One member at a time: a member defragmenting blocks its reads and writes, a quorum does not.
    for (const endpoint of endpoints) {
      try {
        await this.options.client.defragment(endpoint);
        done.push(endpoint);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
    return done;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
