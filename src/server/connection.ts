import type { Socket } from "bun";
import { FsError, toFsError } from "../types/index.ts";
import {
  FLAG_ERROR, FLAG_PUSH, FLAG_RESPONSE, FrameDecoder, FrameError, RawValue, decodePayload, encodeRawOkFrame, encodeValueFrame, errorResponse,
  matchConnectionMagic, parseRequest, type WirePush, type WireResponse,
} from "../wire/index.ts";
import { encodeHttpResponse, parseHttpRequest, type HttpRequest, type HttpResponse } from "./http.ts";
import type { ConnectionLimits } from "./config.ts";
import type { ServerStats } from "./stats.ts";

// One client connection. Its first bytes decide what it speaks: the RPC magic, or HTTP. RPC
// frames become jobs; replies queue per connection and go out in as few writes as possible.

export interface ConnectionHooks {
  stats: ServerStats;
  limits: ConnectionLimits;
  /** A decoded request; `reply` may be called later, once. */
  onRequest(conn: Connection, requestId: number, request: ReturnType<typeof parseRequest>, reply: (r: WireResponse) => void): void;
  onHttp(request: HttpRequest): Promise<HttpResponse>;
  onClose(conn: Connection): void;
}

export class Connection {
  private mode: "sniff" | "rpc" | "http" | "closed" = "sniff";
  private sniffed: Uint8Array = new Uint8Array(0);
  private readonly decoder = new FrameDecoder();
  private inFlight = 0;
  private outbound: Uint8Array[] = [];
  private outboundBytes = 0;
  private flushScheduled = false;
  private partialTimer: ReturnType<typeof setTimeout> | null = null;
  readonly subscriptions = new Set<number>();

  constructor(
    readonly socket: Socket<unknown>,
    private readonly hooks: ConnectionHooks,
  ) {}

  onData(chunk: Uint8Array): void {
    if (this.mode === "closed") return;
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
    if (this.inFlight >= maxInFlight) {
      this.reply(requestId, errorResponse(new FsError("EAGAIN", `more than ${maxInFlight} requests in flight on one connection`)));
      return;
    }
    this.inFlight++;
    let answered = false;
    this.hooks.onRequest(this, requestId, request, (response) => {
      if (answered) throw new Error(`request ${requestId} answered twice`);
      answered = true;
      this.inFlight--;
      this.reply(requestId, response);
    });
  }

  reply(requestId: number, response: WireResponse): void {
    this.sendFrame(requestId, response.ok ? FLAG_RESPONSE : FLAG_RESPONSE | FLAG_ERROR, response);
  }

  /** Reply and push bytes queued and not yet taken by the socket. */
  get pendingOutboundBytes(): number {
    return this.outboundBytes;
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
    this.hooks.stats.frames.sent++;
    this.enqueue(frame);
  }

  private enqueue(bytes: Uint8Array): void {
    this.outbound.push(bytes);
    this.outboundBytes += bytes.length;
    if (this.outboundBytes > this.hooks.limits.connectionOutboundMaxBytes) {
      this.hooks.stats.connections.closedForAbuse++;
      this.close(`client does not read its replies (${this.outboundBytes} bytes queued)`);
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Writes what is queued in one write; what the socket does not take waits for drain. */
  flush(): void {
    this.flushScheduled = false;
    if (this.mode === "closed" || this.outbound.length === 0) return;
    const data = this.outbound.length === 1 ? this.outbound[0]! : concatAll(this.outbound, this.outboundBytes);
    const written = this.socket.write(data);
    this.hooks.stats.frames.bytesSent += Math.max(0, written);
    if (written >= data.length) {
      this.outbound = [];
      this.outboundBytes = 0;
    } else {
      const rest = data.subarray(Math.max(0, written));
      this.outbound = [rest];
      this.outboundBytes = rest.length;
    }
  }

  private readHttp(bytes: Uint8Array): void {
    this.sniffed = concat(this.sniffed, bytes);
    const parsed = parseHttpRequest(this.sniffed);
    if (parsed.kind === "incomplete") return this.armPartialTimer();
    this.clearPartialTimer();
    this.mode = "closed";
    this.hooks.stats.http.requests++;
    const respond = (response: HttpResponse) => {
      this.socket.end(encodeHttpResponse(response));
      this.hooks.onClose(this);
    };
    if (parsed.kind === "error") {
      this.hooks.stats.http.rejected++;
      return respond(parsed.response);
    }
    void this.hooks.onHttp(parsed.request).then(respond);
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

  close(_reason: string): void {
    if (this.mode === "closed") return;
    this.flush();
    this.mode = "closed";
    this.clearPartialTimer();
    this.socket.end();
    this.hooks.onClose(this);
  }

  /** The socket closed under us (peer hung up): drop state without writing. */
  closed(): void {
    this.clearPartialTimer();
    if (this.mode !== "closed") {
      this.mode = "closed";
      this.hooks.onClose(this);
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
