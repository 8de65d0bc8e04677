import { FsError, LIMITS, formatCursor, parseCursor, type WatchCursor, type WatchEvent } from "../types/index.ts";
import type { WirePush } from "../wire/index.ts";
import type { RpcClient } from "./rpc-client.ts";

// A watch as an async iterator: subscribe (the server pushes new events on the connection, no
// polling), replay what the cursor missed, and deliver each event once in commit order. After a
// reconnect it resubscribes from the last delivered event, so nothing is lost or repeated.

interface SubscribeReply {
  subscription: number;
  scope: number;
  events: WatchEvent[];
  cursor: WatchCursor;
  more: boolean;
}


function after(a: WatchCursor, b: WatchCursor): boolean {
  return a.version > b.version || (a.version === b.version && a.ordinal > b.ordinal);
}

export class Watcher implements AsyncIterableIterator<WatchEvent> {
  private queue: WatchEvent[] = [];
  private wake: (() => void) | null = null;
  private subscription = 0;
  private position: WatchCursor;
  private failure: Error | null = null;
  private done = false;

  constructor(
    private readonly rpc: RpcClient,
    private readonly args: Record<string, unknown>,
    start: WatchCursor | null,
    private readonly onClose: (w: Watcher) => void,
  ) {
    this.position = start ?? { version: 0, ordinal: 0 };
    this.fromNow = start === null;
  }

  private fromNow: boolean;

  /** Where to resume: pass it as `cursor` to a later watch to continue after the last event read. */
  get cursor(): string {
    return formatCursor(this.position);
  }

  async start(): Promise<this> {
    const cursor = this.fromNow ? "now" : formatCursor(this.position);
    const reply = (await this.rpc.call("watch_subscribe", { ...this.args, cursor })) as SubscribeReply;
    if (this.fromNow) {
      this.position = reply.cursor;
      this.fromNow = false;
    }
    this.subscription = reply.subscription;
    this.rpc.onPush(reply.subscription, (push: WirePush) => this.accept(push.events));
    this.accept(reply.events);
    let more = reply.more;
    let next = reply.cursor;
    while (more) {
      const page = (await this.rpc.call("watch_replay", { ...this.args, cursor: formatCursor(next) })) as SubscribeReply;
      this.accept(page.events);
      more = page.more;
      next = page.cursor;
    }
    return this;
  }

  /** Called by the client after a reconnect: the old subscription died with the connection. */
  resubscribe(): void {
    if (this.done) return;
    this.rpc.onPush(this.subscription, null);
    this.start().catch((err) => this.fail(err as Error));
  }

  private accept(events: readonly WatchEvent[]): void {
    for (const event of events) {
      if (!after(event, this.lastQueued())) continue;
      this.queue.push(event);
    }
    if (this.queue.length > LIMITS.watchBufferMaxEvents) {
      this.fail(new FsError("EOVERFLOW", `watch consumer is ${this.queue.length} events behind`));
    }
    this.wake?.();
  }

  private lastQueued(): WatchCursor {
    const last = this.queue[this.queue.length - 1];
    return last ? { version: last.version, ordinal: last.ordinal } : this.position;
  }

  private fail(err: Error): void {
    this.failure = err;
    this.wake?.();
  }

  async next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      if (this.failure) throw this.failure;
      const event = this.queue.shift();
      if (event) {
        this.position = { version: event.version, ordinal: event.ordinal };
        return { value: event, done: false };
      }
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<WatchEvent>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.rpc.onPush(this.subscription, null);
    this.onClose(this);
    this.wake?.();
    await this.rpc.call("watch_unsubscribe", { subscription: this.subscription }).catch(() => {});
  }
}

export function cursorFrom(text: string | undefined): WatchCursor | null {
  if (text === undefined) return null;
  const cursor = parseCursor(text);
  if (!cursor) throw new FsError("EINVAL", `watch cursor '${text}' is not VERSION.ORDINAL`);
  return cursor;
}
