import { FsError, type ErrnoCode } from "../../types/index.ts";
import type { ByteRange, ListOptions, ListPage, ObjectHead, ObjectStore } from "../object-store.ts";

// An ObjectStore that fails or stalls chosen requests, for tests of what the rest of the system
// does when the object store misbehaves. Rules are checked in order; the first that matches and
// still has uses left decides.

export type ObjectOp = "put" | "get" | "head" | "delete" | "list";

export interface FaultRule {
  op: ObjectOp;
  /** Only keys (or list prefixes) this accepts; every key when absent. */
  match?: (key: string) => boolean;
  /** Skip this many matching requests before the rule starts firing. */
  after?: number;
  /** Fire this many times, then let requests through; forever when absent. */
  times?: number;
  /** Fail with this errno (default EIO) ... */
  fail?: ErrnoCode;
  /** ... or wait this long, then pass the request on. */
  stallMs?: number;
}

export class FaultyObjectStore implements ObjectStore {
  readonly injected = { failures: 0, stalls: 0 };
  private readonly seen = new Map<FaultRule, number>();
  private readonly fired = new Map<FaultRule, number>();

  constructor(
    private readonly inner: ObjectStore,
    public rules: FaultRule[] = [],
  ) {}

  get url(): string {
    return this.inner.url;
  }

  private async gate(op: ObjectOp, key: string): Promise<void> {
    for (const rule of this.rules) {
      if (rule.op !== op || (rule.match && !rule.match(key))) continue;
      const seen = (this.seen.get(rule) ?? 0) + 1;
      this.seen.set(rule, seen);
      if (seen <= (rule.after ?? 0)) continue;
      const fired = this.fired.get(rule) ?? 0;
      if (rule.times !== undefined && fired >= rule.times) continue;
      this.fired.set(rule, fired + 1);
      if (rule.stallMs !== undefined) {
        this.injected.stalls++;
        await new Promise((resolve) => setTimeout(resolve, rule.stallMs));
        return;
      }
      this.injected.failures++;
      throw new FsError(rule.fail ?? "EIO", `injected ${op} failure on ${JSON.stringify(key)}`, { path: key });
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.gate("put", key);
    return this.inner.put(key, bytes);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    await this.gate("get", key);
    return this.inner.get(key, range);
  }

  async head(key: string): Promise<ObjectHead | null> {
    await this.gate("head", key);
    return this.inner.head(key);
  }

  async delete(key: string): Promise<void> {
    await this.gate("delete", key);
    return this.inner.delete(key);
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    await this.gate("list", prefix);
    return this.inner.list(prefix, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
