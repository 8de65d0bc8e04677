import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { FsError, LIMITS } from "../types/index.ts";
import {
  CONNECTION_MAGIC, FLAG_PUSH, FrameDecoder, decodePayload, encodeValueFrame, parsePush, parseResponse, resultFromWire,
  wireToError, type WirePush, type WireResponse,
} from "../wire/index.ts";

// One pipelined connection to metad over node:net, so the same code runs under Bun and Node.
// Requests are framed and written in batches; replies resolve by request id in any order. When
// the connection drops, every request still waiting is sent again on a new connection: reads are
// safe to repeat and every write carries a request key the server deduplicates, so none is
// applied twice.

/** The shared entry of ops past LIMITS.clientOpStatsMax (not an op name: ops are snake_case words). */
export const OTHER_OPS = "(other ops)";

export interface RpcClientOptions {
  host: string;
  port: number;
  /**
   * Every replica of a replicated metad (host and port above is the first tried). A connection
   * that fails moves to the next; a write or read refused by a replica that does not lead its
   * mount (EAGAIN naming the leader) is sent again to the leader, with the same request key.
   */
  endpoints?: { host: string; port: number }[];
  /** false: a refusal naming the leader is returned as the EAGAIN error it is (tools, tests). */
  followRedirects?: boolean;
  requestTimeoutMs?: number;
  reconnectMaxAttempts?: number;
  /** Shared token: presented in a hello that opens every connection, reconnects included. */
  token?: string;
  /** Speak TLS (nokvs://), trusting `ca` (PEM) besides the system's CAs. */
  tls?: { ca?: string | Buffer };
}

interface Pending {
  /** The hello that presents the token: sent by each connection itself, never retried. */
  auth?: true;
  op: string;
  args: Record<string, unknown>;
  requestKey: string | undefined;
  deadlineMs: number;
  /** Times a replica refused it as not the leader (each retry backs off a little more). */
  redirects?: number;
  /** When it was last written to a connection. */
  sentAtMs?: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export type PushHandler = (push: WirePush) => void;

/** One op's requests as this client saw them: round trips measured from call to settle. */
export interface RpcOpStats {
  calls: number;
  failed: number;
  totalUs: number;
  maxUs: number;
}

export class RpcClient {
  private socket: Socket | null = null;
  private decoder = new FrameDecoder();
  private connecting: Promise<void> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Array<() => void> = [];
  private outbound: Uint8Array[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly sweep: ReturnType<typeof setInterval>;
  private readonly pushHandlers = new Map<number, PushHandler>();
  /** Called after a reconnect, before waiting requests are re-sent (watches resubscribe here). */
  onReconnect: (() => void) | null = null;
  /** Called when the connection drops (before any reconnect): caches fed by pushes are stale now. */
  onDisconnect: (() => void) | null = null;
  /** The replica connected to (or tried next): an index into `endpoints`. */
  private endpoint = 0;
  /** When the connection last delivered anything (a hung replica delivers nothing). */
  private lastReceivedMs = 0;
  private readonly endpoints: { host: string; port: number }[];
  /**
   * Per op, what its requests cost from this side (queueing, transport and metad together), for
   * a mount's stats and tools: set beside metad's own per-op time, it shows where a round trip
   * goes. At most LIMITS.clientOpStatsMax ops; any further ones share OTHER_OPS.
   */
  readonly opStats = new Map<string, RpcOpStats>();

  constructor(private readonly options: RpcClientOptions) {
    const first = { host: options.host, port: options.port };
    this.endpoints = [first, ...(options.endpoints ?? []).filter((e) => e.host !== first.host || e.port !== first.port)];
    this.sweep = setInterval(() => this.expire(), 1000);
    this.sweep.unref?.();
  }

  /** Sends one request and resolves with its value or rejects with its FsError. */
  async call(op: string, args: Record<string, unknown>, requestKey?: string): Promise<unknown> {
    if (this.closed) throw new FsError("EBADF", "client is closed");
    while (this.pending.size >= LIMITS.clientInFlightMax) await new Promise<void>((r) => this.waiting.push(r));
    if (!this.socket) await this.connect();
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? LIMITS.clientRequestTimeoutMs;
      const startedMs = performance.now();
      const entry: Pending = {
        op, args, requestKey, deadlineMs: Date.now() + timeoutMs,
        resolve: (value) => {
          this.count(op, startedMs, false);
          resolve(value);
        },
        reject: (err) => {
          this.count(op, startedMs, true);
          reject(err);
        },
      };
      this.send(entry);
    });
  }

  private count(op: string, startedMs: number, failed: boolean): void {
    const elapsedUs = (performance.now() - startedMs) * 1000;
    let stats = this.opStats.get(op);
    if (!stats) {
      const key = this.opStats.size < LIMITS.clientOpStatsMax ? op : OTHER_OPS;
      stats = this.opStats.get(key);
      if (!stats) this.opStats.set(key, (stats = { calls: 0, failed: 0, totalUs: 0, maxUs: 0 }));
    }
    stats.calls++;
    if (failed) stats.failed++;
    stats.totalUs += elapsedUs;
    if (elapsedUs > stats.maxUs) stats.maxUs = elapsedUs;
  }

  onPush(subscription: number, handler: PushHandler | null): void {
    if (handler) this.pushHandlers.set(subscription, handler);
    else this.pushHandlers.delete(subscription);
  }

  private send(entry: Pending): void {
    const id = this.nextId++;
    const envelope = entry.requestKey === undefined ? { op: entry.op, args: entry.args } : { op: entry.op, args: entry.args, requestKey: entry.requestKey };
    let frame: Uint8Array;
    try {
      frame = encodeValueFrame(id, 0, envelope);
    } catch (err) {
      entry.reject(err as Error);
      return;
    }
    entry.sentAtMs = Date.now();
    this.pending.set(id, entry);
    this.outbound.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.socket || this.outbound.length === 0) return;
    const frames = this.outbound;
    this.outbound = [];
    this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.connectWithRetry().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connectWithRetry(): Promise<void> {
    const attempts = (this.options.reconnectMaxAttempts ?? LIMITS.clientReconnectMaxAttempts) * this.endpoints.length;
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < attempts && !this.closed; attempt++) {
      // With several replicas, each attempt tries the next one; a full round backs off.
      if (attempt > 0) this.endpoint = (this.endpoint + 1) % this.endpoints.length;
      if (attempt > 0 && attempt % this.endpoints.length === 0) await sleep(LIMITS.clientReconnectBackoffMs * 2 ** Math.min(attempt / this.endpoints.length - 1, 6));
      try {
        await this.openSocket();
        return;
      } catch (err) {
        lastError = err as Error;
        if (isCertificateError(lastError)) throw new FsError("ECONNRESET", `metad at ${this.options.host}:${this.options.port} presented a certificate this client does not trust: ${lastError.message} (give its CA: connect(url, { ca }), --ca or NOKV_CA)`);
      }
    }
    // Nothing listening is ECONNREFUSED and a silent host ETIMEDOUT, as node reports them; a
    // connection that opened and then broke is ECONNRESET.
    const code = (lastError as { code?: string } | null)?.code;
    const errno = code === "ECONNREFUSED" || code === "ETIMEDOUT" ? code : "ECONNRESET";
    throw new FsError(errno, `cannot reach metad at ${this.endpoints.map((e) => `${e.host}:${e.port}`).join(", ")}: ${lastError?.message ?? "client closed"}`);
  }

  private openSocket(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.dial();
      socket.setNoDelay(true);
      const onError = (err: Error) => {
        socket.destroy();
        reject(err);
      };
      socket.once("error", onError);
      socket.once(this.options.tls ? "secureConnect" : "connect", () => {
        socket.off("error", onError);
        this.socket = socket;
        this.decoder = new FrameDecoder();
        this.lastReceivedMs = Date.now();
        socket.write(CONNECTION_MAGIC);
        if (this.options.token !== undefined) this.sendAuth();
        socket.on("data", (chunk: Buffer) => this.onData(socket, chunk));
        socket.on("error", () => {});
        socket.on("close", () => this.onClose(socket));
        resolve();
      });
    });
  }

  private dial(): Socket {
    const { tls } = this.options;
    const { host, port } = this.endpoints[this.endpoint]!;
    if (!tls) return netConnect({ host, port });
    return tlsConnect({ host, port, ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(isIP(host) ? {} : { servername: host }) });
  }

  /**
   * The token goes first on the new connection, so every request behind it is admitted. Its
   * reply needs no handling: a wrong token fails each later request with EACCES.
   */
  private sendAuth(): void {
    const noop = () => {};
    this.send({ auth: true, op: "hello", args: { token: this.options.token }, requestKey: undefined, deadlineMs: Date.now() + 60_000, resolve: noop, reject: noop });
    this.flush();
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    this.lastReceivedMs = Date.now();
    try {
      this.decoder.push(chunk);
      for (const frame of this.decoder) {
        const message = decodePayload(frame.payload);
        if (frame.flags & FLAG_PUSH) {
          const push = parsePush(message);
          this.pushHandlers.get(push.subscription)?.(push);
          continue;
        }
        if (frame.requestId === 0) throw wireToError((message as { error?: unknown }).error);
        this.settle(frame.requestId, message);
      }
    } catch (err) {
      // A stream we cannot read, or a connection-level error from the server: everything waiting fails.
      this.failAll(err instanceof FsError ? err : new FsError("EPROTO", String(err)));
      socket.destroy();
    }
  }

  private settle(requestId: number, message: unknown): void {
    const entry = this.pending.get(requestId);
    if (!entry) return;
    this.pending.delete(requestId);
    this.waiting.shift()?.();
    const response = parseResponse(message);
    if (response.ok) entry.resolve(decodeResult(entry.op, entry.args, response.value));
    else {
      const err = wireToError(response.error);
      if (!this.redirect(entry, err)) entry.reject(err);
    }
  }

  /**
   * A replica that does not lead the mount answers EAGAIN "not the leader; leader is ID at
   * HOST:PORT" (or "no leader elected yet" during a failover). The request goes again, with its
   * request key, to the leader named, or after a short pause while an election runs, until its
   * deadline. Returns false when the error is anything else.
   */
  private redirect(entry: Pending, err: FsError): boolean {
    if (err.code !== "EAGAIN" || entry.auth || this.options.followRedirects === false || !/not the leader|replica is starting|restoring a checkpoint/.test(err.message)) return false;
    if (Date.now() + LIMITS.clientRedirectBackoffMs >= entry.deadlineMs) return false;
    const attempt = (entry.redirects = (entry.redirects ?? 0) + 1);
    const leader = /leader is \S+ at (\[[^\]]+\]|[^\s:]+):(\d+)/.exec(err.message);
    const current = this.endpoints[this.endpoint]!;
    if (leader) {
      const target = { host: leader[1]!.replace(/^\[|\]$/g, ""), port: Number(leader[2]) };
      if (target.host !== current.host || target.port !== current.port) {
        let index = this.endpoints.findIndex((e) => e.host === target.host && e.port === target.port);
        if (index === -1) index = this.endpoints.push(target) - 1;
        this.endpoint = index;
        // The drop re-sends everything waiting on this connection to the leader (onClose).
        this.pending.set(this.nextId++, entry);
        this.socket?.destroy();
        return true;
      }
    }
    // No leader yet, or the one named is this replica (its lease just lapsed): ask again shortly.
    const delayMs = Math.min(LIMITS.clientRedirectBackoffMs * attempt, LIMITS.clientRedirectBackoffMaxMs);
    setTimeout(() => {
      if (this.closed) entry.reject(new FsError("EBADF", "client closed"));
      else if (!this.socket) void this.connect().then(() => this.send(entry), (e: Error) => entry.reject(e));
      else this.send(entry);
    }, delayMs);
    // Another replica may lead by now: after a few refusals without a name, try the next one.
    if (!leader && attempt % 3 === 0 && this.endpoints.length > 1) {
      this.endpoint = (this.endpoint + 1) % this.endpoints.length;
      this.socket?.destroy();
    }
    return true;
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.onDisconnect?.();
    // Reconnect now if anyone is waiting: requests in flight, or watches that must resubscribe.
    if (this.closed || (this.pending.size === 0 && this.pushHandlers.size === 0)) return;
    const retry = [...this.pending.values()].filter((entry) => !entry.auth);
    this.pending.clear();
    this.connect().then(
      () => {
        this.onReconnect?.();
        for (const entry of retry) this.send(entry);
      },
      (err) => {
        for (const entry of retry) entry.reject(err as Error);
      },
    );
  }

  private failAll(err: Error): void {
    for (const entry of this.pending.values()) entry.reject(err);
    this.pending.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }

  private expire(): void {
    const now = Date.now();
    this.leaveStalledReplica(now);
    for (const [id, entry] of this.pending) {
      if (entry.deadlineMs > now) continue;
      this.pending.delete(id);
      entry.reject(new FsError("ETIMEDOUT", `${entry.op} had no reply within ${this.options.requestTimeoutMs ?? LIMITS.clientRequestTimeoutMs} ms`));
      this.waiting.shift()?.();
    }
  }

  /**
   * With several replicas: one that answers nothing for clientReplicaStallMs while requests wait
   * (paused, or hung) is left for the next; the waiting requests go there with their keys.
   */
  private leaveStalledReplica(now: number): void {
    if (this.endpoints.length < 2 || !this.socket || this.pending.size === 0) return;
    if (now - this.lastReceivedMs < LIMITS.clientReplicaStallMs) return;
    let oldest = now;
    for (const entry of this.pending.values()) if (!entry.auth) oldest = Math.min(oldest, entry.sentAtMs ?? now);
    if (now - oldest < LIMITS.clientReplicaStallMs) return;
    this.endpoint = (this.endpoint + 1) % this.endpoints.length;
    this.socket.destroy();
  }

  /** Ends the connection; waiting requests fail with EBADF. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    this.failAll(new FsError("EBADF", "client closed"));
    this.socket?.end();
    this.socket = null;
  }

  /** Drops the connection as if the network had (tests use it to prove retries are safe). */
  dropConnection(): void {
    this.socket?.destroy();
  }
}

/** Attribute tuples back to objects, for one op or each op of a batch. */
function decodeResult(op: string, args: Record<string, unknown>, value: unknown): unknown {
  if (op !== "batch") return resultFromWire(op, value);
  const ops = args.ops as Array<{ op: string }>;
  return (value as WireResponse[]).map((r, i) => (r.ok ? { ok: true, value: resultFromWire(ops[i]!.op, r.value) } : r));
}

/** A TLS verification failure: retrying cannot fix it. */
function isCertificateError(err: Error): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test((err as { code?: string }).code ?? "");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
