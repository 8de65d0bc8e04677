import { FsError, LIMITS, formatCursor, parseCursor, type WatchCursor, type WatchEvent } from "../types/index.ts";
import { wireToError, type WirePush } from "../wire/index.ts";
import type { RpcClient } from "./rpc-client.ts";

// A watch as an async iterator. The server owns the order: after a subscribe it pushes every
// event past the cursor, first from its log, then each commit as it happens, on one position, so
// the client only queues what arrives. The subscription id is chosen here and its handler is in
// place before the subscribe is sent, so no push can come too early. After a reconnect it
// subscribes again from the last event it queued; a cursor the server's log no longer reaches
// ends the watch with ESTALE.

interface SubscribeReply {
  subscription: number;
  scope: number;
  cursor: string;
}

/** Ids a client gives its subscriptions; below the range metad hands out itself. */
let nextSubscriptionId = 1;

function after(a: WatchCursor, b: WatchCursor): boolean {
  return a.version > b.version || (a.version === b.version && a.ordinal > b.ordinal);
}

export class Watcher implements AsyncIterableIterator<WatchEvent> {
  private queue: WatchEvent[] = [];
  private wake: (() => void) | null = null;
  private subscription = 0;
  /** The last event handed to the consumer (or the starting cursor). */
  private position: WatchCursor;
  /** The last event queued: where a resubscribe resumes. */
  private queuedThrough: WatchCursor;
  private failure: Error | null = null;
  private done = false;
  private fromNow: boolean;

  constructor(
    private readonly rpc: RpcClient,
    private readonly args: Record<string, unknown>,
    start: WatchCursor | null,
    private readonly onClose: (w: Watcher) => void,
  ) {
    this.position = this.queuedThrough = start ?? { version: 0, ordinal: 0 };
    this.fromNow = start === null;
  }

  /** Where to resume: pass it as `cursor` to a later watch to continue after the last event read. */
  get cursor(): string {
    return formatCursor(this.position);
  }

  async start(): Promise<this> {
    const id = (nextSubscriptionId++ % ((1 << 30) - 1)) + 1;
    this.rpc.onPush(id, (push: WirePush) => this.accept(push));
    this.subscription = id;
    const cursor = this.fromNow ? "now" : formatCursor(this.queuedThrough);
    let reply: SubscribeReply;
    try {
      reply = (await this.rpc.call("watch_subscribe", { ...this.args, cursor, subscription: id })) as SubscribeReply;
    } catch (err) {
      this.rpc.onPush(id, null);
      throw err;
    }
    if (this.fromNow) {
      const at = parseCursor(reply.cursor);
      if (!at) throw new FsError("EPROTO", `watch_subscribe replied with cursor '${reply.cursor}'`);
      this.position = this.queuedThrough = at;
      this.fromNow = false;
    }
    return this;
  }

  /** Called by the client after a reconnect: the old subscription died with the connection. */
  resubscribe(): void {
    if (this.done) return;
    this.rpc.onPush(this.subscription, null);
    this.start().catch((err) => this.fail(err as Error));
  }

  private accept(push: WirePush): void {
    if (push.error) return this.fail(wireToError(push.error));
    for (const event of push.events) {
      // Only a resubscribe can overlap what was queued already; the server never repeats itself.
      if (!after(event, this.queuedThrough)) continue;
      this.queue.push(event);
      this.queuedThrough = { version: event.version, ordinal: event.ordinal };
    }
    if (this.queue.length > LIMITS.watchBufferMaxEvents) {
      this.fail(new FsError("EOVERFLOW", `watch consumer is ${this.queue.length} events behind`));
    }
    this.wake?.();
  }

  private fail(err: Error): void {
    this.failure = err;
    this.rpc.onPush(this.subscription, null);
    this.wake?.();
  }

  async next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        this.position = { version: event.version, ordinal: event.ordinal };
        return { value: event, done: false };
      }
      // Events that arrived before a failure are delivered first: each once, or an error.
      if (this.failure) throw this.failure;
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
