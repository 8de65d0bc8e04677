import { mkdirSync, accessSync, constants } from "node:fs";
import { join, resolve } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { SqliteStore } from "../schema/index.ts";
import { MetadataService, type GcObjectTarget } from "../service/index.ts";
import { LIMITS, type InodeId, type MountId, type WatchEvent } from "../types/index.ts";
import { openObjectStore, redactStoreUrl, type ObjectStore } from "../objstore/index.ts";
import type { ConnectionLimits, MetadConfig } from "./config.ts";
import { Connection, type ConnectionHooks } from "./connection.ts";
import { DataDirBusy, DataLock } from "./data-lock.ts";
import { TokenCheck, accessDenied, isLoopbackHost } from "./auth.ts";
import { errorResponse, wireResultCodec, type WireRequest } from "../wire/index.ts";
import { GroupCommitter } from "./group-commit.ts";
import { Subscriptions } from "./subscriptions.ts";
import { jsonResponse, type HttpRequest, type HttpResponse } from "./http.ts";
import type { OpContext } from "./op-context.ts";
import { ServerStats } from "./stats.ts";
import { Logger } from "./log.ts";
import { METRICS_CONTENT_TYPE, countingObjectStore, renderMetrics, type CountingObjectStore } from "./metrics.ts";
import { ReadinessProbe } from "./readiness.ts";

// metad: one port, RPC and HTTP; one SQLite store; group commit; watch push; GC on a timer.

export class StartupError extends Error {
  override name = "StartupError";
}

export class Metad {
  readonly stats = new ServerStats();
  readonly log: Logger;
  private readonly readiness: ReadinessProbe;
  private readonly connections = new Set<Connection>();
  private readonly subscriptions: Subscriptions;
  private readonly contexts = new WeakMap<Connection, OpContext>();
  private listener: TCPSocketListener<Connection | undefined> | null = null;
  private gcTimer: ReturnType<typeof setInterval> | null = null;
  private gcRunning: Promise<unknown> | null = null;
  private stopping = false;
  private readonly committer: GroupCommitter;
  private readonly tokenCheck: TokenCheck | null;
  /** Connections that presented the token (all of them when no token is set). */
  private readonly authenticated = new WeakSet<Connection>();

  private constructor(
    readonly config: MetadConfig,
    readonly service: MetadataService,
    readonly objects: CountingObjectStore,
    private readonly lock: DataLock,
  ) {
    this.log = new Logger(config.logFormat ?? "text");
    this.readiness = new ReadinessProbe(objects);
    this.committer = new GroupCommitter(
      service,
      (op, latencyUs, failed) => {
        this.stats.recordOp(op, latencyUs, failed);
        if (latencyUs >= LIMITS.slowOpLogThresholdUs) this.log.slowOp(op, latencyUs, failed);
      },
      (ops) => this.stats.groupCommitOps.record(ops),
      (failed) => {
        if (failed) this.subscriptions.clampToClocks();
      },
    );
    this.subscriptions = new Subscriptions(service, this.stats.watch);
    service.core.onEvents((mount, events) => this.subscriptions.publish(mount, events));
    this.tokenCheck = config.token === undefined ? null : new TokenCheck(config.token);
  }

  static async start(config: MetadConfig): Promise<Metad> {
    checkExposure(config);
    const dataDir = resolve(config.dataDir);
    try {
      mkdirSync(dataDir, { recursive: true });
      accessSync(dataDir, constants.W_OK);
    } catch (err) {
      throw new StartupError(`data directory ${dataDir} is not writable: ${(err as Error).message}`);
    }
    let lock: DataLock;
    try {
      lock = DataLock.acquire(dataDir, "metad");
    } catch (err) {
      if (err instanceof DataDirBusy) throw new StartupError(err.message);
      throw new StartupError(`cannot lock data directory ${dataDir}: ${(err as Error).message}`);
    }
    let service: MetadataService;
    try {
      service = new MetadataService(new SqliteStore({ path: join(dataDir, "meta.db"), durability: config.durability }), {
        resultCodec: wireResultCodec,
        ...(config.retention ? { retention: config.retention } : {}),
      });
    } catch (err) {
      lock.release();
      throw new StartupError(`cannot open the metadata store in ${dataDir}: ${(err as Error).message}`);
    }
    let objects: ObjectStore;
    try {
      objects = await openObjectStore(config.objectsUrl, { durability: config.durability });
    } catch (err) {
      service.close();
      lock.release();
      throw new StartupError(`cannot open the object store ${redactStoreUrl(config.objectsUrl)}: ${(err as Error).message}`);
    }
    const metad = new Metad(config, service, countingObjectStore(objects), lock);
    try {
      metad.listen();
    } catch (err) {
      service.close();
      lock.release();
      await objects.close();
      const code = (err as { code?: string }).code;
      const why = code === "EADDRINUSE" ? "the port is in use" : (err as Error).message;
      throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${why}`);
    }
    if (config.gcIntervalMs > 0) metad.gcTimer = setInterval(() => void metad.runGc().catch(() => {}), config.gcIntervalMs);
    return metad;
  }

  get address(): { host: string; port: number } {
    return { host: this.config.host, port: this.listener?.port ?? this.config.port };
  }

  private listen(): void {
    const limits: ConnectionLimits = {
      connectionsMax: LIMITS.connectionsMax,
      inFlightPerConnectionMax: LIMITS.inFlightPerConnectionMax,
      connectionOutboundMaxBytes: LIMITS.connectionOutboundMaxBytes,
      partialFrameTimeoutMs: LIMITS.partialFrameTimeoutMs,
      ...this.config.limits,
    };
    const hooks: ConnectionHooks = {
      stats: this.stats,
      limits,
      onRequest: (conn, _requestId, request, reply) => {
        if (!this.admitted(conn, request)) return reply(errorResponse(accessDenied()));
        this.committer.submit({ request, ctx: this.contextFor(conn), reply });
      },
      onHttp: (request) => this.http(request),
      onClose: (conn) => this.forget(conn),
    };
    this.listener = Bun.listen<Connection | undefined>({
      hostname: this.config.host,
      port: this.config.port,
      socket: {
        open: (socket: Socket<Connection | undefined>) => {
          if (this.stopping || this.connections.size >= limits.connectionsMax) {
            this.stats.connections.refused++;
            socket.end();
            return;
          }
          const conn = new Connection(socket as Socket<unknown>, hooks);
          socket.data = conn;
          this.connections.add(conn);
          this.stats.connections.accepted++;
          this.stats.connections.open = this.connections.size;
        },
        data: (socket, data) => socket.data?.onData(data),
        drain: (socket) => socket.data?.flush(),
        close: (socket) => socket.data?.closed(),
        error: (socket) => socket.data?.closed(),
      },
    });
  }

  /**
   * With a token set, a connection is admitted by a hello that carries it; checked as the frame
   * is read, so requests pipelined right behind that hello are admitted too.
   */
  private admitted(conn: Connection, request: WireRequest): boolean {
    if (!this.tokenCheck || this.authenticated.has(conn)) return true;
    if (request.op !== "hello" || !this.tokenCheck.matches(request.args.token)) {
      this.stats.connections.authFailures++;
      this.log.authFailure({ remote: conn.socket.remoteAddress, via: "rpc", reason: request.op === "hello" ? "wrong or missing token" : `${request.op} before hello` });
      return false;
    }
    this.authenticated.add(conn);
    return true;
  }

  /** One op context per connection, made on its first request: the hot path allocates none. */
  private contextFor(conn: Connection): OpContext {
    let ctx = this.contexts.get(conn);
    if (!ctx) this.contexts.set(conn, (ctx = this.newContext(conn)));
    return ctx;
  }

  private newContext(conn: Connection): OpContext {
    return {
      service: this.service,
      objectsUrl: this.objects.url,
      subscribe: (args) => this.subscriptions.subscribe(conn, args),
      unsubscribe: (id) => this.subscriptions.unsubscribe(conn, id),
      runGc: () => this.runGc(),
      stats: () => this.statsJson(),
    };
  }

  private forget(conn: Connection): void {
    this.subscriptions.dropConnection(conn);
    this.connections.delete(conn);
    this.stats.connections.open = this.connections.size;
  }

  /** One GC pass; concurrent callers share the pass already running. */
  runGc(): Promise<unknown> {
    if (this.gcRunning) return this.gcRunning;
    let lastDeleteError = "";
    const target: GcObjectTarget = {
      deleteObject: async (key) => {
        try {
          await this.objects.delete(key);
        } catch (err) {
          lastDeleteError = (err as Error).message;
          throw err;
        }
      },
      listObjects: async (prefix) => {
        const keys: string[] = [];
        for (let after: string | null | undefined = undefined; ; ) {
          const page = await this.objects.list(prefix, after ? { after } : {});
          keys.push(...page.keys);
          if (page.nextAfter === null) return keys;
          after = page.nextAfter;
        }
      },
    };
    this.gcRunning = this.service.gc
      .collect(target)
      .then((report) => {
        this.stats.recordGc(report);
        if (report.objectDeleteErrors > 0) {
          this.stats.gcLastError = `${report.objectDeleteErrors} object delete(s) failed; last: ${lastDeleteError}`;
          this.log.gcError({ failures: report.objectDeleteErrors, lastError: lastDeleteError });
        }
        return report;
      })
      .catch((err) => {
        this.stats.gcLastError = (err as Error).message;
        this.log.gcError({ failures: 1, lastError: (err as Error).message });
        throw err;
      })
      .finally(() => (this.gcRunning = null));
    return this.gcRunning;
  }

  statsJson() {
    return this.stats.snapshot({
      writes: this.service.store.counters,
      shards: this.service.store.shards(),
      objects: { url: this.objects.url },
    });
  }

  private async http(request: HttpRequest): Promise<HttpResponse> {
    const route = `${request.method} ${request.path}`;
    switch (route) {
      case "GET /healthz":
        return jsonResponse(200, { ok: true, shards: this.service.store.shards().map((s) => ({ shard: s.shard, version: s.version })) });
      case "GET /readyz": {
        if (this.stopping) return jsonResponse(503, { ready: false, reason: "stopping" });
        const readiness = await this.readiness.check();
        return jsonResponse(readiness.ready ? 200 : 503, readiness);
      }
      case "GET /metrics":
        return { status: 200, contentType: METRICS_CONTENT_TYPE, body: renderMetrics({ stats: this.stats, writes: this.service.store.counters, shards: this.service.store.shards(), dataDir: resolve(this.config.dataDir), objectStoreErrors: this.objects.errorCounts }) };
      case "GET /stats":
        return jsonResponse(200, this.statsJson());
      case "POST /gc":
        if (this.tokenCheck && !this.tokenCheck.matchesBearer(request.headers.get("authorization"))) {
          this.stats.connections.authFailures++;
          this.log.authFailure({ via: "http", reason: "POST /gc without the bearer token" });
          return jsonResponse(401, { error: "POST /gc needs Authorization: Bearer <token>" });
        }
        try {
          return jsonResponse(200, await this.runGc());
        } catch (err) {
          return jsonResponse(500, { error: (err as Error).message });
        }
    }
    if (["/healthz", "/readyz", "/stats", "/metrics", "/gc"].includes(request.path)) return jsonResponse(405, { error: `${request.method} not allowed on ${request.path}` });
    return jsonResponse(404, { error: `no route ${request.path}` });
  }

  /** Stops accepting, lets in-flight work finish and replies flush, then closes the store. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.listener?.stop(false);
    await this.committer.whenIdle();
    await this.gcRunning?.catch(() => {});
    for (const conn of [...this.connections]) conn.close("server stopping");
    this.listener?.stop(true);
    this.service.close();
    this.lock.release();
    await this.objects.close();
  }
}

/** Off loopback, anyone who can reach the port could rewrite the namespace: demand a token. */
function checkExposure(config: MetadConfig): void {
  if (config.token !== undefined) {
    try {
      new TokenCheck(config.token);
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
    return;
  }
  if (!isLoopbackHost(config.host)) {
    throw new StartupError(`listening on ${config.host} (not loopback) needs a shared token: set NOKV_TOKEN or --token`);
  }
}
