import { LIMITS, toFsError } from "../types/index.ts";
import { errorResponse, type WireRequest, type WireResponse } from "../wire/index.ts";
import type { MetadataService } from "../service/index.ts";
import { execute, executeAsync, executeCreates, isAsyncRequest, isMergeableCreate, isWriteRequest, type OpObserver } from "./dispatch.ts";
import type { OpContext } from "./op-context.ts";

// Group commit: requests that arrive together, from every connection, run in one SQLite
// transaction, each keeping its own result. Replies go out only after the transaction commits,
// so no client ever sees a write that could still roll back.

export interface Job {
  request: WireRequest;
  ctx: OpContext;
  reply: (response: WireResponse) => void;
}

/**
 * A replicated metad's say in group commit (src/server/cluster-node.ts): which requests this
 * replica may serve (others get the error, e.g. EAGAIN naming the leader), and how a group is
 * committed: appended to etcd before any reply goes out.
 */
export interface ClusterCommit {
  route(request: WireRequest, isWrite: boolean): { serve: true } | { serve: false; error: Error };
  commitGroup<T>(build: () => T): Promise<T>;
}

export class GroupCommitter {
  private queue: Job[] = [];
  private scheduled = false;
  /** Cluster mode: a group is being appended; the next waits for it (it builds on its state). */
  private appending = false;
  private idleWaiters: Array<() => void> = [];
  private asyncRunning = 0;

  constructor(
    private readonly service: MetadataService,
    private readonly observe: OpObserver,
    private readonly onGroup: (ops: number) => void,
    /** After a group's replies are queued: its watch events go out now, never before its writers hear. */
    private readonly afterReplies: (failed: boolean) => void = () => {},
    private readonly cluster: ClusterCommit | null = null,
  ) {}

  get pending(): number {
    return this.queue.length + this.asyncRunning + (this.appending ? 1 : 0);
  }

  submit(job: Job): void {
    if (this.cluster) {
      const route = this.cluster.route(job.request, isWriteRequest(job.request));
      if (!route.serve) {
        job.reply(errorResponse(toFsError(route.error)));
        return;
      }
    }
    if (isAsyncRequest(job.request)) {
      this.asyncRunning++;
      void executeAsync(job.ctx, job.request, this.observe).then((response) => {
        this.asyncRunning--;
        job.reply(response);
        this.maybeIdle();
      });
      return;
    }
    this.queue.push(job);
    if (!this.scheduled && !this.appending) {
      this.scheduled = true;
      // setImmediate runs after this turn's socket reads, so every connection's requests join.
      setImmediate(() => this.drain());
    }
  }

  /** Resolves once nothing is queued or running (shutdown waits for in-flight work). */
  whenIdle(): Promise<void> {
    if (this.pending === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private drain(): void {
    this.scheduled = false;
    const jobs = this.queue.splice(0, LIMITS.groupCommitMaxCommands);
    const responses: WireResponse[] = new Array(jobs.length);
    const run = () => this.runJobs(jobs, responses);
    if (this.cluster) {
      void this.drainReplicated(this.cluster, jobs, responses, run);
      return;
    }
    let failed = false;
    if (jobs.some((job) => isWriteRequest(job.request))) {
      try {
        this.service.group(run);
        this.onGroup(jobs.length);
      } catch (err) {
        // The transaction itself failed (disk full, I/O error): nothing in it committed.
        const failure = errorResponse(toFsError(err));
        responses.fill(failure);
        failed = true;
      }
    } else {
      run();
    }
    this.finish(jobs, responses, failed);
  }

  /** Cluster mode: the group is appended to etcd (and applied) before anyone hears back. */
  private async drainReplicated(cluster: ClusterCommit, jobs: Job[], responses: WireResponse[], run: () => void): Promise<void> {
    this.appending = true;
    let failed = false;
    try {
      await cluster.commitGroup(run);
      if (jobs.some((job) => isWriteRequest(job.request))) this.onGroup(jobs.length);
    } catch (err) {
      // Not appended (fenced, no leader, etcd unreachable): nothing of the group is applied here
      // and no client is told it was; each retries with its request key.
      responses.fill(errorResponse(toFsError(err)));
      failed = true;
    } finally {
      this.appending = false;
    }
    this.finish(jobs, responses, failed);
  }

  private runJobs(jobs: Job[], responses: WireResponse[]): void {
    for (let i = 0; i < jobs.length; ) {
      // Consecutive single creates (from any connections) become one command: batch, not react.
      let end = i;
      while (end < jobs.length && isMergeableCreate(jobs[end]!.request)) end++;
      if (end - i >= 2) {
        executeCreates(jobs.slice(i, end), this.observe).forEach((r, j) => (responses[i + j] = r));
        i = end;
        continue;
      }
      responses[i] = execute(jobs[i]!.ctx, jobs[i]!.request, this.observe, true);
      i++;
    }
  }

  private finish(jobs: Job[], responses: WireResponse[], failed: boolean): void {
    for (let i = 0; i < jobs.length; i++) jobs[i]!.reply(responses[i]!);
    this.service.core.publishEvents();
    this.afterReplies(failed);
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
    this.maybeIdle();
  }

  private maybeIdle(): void {
    if (this.pending > 0 || this.scheduled) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
