import { FsError, LIMITS } from "../types/index.ts";
import { wireToError, type WireResponse } from "../wire/index.ts";

// Metadata reads of the data path (stat a sample, plan its read) issued in the same turn of the
// event loop travel as one `batch` request: a data loader reading 64 samples at once costs metad
// one frame and one dispatch per step instead of 64, and the client one frame to encode and one
// socket write. A reader with nothing else in flight sends at once (like TCP without Nagle when
// idle), so a lone reader waits for nothing.

type Send = (op: string, args: Record<string, unknown>) => Promise<unknown>;

interface Queued {
  op: string;
  args: Record<string, unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export class ReadBatcher {
  private queue: Queued[] = [];
  private scheduled = false;
  /** Requests (single or batch) sent and not yet answered. */
  private inFlight = 0;

  /** `send` makes one request; `args` given to `call` are complete (mount and view included). */
  constructor(private readonly send: Send) {}

  call(op: string, args: Record<string, unknown>): Promise<unknown> {
    if (this.inFlight === 0 && !this.scheduled) return this.tracked(this.send(op, args));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, args, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // setImmediate runs after this turn's I/O callbacks, so every reader woken by the same
      // socket read or file read joins the batch.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    for (let i = 0; i < queued.length; i += LIMITS.batchMaxOps) {
      const group = queued.slice(i, i + LIMITS.batchMaxOps);
      if (group.length === 1) {
        const only = group[0]!;
        this.tracked(this.send(only.op, only.args)).then(only.resolve, only.reject);
      } else {
        this.sendBatch(group);
      }
    }
  }

  private tracked<T>(request: Promise<T>): Promise<T> {
    this.inFlight++;
    return request.finally(() => this.inFlight--);
  }

  private sendBatch(group: Queued[]): void {
    const ops = group.map((q) => ({ op: q.op, args: q.args }));
    this.tracked(this.send("batch", { ops })).then(
      (results) => {
        const responses = results as WireResponse[];
        if (!Array.isArray(responses) || responses.length !== group.length) {
          const err = new FsError("EPROTO", `batch of ${group.length} answered ${Array.isArray(responses) ? responses.length : "no"} results`);
          for (const q of group) q.reject(err);
          return;
        }
        group.forEach((q, i) => {
          const r = responses[i]!;
          if (r.ok) q.resolve(r.value);
          else q.reject(wireToError(r.error));
        });
      },
      (err) => {
        for (const q of group) q.reject(err);
      },
    );
  }
}
