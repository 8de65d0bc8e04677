import type { Socket } from "bun";
import { FsError, toFsError } from "../types/index.ts";
import {
  FLAG_ERROR, FLAG_PUSH, FLAG_RESPONSE, FrameDecoder, FrameError, RawValue, decodePayload, encodeRawOkFrame, encodeValueFrame, errorResponse,
  matchConnectionMagic, parseRequest, type WirePush, type WireRequest, type WireResponse,
} from "../wire/index.ts";
import { encodeHttpResponse, parseHttpRequest, type HttpRequest, type HttpResponse } from "./http.ts";
import type { ConnectionLimits } from "./config.ts";
import type { Grant } from "./auth.ts";
import type { ServerStats } from "./stats.ts";

// One client connection. Its first bytes decide what it speaks: the RPC magic, or HTTP. RPC
// frames queue per connection and run only while the connection's replies are being read:
// queued reply bytes plus what its running requests are expected to add stay under
// connectionOutboundPauseBytes, and while requests wait the socket is not read, so a client that
// never reads costs metad that much and no more (TCP pushes back on it).

export interface ConnectionHooks {
  stats: ServerStats;
  limits: ConnectionLimits;
  /** Reply bytes queued or expected across every connection (the total budget). */
  budget: { bytes: number };
  /** A decoded request; `reply` must be called once, maybe later. */
  onRequest(conn: Connection, request: WireRequest, reply: (r: WireResponse) => void): void;
  onHttp(conn: Connection, request: HttpRequest): Promise<HttpResponse>;
  onClose(conn: Connection): void;
}

interface Queued {
  requestId: number;
  request: WireRequest;
  sizeBytes: number;
}

export class Connection {
  /** "answering": an HTTP request was read and its answer is on the way; nothing more is read. */
  private mode: "sniff" | "rpc" | "http" | "answering" | "closed" = "sniff";
  private sniffed: Uint8Array = new Uint8Array(0);
  private readonly decoder = new FrameDecoder();
  /** Requests read and not yet running; with `executing`, bounded by inFlightPerConnectionMax. */
  private inbound: Queued[] = [];
  private inboundHead = 0;
  private inboundBytes = 0;
  private executing = 0;
  /** Set while an answer is deliberately delayed (failed authentication): nothing else runs. */
  private held = false;
  private paused = false;
  private outbound: Uint8Array[] = [];
  private outboundBytes = 0;
  /** What this connection adds to the shared budget: queued bytes plus expected ones. */
  private budgetedBytes = 0;
  /**
   * The size expected of the next reply: rises at once to a larger reply, falls slowly, so a
   * client that asks for big replies gets few of them running at a time.
   */
  private replyEstimateBytes: number;
  private flushScheduled = false;
  private partialTimer: ReturnType<typeof setTimeout> | null = null;
  readonly subscriptions = new Set<number>();
  readonly peer: string;
  readonly openedAtMs = Date.now();
  lastActivityMs = this.openedAtMs;
  /** Last time queued replies moved to the socket (or none were queued). */
  lastProgressMs = this.openedAtMs;
  /** What the connection may do: null until it authenticates (or, with no token set, sends a frame). */
  grant: Grant | null = null;
  authFailures = 0;

  constructor(
    readonly socket: Socket<unknown>,
    private readonly hooks: ConnectionHooks,
  ) {
    this.peer = socket.remoteAddress ?? "unknown";
    // Until its replies prove small, a connection runs a few requests at a time (slow start):
    // enough that a slow op does not hold up the next ones.
    this.replyEstimateBytes = Math.max(1, Math.floor(hooks.limits.connectionExecutingReplyBytesMax / 4));
  }

  get isClosed(): boolean {
    return this.mode === "closed";
  }

  /** Nothing read, running, queued or watched: the idle timeout may close it. */
  get isIdle(): boolean {
    return this.inboundLength === 0 && this.executing === 0 && this.outboundBytes === 0 && this.subscriptions.size === 0 && !this.held;
  }

  get queuedReplyBytes(): number {
    return this.outboundBytes;
  }

  private get inboundLength(): number {
    return this.inbound.length - this.inboundHead;
  }

  onData(chunk: Uint8Array): void {
    if (this.mode === "closed" || this.mode === "answering") return;
    this.lastActivityMs = Date.now();
    // Bun may reuse its read buffer after this callback: keep a copy, since frames can span reads.
    const bytes = new Uint8Array(chunk);
    this.hooks.stats.frames.bytesReceived += bytes.length;
    if (this.mode === "sniff") return this.sniff(bytes);
    if (this.mode === "rpc") return this.readFrames(bytes);
    this.readHttp(bytes);
  }

  private sniff(bytes: Uint8Array): void {
    const all = concat(this.sniffed, bytes);
    const kind = matchConnectionMagic(all);
    if (kind === "short") {
      this.sniffed = all;
      this.armPartialTimer();
      return;
    }
    this.sniffed = new Uint8Array(0);
    if (kind === "rpc") {
      this.mode = "rpc";
      this.readFrames(all.subarray(8));
    } else {
      this.mode = "http";
      this.readHttp(all);
    }
  }

  private readFrames(bytes: Uint8Array): void {
    try {
      this.decoder.push(bytes);
      for (const frame of this.decoder) {
        this.hooks.stats.frames.received++;
        if (frame.flags !== 0) throw new FrameError("EPROTO", `a request carries no flags, got 0x${frame.flags.toString(16)}`);
        this.handleFrame(frame.requestId, frame.payload);
        if (this.mode === "closed") return;
      }
    } catch (err) {
      // The stream is out of step: say why on request id 0, then close.
      this.hooks.stats.frames.rejected++;
      this.sendFrame(0, FLAG_RESPONSE | FLAG_ERROR, errorResponse(toFsError(err)));
      this.close("protocol error");
      return;
    }
    if (this.decoder.bufferedBytes > 0) this.armPartialTimer();
    else this.clearPartialTimer();
    this.pump();
  }

  private handleFrame(requestId: number, payload: Uint8Array): void {
    let request;
    try {
      request = parseRequest(decodePayload(payload));
    } catch (err) {
      this.hooks.stats.frames.rejected++;
      this.reply(requestId, errorResponse(err));
      return;
    }
    if (requestId === 0) throw new FrameError("EPROTO", "request id 0 is reserved for connection errors");
    const maxInFlight = this.hooks.limits.inFlightPerConnectionMax;
    if (this.inboundLength + this.executing >= maxInFlight) {
      this.reply(requestId, errorResponse(new FsError("EAGAIN", `more than ${maxInFlight} requests in flight on one connection`)));
      return;
    }
    this.inbound.push({ requestId, request, sizeBytes: payload.length });
    this.inboundBytes += payload.length;
  }

  /**
   * Whether one more request may run now: the connection runs fewer than connectionExecutingMax
   * whose expected replies stay within connectionExecutingReplyBytesMax (one always may), the
   * new reply fits under the pause threshold beside what is queued, and while the total budget
   * is spent only a connection with nothing queued or running gets one.
   */
  canAccept(): boolean {
    return this.waitReason() === null;
  }

  private waitReason(): "held" | "executing" | "replies" | null {
    if (this.held || this.mode === "closed") return "held";
    const limits = this.hooks.limits;
    if (this.executing >= limits.connectionExecutingMax) return "executing";
    if (this.executing > 0 && (this.executing + 1) * this.replyEstimateBytes > limits.connectionExecutingReplyBytesMax) return "executing";
    const quiet = this.executing === 0 && this.outboundBytes === 0;
    if (this.hooks.budget.bytes >= limits.outboundTotalMaxBytes) return quiet ? null : "replies";
    const fits = this.outboundBytes + (this.executing + 1) * this.replyEstimateBytes <= limits.connectionOutboundPauseBytes;
    return quiet || fits ? null : "replies";
  }

  /**
   * Runs queued requests while the connection may. The socket is not read while requests wait on
   * unread replies (or a held answer), or while waiting requests hold connectionInboundPauseBytes:
   * a connection merely running its full share keeps being read, so pipelining stays cheap.
   */
  private pump(): void {
    let reason = this.waitReason();
    while (this.inboundLength > 0 && reason === null) {
      const { requestId, request, sizeBytes } = this.inbound[this.inboundHead++]!;
      this.inboundBytes -= sizeBytes;
      this.run(requestId, request);
      reason = this.waitReason();
    }
    if (this.inboundHead > 1024 && this.inboundHead * 2 > this.inbound.length) {
      this.inbound = this.inbound.slice(this.inboundHead);
      this.inboundHead = 0;
    }
    this.account();
    const wait =
      this.mode !== "closed" &&
      this.inboundLength > 0 &&
      (reason === "replies" || reason === "held" || this.inboundBytes >= this.hooks.limits.connectionInboundPauseBytes);
    if (wait !== this.paused) {
      this.paused = wait;
      if (wait) {
        this.hooks.stats.connections.pausedForBackpressure++;
        this.socket.pause();
      } else {
        this.socket.resume();
      }
    }
  }

  private run(requestId: number, request: WireRequest): void {
    this.executing++;
    let answered = false;
    this.hooks.onRequest(this, request, (response) => {
      if (answered) throw new Error(`request ${requestId} answered twice`);
      answered = true;
      this.executing--;
      this.reply(requestId, response);
      this.pump();
    });
  }

  /** Stops running this connection's requests until release() (a delayed authentication answer). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.pump();
  }

  reply(requestId: number, response: WireResponse): void {
    this.sendFrame(requestId, response.ok ? FLAG_RESPONSE : FLAG_RESPONSE | FLAG_ERROR, response);
  }

  push(subscription: number, message: WirePush): void {
    this.sendFrame(subscription, FLAG_PUSH, message);
  }

  private sendFrame(requestId: number, flags: number, value: unknown): void {
    if (this.mode === "closed") return;
    let frame: Uint8Array;
    try {
      const raw = (value as { ok?: boolean; value?: unknown }).value;
      frame = raw instanceof RawValue ? encodeRawOkFrame(requestId, flags, raw) : encodeValueFrame(requestId, flags, value);
    } catch (err) {
      frame = encodeValueFrame(requestId, FLAG_RESPONSE | FLAG_ERROR, errorResponse(err));
    }
    if (flags !== FLAG_PUSH) this.learnReplySize(frame.length);
    this.hooks.stats.frames.sent++;
    this.enqueue(frame);
  }

  private learnReplySize(sizeBytes: number): void {
    const estimate = this.replyEstimateBytes;
    this.replyEstimateBytes = sizeBytes >= estimate ? sizeBytes : Math.max(1, estimate - Math.floor((estimate - sizeBytes) / 4));
  }

  private enqueue(bytes: Uint8Array): void {
    if (this.outboundBytes === 0) this.lastProgressMs = Date.now();
    this.outbound.push(bytes);
    this.outboundBytes += bytes.length;
    this.account();
    if (this.outboundBytes > this.hooks.limits.connectionOutboundMaxBytes) {
      this.hooks.stats.connections.closedForAbuse++;
      this.close(`client does not read its replies (${this.outboundBytes} bytes queued)`, { abort: true });
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Writes queued replies in chunks until the socket takes no more; the rest waits for drain. */
  flush(): void {
    this.flushScheduled = false;
    if (this.mode === "closed") return;
    const chunkBytes = this.hooks.limits.connectionWriteChunkBytes;
    const before = this.outboundBytes;
    let index = 0;
    while (index < this.outbound.length) {
      let end = index + 1;
      let size = this.outbound[index]!.length;
      while (end < this.outbound.length && size + this.outbound[end]!.length <= chunkBytes) size += this.outbound[end++]!.length;
      const data = end === index + 1 ? this.outbound[index]! : concatAll(this.outbound, index, end, size);
      const written = Math.max(0, this.socket.write(data));
      this.hooks.stats.frames.bytesSent += written;
      this.outboundBytes -= written;
      if (written < data.length) {
        this.outbound[end - 1] = data.subarray(written);
        index = end - 1;
        break;
      }
      index = end;
    }
    this.outbound = index === 0 ? this.outbound : this.outbound.slice(index);
    if (this.outboundBytes < before || this.outboundBytes === 0) {
      this.lastProgressMs = Date.now();
      this.lastActivityMs = this.lastProgressMs;
    }
    this.account();
    if (this.outboundBytes < before) this.pump();
  }

  /** Keeps the shared budget equal to the sum over connections of queued plus expected bytes. */
  private account(): void {
    const bytes = this.mode === "closed" ? 0 : this.outboundBytes + this.executing * this.replyEstimateBytes;
    this.hooks.budget.bytes += bytes - this.budgetedBytes;
    this.budgetedBytes = bytes;
  }

  private readHttp(bytes: Uint8Array): void {
    this.sniffed = concat(this.sniffed, bytes);
    const parsed = parseHttpRequest(this.sniffed);
    if (parsed.kind === "incomplete") return this.armPartialTimer();
    this.clearPartialTimer();
    this.sniffed = new Uint8Array(0);
    this.mode = "answering";
    this.hooks.stats.http.requests++;
    const respond = (response: HttpResponse) => {
      if (this.mode === "closed") return; // evicted or hung up while the answer was prepared
      this.mode = "closed";
      this.socket.end(encodeHttpResponse(response));
      this.hooks.onClose(this);
    };
    if (parsed.kind === "error") {
      this.hooks.stats.http.rejected++;
      return respond(parsed.response);
    }
    void this.hooks.onHttp(this, parsed.request).then(respond);
  }

  private armPartialTimer(): void {
    if (this.partialTimer) return;
    this.partialTimer = setTimeout(() => this.close("partial request timed out"), this.hooks.limits.partialFrameTimeoutMs);
  }

  private clearPartialTimer(): void {
    if (!this.partialTimer) return;
    clearTimeout(this.partialTimer);
    this.partialTimer = null;
  }

  /**
   * Ends the connection after what is queued. `abort` resets it instead, for a peer that does not
   * read: its queued bytes, ours and the kernel's, are dropped rather than kept for it.
   */
  close(_reason: string, { abort = false } = {}): void {
    if (this.mode === "closed") return;
    if (!abort) this.flush();
    this.mode = "closed";
    this.dropState();
    if (abort) this.socket.terminate();
    else this.socket.end();
    this.hooks.onClose(this);
  }

  /** The socket closed under us (peer hung up): drop state without writing. */
  closed(): void {
    if (this.mode !== "closed") {
      this.mode = "closed";
      this.dropState();
      this.hooks.onClose(this);
    }
    this.clearPartialTimer();
  }

  /** Frees what a closed connection held: its share of the budget, queued requests and replies. */
  private dropState(): void {
    this.clearPartialTimer();
    this.inbound = [];
    this.inboundHead = 0;
    this.inboundBytes = 0;
    this.outbound = [];
    this.outboundBytes = 0;
    this.account();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[], start: number, end: number, totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (let i = start; i < end; i++) {
    out.set(parts[i]!, offset);
    offset += parts[i]!.length;
  }
  return out;
}
