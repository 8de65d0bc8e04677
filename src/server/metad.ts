import { mkdirSync, accessSync, constants, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { SqliteStore } from "../schema/index.ts";
import { MetadataService, type GcObjectTarget } from "../service/index.ts";
import { LIMITS } from "../types/index.ts";
import { hasBlocks, openObjectStore, readStoreId, redactStoreUrl, writeStoreId, type ObjectStore } from "../objstore/index.ts";
import { bindObjectStore } from "../service/store-identity.ts";
import { connectionLimits, type MetadConfig } from "./config.ts";
import { Connection, type ConnectionHooks } from "./connection.ts";
import { DataDirBusy, DataLock } from "./data-lock.ts";
import { Admission, type AdmissionLimits } from "./admission.ts";
import { Access } from "./access.ts";
import { TokenCheck, isLoopbackHost } from "./auth.ts";
import { errorResponse, wireResultCodec, type WireRequest, type WireResponse } from "../wire/index.ts";
import { OPS } from "./dispatch.ts";
import { GroupCommitter } from "./group-commit.ts";
import { Subscriptions } from "./subscriptions.ts";
import { jsonResponse, type HttpRequest, type HttpResponse } from "./http.ts";
import { LOCAL_OPS, runLocalOp } from "./token-ops.ts";
import { Tokens } from "../service/tokens.ts";
import type { OpContext } from "./op-context.ts";
import { ServerStats } from "./stats.ts";
import { Logger } from "./log.ts";
import { METRICS_CONTENT_TYPE, countingObjectStore, renderMetrics, type CountingObjectStore } from "./metrics.ts";
import { ReadinessProbe } from "./readiness.ts";
import { ClusterNode } from "./cluster-node.ts";
import { bindClusterStore, restoreAtStart } from "./cluster-startup.ts";
import { ClusterStore } from "./cluster-store.ts";
import { FsError, toFsError } from "../types/index.ts";

// metad: one port, RPC and HTTP; one SQLite store; group commit; watch push; GC on a timer.

export class StartupError extends Error {
  override name = "StartupError";
  constructor(
    message: string,
    /** Joining found this replica's database behind the trimmed log: a fresh start restores a checkpoint. */
    readonly behindTrimmedLog = false,
  ) {
    super(message);
  }
}

export class Metad {
  readonly stats = new ServerStats();
  readonly tokens: Tokens;
  private readonly limits: AdmissionLimits;
  private readonly admission: Admission;
  private readonly access: Access;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  readonly log: Logger;
  private readonly readiness: ReadinessProbe;
  private readonly subscriptions: Subscriptions;
  private readonly contexts = new WeakMap<Connection, OpContext>();
  private listener: TCPSocketListener<Connection | undefined> | null = null;
  private gcTimer: ReturnType<typeof setInterval> | null = null;
  private gcRunning: Promise<unknown> | null = null;
  private stopping = false;
  private readonly committer: GroupCommitter;
  /** Set in cluster mode once the replica has joined (after the port is open, so it knows its address). */
  cluster: ClusterNode | null = null;

  private constructor(
    readonly config: MetadConfig,
    readonly service: MetadataService,
    readonly objects: CountingObjectStore,
    private readonly lock: DataLock,
    /** The object store's id, recorded in the database; clients refuse a store carrying another. */
    readonly storeId: string,
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
      config.cluster
        ? {
            route: (request, isWrite) => (this.cluster ? this.cluster.route(request, isWrite) : { serve: false, error: new FsError("EAGAIN", "replica is starting: not joined to the cluster yet") }),
            commitGroup: (build) => (this.cluster ? this.cluster.commitGroup(build) : Promise.reject(new FsError("EAGAIN", "replica is starting"))),
          }
        : null,
    );
    this.subscriptions = new Subscriptions(service, this.stats.watch);
    service.core.onEvents((mount, events) => this.subscriptions.publish(mount, events));
    this.tokens = new Tokens(service.core);
    this.limits = connectionLimits(config);
    this.admission = new Admission(this.limits, this.stats);
    this.access = new Access({
      sharedToken: config.token === undefined ? null : new TokenCheck(config.token),
      tokens: this.tokens,
      admission: this.admission,
      stats: this.stats,
      limits: this.limits,
      log: this.log,
      ops: {
        isOp: (op) => Object.hasOwn(OPS, op),
        isWrite: (op) => Object.hasOwn(OPS, op) && OPS[op]!.write,
        mountName: (id) => service.mounts.list().find((m) => m.id === id)?.name,
      },
    });
  }

  /** Tokens are on when --token is set or any token is stored; off, every connection may do anything (loopback only). */
  get authRequired(): boolean {
    return this.access.required;
  }

  static async start(config: MetadConfig): Promise<Metad> {
    // Another replica can trim the log between the check at start (restoreAtStart) and the join;
    // the database is then behind and, held open, cannot be replaced: start again, which restores.
    for (let attempt = 1; ; attempt++) {
      try {
        return await Metad.startOnce(config);
      } catch (err) {
        if (!(err instanceof StartupError && err.behindTrimmedLog) || attempt >= LIMITS.clusterJoinAttemptsMax) throw err;
        console.error(`metad: ${err.message}; starting again to restore the newest checkpoint (attempt ${attempt + 1} of ${LIMITS.clusterJoinAttemptsMax})`);
      }
    }
  }

  private static async startOnce(config: MetadConfig): Promise<Metad> {
    checkExposure(config);
    const tls = readTls(config);
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
    // A replica with no database yet starts from the cluster's newest checkpoint.
    if (config.cluster) {
      try {
        const objects = await openObjectStore(config.objectsUrl, { durability: config.durability });
        try {
          await restoreAtStart(config.cluster, dataDir, objects);
        } finally {
          await objects.close();
        }
      } catch (err) {
        lock.release();
        throw new StartupError(`cannot restore a checkpoint into ${dataDir}: ${(err as Error).message}`);
      }
    }
    let service: MetadataService;
    try {
      const storeOptions = { path: join(dataDir, "meta.db"), durability: config.durability, backgroundCheckpoints: true };
      service = new MetadataService(config.cluster ? new ClusterStore(storeOptions) : new SqliteStore(storeOptions), {
        resultCodec: wireResultCodec,
        ...(config.retention ? { retention: config.retention } : {}),
        ...(config.cluster ? { bootstrap: false } : {}),
      });
    } catch (err) {
      lock.release();
      throw new StartupError(`cannot open the metadata store in ${dataDir}: ${(err as Error).message}`);
    }
    // Off loopback, anyone who can reach the port could rewrite the namespace: tokens must be on.
    // Checked before the object store is touched, so a refused start leaves nothing behind.
    if (config.token === undefined && !isLoopbackHost(config.host) && new Tokens(service.core).count === 0) {
      service.close();
      lock.release();
      throw new StartupError(`listening on ${config.host} (not loopback) needs a shared token: set NOKV_TOKEN or --token (or stored tokens)`);
    }
    let objects: ObjectStore;
    try {
      objects = await openObjectStore(config.objectsUrl, { durability: config.durability });
    } catch (err) {
      service.close();
      lock.release();
      throw new StartupError(`cannot open the object store ${redactStoreUrl(config.objectsUrl)}: ${(err as Error).message}`);
    }
    let storeId: string;
    try {
      storeId = config.cluster
        ? await bindClusterStore(config.cluster, service, objects, (id) => writeDurably(config.objectsUrl, id))
        : await bindObjectStore(service, { url: objects.url, readId: () => readStoreId(objects), writeId: (id) => writeDurably(config.objectsUrl, id), hasBlocks: () => hasBlocks(objects) });
    } catch (err) {
      service.close();
      lock.release();
      await objects.close();
      throw new StartupError(`object store ${objects.url} for ${dataDir}: ${(err as Error).message}`);
    }
    const metad = new Metad(config, service, countingObjectStore(objects), lock, storeId);
    try {
      metad.listen(tls);
    } catch (err) {
      service.close();
      lock.release();
      await objects.close();
      const code = (err as { code?: string }).code;
      const why = code === "EADDRINUSE" ? "the port is in use" : (err as Error).message;
      throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${why}`);
    }
    if (!isLoopbackHost(config.host) && !config.tlsCertFile) {
      console.warn(`metad: listening on ${config.host} without TLS: tokens and metadata cross the network in clear (set --tls-cert and --tls-key)`);
    }
    if (config.cluster) {
      const { host, port } = metad.address;
      try {
        await config.cluster.beforeJoin?.();
        metad.cluster = await ClusterNode.start({
          config: config.cluster,
          address: config.cluster.advertise ?? `${host.includes(":") ? `[${host}]` : host}:${port}`,
          service,
          store: service.store as ClusterStore,
          objects: metad.objects,
          storeId,
          onError: (err) => metad.log.clusterEvent(String(err)),
        });
      } catch (err) {
        await metad.stop();
        const behind = err instanceof FsError && err.code === "ESTALE";
        throw new StartupError(`cannot join the cluster at ${config.cluster.etcd.join(",")}: ${(err as Error).message}`, behind);
      }
    }
    metad.sweepTimer = setInterval(() => metad.admission.sweep(), metad.admission.sweepIntervalMs());
    if (config.gcIntervalMs > 0) metad.gcTimer = setInterval(() => void metad.runGc().catch(() => {}), config.gcIntervalMs);
    return metad;
  }

  get address(): { host: string; port: number } {
    return { host: this.config.host, port: this.listener?.port ?? this.config.port };
  }

  private listen(tls: { cert: string; key: string } | undefined): void {
    const hooks: ConnectionHooks = {
      stats: this.stats,
      limits: this.limits,
      budget: this.stats.outbound,
      onRequest: (conn, request, reply) => this.handle(conn, request, reply),
      onHttp: (conn, request) => this.http(conn, request),
      onClose: (conn) => this.forget(conn),
    };
    this.listener = Bun.listen<Connection | undefined>({
      hostname: this.config.host,
      port: this.config.port,
      ...(tls ? { tls } : {}),
      socket: {
        open: (socket: Socket<Connection | undefined>) => {
          const conn = new Connection(socket as Socket<unknown>, hooks);
          if (this.stopping || !this.admission.admit(conn)) {
            if (this.stopping) this.stats.connections.refused++;
            socket.end();
            return;
          }
          socket.data = conn;
          this.stats.connections.accepted++;
        },
        data: (socket, data) => socket.data?.onData(data),
        drain: (socket) => socket.data?.flush(),
        close: (socket) => socket.data?.closed(),
        error: (socket) => socket.data?.closed(),
      },
    });
  }

  /** Every RPC request: authentication and authorization, then the op. */
  private handle(conn: Connection, request: WireRequest, reply: (r: WireResponse) => void): void {
    if (!this.access.admit(conn, request, reply)) return;
    if (LOCAL_OPS.has(request.op) && this.config.cluster) {
      // Token writes are catalog commands: built and appended like a group, on the catalog's leader.
      const started = performance.now();
      const cluster = this.cluster;
      const run = cluster ? cluster.commitGroup(() => runLocalOp(this.service, this.tokens, conn.grant!, request)) : Promise.reject(new FsError("EAGAIN", "replica is starting: not joined to the cluster yet"));
      void run
        .catch((err: unknown) => errorResponse(toFsError(err)))
        .then((response) => {
          this.stats.recordOp(request.op, (performance.now() - started) * 1000, !response.ok);
          reply(response);
          if (request.op === "token_revoke" && response.ok) this.access.dropGrantsOf((response.value as { id: string }).id);
        });
      return;
    }
    if (LOCAL_OPS.has(request.op)) {
      const started = performance.now();
      const response = runLocalOp(this.service, this.tokens, conn.grant!, request);
      this.stats.recordOp(request.op, (performance.now() - started) * 1000, !response.ok);
      reply(response);
      if (request.op === "token_revoke" && response.ok) this.access.dropGrantsOf((response.value as { id: string }).id);
      return;
    }
    this.committer.submit({ request, ctx: this.contextFor(conn), reply });
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
      durability: this.config.durability,
      storeId: this.storeId,
      subscribe: (args) => this.subscriptions.subscribe(conn, args),
      unsubscribe: (id) => this.subscriptions.unsubscribe(conn, id),
      runGc: () => this.runGc(),
      stats: () => this.statsJson(),
    };
  }

  private forget(conn: Connection): void {
    this.subscriptions.dropConnection(conn);
    this.admission.forget(conn);
  }

  /** One GC pass; concurrent callers share the pass already running. */
  runGc(): Promise<unknown> {
    if (this.config.cluster) return this.runClusterGc();
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
      sweepTempFiles: async () => (await this.objects.sweepTempFiles?.({ minAgeMs: LIMITS.tempFileMinAgeMs, dryRun: false }))?.deleted ?? 0,
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

  /** On a replica: metadata GC of the shards it leads, through the log (see ClusterNode). */
  private runClusterGc(): Promise<unknown> {
    if (!this.cluster) return Promise.reject(new FsError("EAGAIN", "replica is starting: not joined to the cluster yet"));
    if (this.gcRunning) return this.gcRunning;
    const logRetainVersions = this.config.retention?.logRetainVersions ?? LIMITS.logRetainVersions;
    this.gcRunning = this.cluster
      .collectMetadataGarbage(logRetainVersions)
      .then((report) => {
        this.stats.recordGc(report);
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
      rowCache: { hits: this.service.core.rows.hits, misses: this.service.core.rows.misses },
    });
  }

  private async http(conn: Connection, request: HttpRequest): Promise<HttpResponse> {
    const route = `${request.method} ${request.path}`;
    switch (route) {
      case "GET /healthz":
        return jsonResponse(200, { ok: true, shards: this.service.store.shards().map((s) => ({ shard: s.shard, version: s.version })) });
      case "GET /readyz": {
        if (this.stopping) return jsonResponse(503, { ready: false, reason: "stopping" });
        if (this.config.cluster) {
          // A replica that lags its logs, leads without a confirmed lease, or has not joined yet takes no traffic.
          const cluster = this.cluster ? this.cluster.readiness() : { ready: false, reasons: ["not joined to the cluster yet"] };
          if (!cluster.ready) return jsonResponse(503, { ready: false, reason: cluster.reasons.join("; "), cluster: this.cluster?.status() ?? null });
        }
        const readiness = await this.readiness.check();
        return jsonResponse(readiness.ready ? 200 : 503, readiness);
      }
      case "GET /metrics":
        return { status: 200, contentType: METRICS_CONTENT_TYPE, body: renderMetrics({ stats: this.stats, writes: this.service.store.counters, shards: this.service.store.shards(), dataDir: resolve(this.config.dataDir), objectStoreErrors: this.objects.errorCounts }) };
      case "GET /stats":
        return (await this.access.httpAdmin(conn, request)) ?? jsonResponse(200, this.statsJson());
      case "POST /gc": {
        const refused = await this.access.httpAdmin(conn, request);
        if (refused) return refused;
        try {
          return jsonResponse(200, await this.runGc());
        } catch (err) {
          return jsonResponse(500, { error: (err as Error).message });
        }
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
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.listener?.stop(false);
    await this.committer.whenIdle();
    await this.gcRunning?.catch(() => {});
    await this.cluster?.stop().catch(() => {});
    for (const conn of [...this.admission.all]) conn.close("server stopping");
    this.listener?.stop(true);
    this.service.close();
    this.lock.release();
    await this.objects.close();
  }
}

/** The store id is written once and every later start depends on it: fsynced whatever the durability. */
async function writeDurably(objectsUrl: string, id: string): Promise<void> {
  const store = await openObjectStore(objectsUrl, { durability: "full" });
  try {
    await writeStoreId(store, id);
  } finally {
    await store.close();
  }
}

/** A malformed --token fails at start, before anything is opened. */
function checkExposure(config: MetadConfig): void {
  if (config.token === undefined) return;
  try {
    new TokenCheck(config.token);
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

/** The certificate and key for TLS, read once at start; undefined without --tls-cert. */
function readTls(config: MetadConfig): { cert: string; key: string } | undefined {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return undefined;
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new StartupError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
    }
  };
  const cert = read("--tls-cert", config.tlsCertFile);
  const key = read("--tls-key", config.tlsKeyFile);
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) throw new StartupError(`--tls-cert ${config.tlsCertFile} holds no PEM certificate`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new StartupError(`--tls-key ${config.tlsKeyFile} holds no PEM private key`);
  return { cert, key };
}
