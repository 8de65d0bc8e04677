import { FsError, LIMITS, formatCursor, parseCursor, type WatchCursor, type WatchEvent } from "../types/index.ts";
import { wireToError, type WirePush } from "../wire/index.ts";
import type { RpcClient } from "./rpc-client.ts";

// A watch as an async iterable, there at once like node:fs/promises watch. The server owns the
// order: after a subscribe it pushes every event past the cursor, first from its log, then each
// commit as it happens, on one position, so the client only queues what arrives. The
// subscription id is chosen here and its handler is in place before the subscribe is sent, so no
// push can come too early. After a reconnect it subscribes again from the last event it queued;
// a cursor the server's log no longer reaches ends the watch with ESTALE. An error push from the
// server ends it with that error.

interface SubscribeReply {
  subscription: number;
  scope: number;
  cursor: string;
}

export interface WatchOptions {
  /** Resume after this position (a previous watcher's `.cursor`, "VERSION.ORDINAL"); from now when absent. */
  cursor?: string;
  /** Ends the watch: the iterator then throws an AbortError, as node:fs/promises watch does. */
  signal?: AbortSignal;
}

/** What an aborted watch throws, shaped like node's (`name` "AbortError", `code` "ABORT_ERR"). */
export class WatchAbortError extends Error {
  override name = "AbortError";
  readonly code = "ABORT_ERR";
  constructor(reason: unknown) {
    super("The operation was aborted", { cause: reason });
  }
}

/** An event as the SDK yields it: `cursor` ("VERSION.ORDINAL") resumes right after it. */
export interface CursorWatchEvent extends WatchEvent {
  cursor: string;
}

/** Ids a client gives its subscriptions; below the range metad hands out itself. */
let nextSubscriptionId = 1;

function after(a: WatchCursor, b: WatchCursor): boolean {
  return a.version > b.version || (a.version === b.version && a.ordinal > b.ordinal);
}

export class Watcher implements AsyncIterableIterator<CursorWatchEvent> {
  private queue: CursorWatchEvent[] = [];
  private wake: (() => void) | null = null;
  private subscription = 0;
  /** The last event handed to the consumer (or the starting cursor). */
  private position: WatchCursor;
  /** The last event queued: where a resubscribe resumes. */
  private queuedThrough: WatchCursor;
  private failure: Error | null = null;
  private done = false;
  private fromNow: boolean;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.fail(new WatchAbortError(this.signal?.reason));
  /**
   * Resolves once the server holds the subscription (events committed after that are never
   * missed); rejects with what the first `next()` throws. Awaiting it is optional.
   */
  readonly ready: Promise<this>;

  /** `shapeError` turns a failure into the error the consumer sees (node-style, with the path). */
  constructor(
    private readonly rpc: RpcClient,
    private readonly args: Record<string, unknown>,
    options: WatchOptions,
    private readonly shapeError: (err: unknown) => Error,
    private readonly onClose: (w: Watcher) => void,
  ) {
    let start: WatchCursor | null = null;
    let refused: unknown = null;
    try {
      start = cursorFrom(options.cursor);
    } catch (err) {
      refused = err;
    }
    this.position = this.queuedThrough = start ?? { version: 0, ordinal: 0 };
    this.fromNow = start === null;
    this.signal = options.signal;
    if (refused !== null) this.fail(refused);
    else if (this.signal?.aborted) this.fail(new WatchAbortError(this.signal.reason));
    else this.signal?.addEventListener("abort", this.onAbort, { once: true });
    this.ready = this.failure ? Promise.reject(this.failure) : this.start().then(() => this);
    this.ready.catch(() => {});
  }

  /** Where to resume: pass it as `cursor` to a later watch to continue after the last event read. */
  get cursor(): string {
    return formatCursor(this.position);
  }

  /** True once the watch has ended (closed, aborted or failed). */
  get closed(): boolean {
    return this.done;
  }

  /** A resubscribe's subscribe is on its way. */
  private starting = false;

  private async start(): Promise<void> {
    const id = (nextSubscriptionId++ % ((1 << 30) - 1)) + 1;
    this.rpc.onPush(id, (push: WirePush) => this.accept(push));
    this.subscription = id;
    const cursor = this.fromNow ? "now" : formatCursor(this.queuedThrough);
    let reply: SubscribeReply;
    try {
      reply = (await this.rpc.call("watch_subscribe", { ...this.args, cursor, subscription: id })) as SubscribeReply;
    } catch (err) {
      this.rpc.onPush(id, null);
      this.fail(err);
      throw this.failure;
    }
    if (this.done) {
      // Ended while the subscribe was on its way: drop what the server now holds.
      await this.rpc.call("watch_unsubscribe", { subscription: id }).catch(() => {});
      if (this.failure) throw this.failure;
      return;
    }
    if (this.fromNow) {
      const at = parseCursor(reply.cursor);
      if (!at) {
        this.fail(new FsError("EPROTO", `watch_subscribe replied with cursor '${reply.cursor}'`));
        throw this.failure;
      }
      this.position = this.queuedThrough = at;
      this.fromNow = false;
    }
  }

  /** Called by the client after a reconnect: the old subscription died with the connection. */
  resubscribe(): void {
    if (this.done) return;
    // A subscribe still waiting for its reply is sent again on the new connection by the client
    // (with a replicated metad, a redirect to the leader reconnects too): one is enough.
    if (this.starting) return;
    this.rpc.onPush(this.subscription, null);
    this.starting = true;
    this.start()
      .catch(() => {})
      .finally(() => (this.starting = false));
  }

  private accept(push: WirePush): void {
    if (push.error) return this.fail(wireToError(push.error), { serverEnded: true });
    for (const event of push.events) {
      // Only a resubscribe can overlap what was queued already; the server never repeats itself.
      if (!after(event, this.queuedThrough)) continue;
      this.queue.push({ ...event, cursor: formatCursor(event) });
      this.queuedThrough = { version: event.version, ordinal: event.ordinal };
    }
    if (this.queue.length > LIMITS.watchBufferMaxEvents) {
      this.fail(new FsError("EOVERFLOW", `watch consumer is ${this.queue.length} events behind`));
    }
    this.wake?.();
  }

  /** Ends the watch with `err`; events queued before it are still delivered, then it is thrown. */
  private fail(err: unknown, how: { serverEnded?: boolean } = {}): void {
    if (this.done) return;
    this.failure = err instanceof WatchAbortError ? err : this.shapeError(err);
    const held = this.subscription !== 0 && !how.serverEnded;
    this.finish();
    if (held) void this.rpc.call("watch_unsubscribe", { subscription: this.subscription }).catch(() => {});
  }

  async next(): Promise<IteratorResult<CursorWatchEvent>> {
    for (;;) {
      // An abort ends the iteration at once; other failures come after the events before them.
      if (this.failure instanceof WatchAbortError) throw this.failure;
      const event = this.queue.shift();
      if (event) {
        this.position = { version: event.version, ordinal: event.ordinal };
        return { value: event, done: false };
      }
      if (this.failure) throw this.failure;
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<CursorWatchEvent>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    this.done = true;
    this.signal?.removeEventListener("abort", this.onAbort);
    if (this.subscription !== 0) this.rpc.onPush(this.subscription, null);
    this.onClose(this);
    this.wake?.();
  }

  /** Ends the watch: the iterator finishes. */
  async close(): Promise<void> {
    if (this.done) return;
    this.finish();
    if (this.subscription !== 0) await this.rpc.call("watch_unsubscribe", { subscription: this.subscription }).catch(() => {});
  }
}

export function cursorFrom(text: string | undefined): WatchCursor | null {
  if (text === undefined) return null;
  const cursor = typeof text === "string" ? parseCursor(text) : null;
  if (!cursor) throw new FsError("EINVAL", `watch cursor ${JSON.stringify(text)} is not "VERSION.ORDINAL"`);
  return cursor;
}
