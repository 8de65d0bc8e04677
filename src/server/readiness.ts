// GET /readyz: ready means metad can do its job, and its job needs the object store -- a missing
// bucket, wrong credentials or an unreachable endpoint make every client write fail. So the check
// lists one key of the store (cheap everywhere, and it needs the same bucket, credentials and
// route the clients use), at most every LIMITS.readyCheckCacheMs, waiting at most
// LIMITS.readyCheckTimeoutMs.

import type { ObjectStore } from "../objstore/index.ts";
import { LIMITS, toFsError } from "../types/index.ts";

export interface Readiness {
  ready: boolean;
  /** Why not, in words an operator can act on (no credentials: the store's URL is redacted). */
  reason?: string;
  checks: { objectStore: "ok" | "failed" | "timeout" };
}

export class ReadinessProbe {
  private last: { atMs: number; result: Readiness } | null = null;
  private inFlight: Promise<Readiness> | null = null;

  constructor(
    private readonly objects: ObjectStore,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The store's state, probed now or reused from a probe under readyCheckCacheMs old. */
  async check(): Promise<Readiness> {
    if (this.last && this.nowMs() - this.last.atMs < LIMITS.readyCheckCacheMs) return this.last.result;
    this.inFlight ??= this.probe().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async probe(): Promise<Readiness> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), LIMITS.readyCheckTimeoutMs)));
    let result: Readiness;
    try {
      const outcome = await Promise.race([this.objects.list("", { limit: 1 }).then(() => "ok" as const), timeout]);
      result =
        outcome === "ok"
          ? { ready: true, checks: { objectStore: "ok" } }
          : { ready: false, reason: `object store did not answer within ${LIMITS.readyCheckTimeoutMs} ms`, checks: { objectStore: "timeout" } };
    } catch (err) {
      result = { ready: false, reason: `object store: ${toFsError(err).message}`, checks: { objectStore: "failed" } };
    } finally {
      clearTimeout(timer);
    }
    this.last = { atMs: this.nowMs(), result };
    return result;
  }
}
