import type { GcRetention } from "../service/index.ts";
import type { Durability } from "../schema/index.ts";
import { LIMITS } from "../types/index.ts";
import { redactStoreUrl } from "../objstore/index.ts";
import { parseLogFormat, type LogFormat } from "./log.ts";

// metad's configuration: flags override environment variables override embedded defaults.

export interface MetadConfig {
  host: string;
  port: number;
  /** Directory holding the SQLite metadata store. */
  dataDir: string;
  /** Object store URL (file://DIR or s3://bucket[/prefix]?endpoint=...); default `<dataDir>/objects`. */
  objectsUrl: string;
  durability: Durability;
  /** Object and history GC runs this often; 0 turns the timer off (POST /gc still works). */
  gcIntervalMs: number;
  /**
   * Shared secret clients present in hello; every other op is EACCES until one does. Required to
   * listen on a non-loopback address. Never logged.
   */
  token?: string;
  /** Close connections idle (nothing in flight, no watch) this long; 0 never. */
  idleTimeoutMs: number;
  /** PEM certificate chain and key files: with both, the one port speaks TLS only (nokvs://). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** How metad's operational log lines are written (--log-format); "text" by default. */
  logFormat?: LogFormat;
  /** Connection limits, LIMITS by default; tests lower them to cross them cheaply. */
  limits?: Partial<ConnectionLimits>;
  /** How much of the watch, dedupe and command logs GC keeps; tests shorten it. */
  retention?: Partial<GcRetention>;
  /** Replication through etcd (docs/cluster.md); absent: the single-node embedded default. */
  cluster?: ClusterConfig;
}

export interface ClusterConfig {
  /** etcd client URLs (--etcd, comma-separated). */
  etcd: string[];
  /** This replica's identity, unique in the cluster and stable across restarts (--replica-id). */
  replicaId: string;
  /** host:port clients reach this metad at (--advertise); default the listen address. */
  advertise?: string;
  /** The cluster's key prefix in etcd (--etcd-root, default /nokv). */
  root: string;
  /** Shards (mount ids; 0 is the catalog) this replica campaigns for first (--prefer-lead). */
  preferLead?: number[];
  /** How often this replica checkpoints to the object store; 0 never (--checkpoint-interval-ms). */
  checkpointIntervalMs?: number;
  /** Tests only: runs after the trimmed-log check at start and before joining (to trim the log in between). */
  beforeJoin?: () => Promise<void>;
}

export interface ConnectionLimits {
  connectionsMax: number;
  connectionsPerAddressMax: number;
  preAuthConnectionsMax: number;
  preAuthPerAddressMax: number;
  inFlightPerConnectionMax: number;
  connectionExecutingMax: number;
  connectionExecutingReplyBytesMax: number;
  connectionInboundPauseBytes: number;
  connectionOutboundMaxBytes: number;
  connectionOutboundPauseBytes: number;
  outboundTotalMaxBytes: number;
  connectionWriteChunkBytes: number;
  connectionOutboundStallTimeoutMs: number;
  partialFrameTimeoutMs: number;
  authDeadlineMs: number;
  authFailuresPerConnectionMax: number;
  authFailureDelayMs: number;
  authFailureDelayMaxMs: number;
}

/** The connection limits in force: LIMITS, with the idle timeout from the config, under overrides. */
export function connectionLimits(config: MetadConfig): ConnectionLimits & { idleTimeoutMs: number } {
  return {
    connectionsMax: LIMITS.connectionsMax,
    connectionsPerAddressMax: LIMITS.connectionsPerAddressMax,
    preAuthConnectionsMax: LIMITS.preAuthConnectionsMax,
    preAuthPerAddressMax: LIMITS.preAuthPerAddressMax,
    inFlightPerConnectionMax: LIMITS.inFlightPerConnectionMax,
    connectionExecutingMax: LIMITS.connectionExecutingMax,
    connectionExecutingReplyBytesMax: LIMITS.connectionExecutingReplyBytesMax,
    connectionInboundPauseBytes: LIMITS.connectionInboundPauseBytes,
    connectionOutboundMaxBytes: LIMITS.connectionOutboundMaxBytes,
    connectionOutboundPauseBytes: LIMITS.connectionOutboundPauseBytes,
    outboundTotalMaxBytes: LIMITS.outboundTotalMaxBytes,
    connectionWriteChunkBytes: LIMITS.connectionWriteChunkBytes,
    connectionOutboundStallTimeoutMs: LIMITS.connectionOutboundStallTimeoutMs,
    partialFrameTimeoutMs: LIMITS.partialFrameTimeoutMs,
    authDeadlineMs: LIMITS.authDeadlineMs,
    authFailuresPerConnectionMax: LIMITS.authFailuresPerConnectionMax,
    authFailureDelayMs: LIMITS.authFailureDelayMs,
    authFailureDelayMaxMs: LIMITS.authFailureDelayMaxMs,
    ...config.limits,
    idleTimeoutMs: config.idleTimeoutMs,
  };
}

export const DEFAULT_CONFIG: MetadConfig = {
  host: "127.0.0.1",
  port: 7777,
  dataDir: "./.nokv",
  objectsUrl: "file://./.nokv/objects",
  durability: "normal",
  gcIntervalMs: 60_000,
  idleTimeoutMs: LIMITS.connectionIdleTimeoutMs,
};

/** Objects live beside the metadata they belong to, so two data directories never share a store by accident. */
export function defaultObjectsUrl(dataDir: string): string {
  return `file://${dataDir.replace(/\/+$/, "")}/objects`;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const FLAGS: Record<string, { env: string; apply: (c: MetadConfig, v: string) => void }> = {
  "--listen": { env: "NOKV_LISTEN", apply: (c, v) => Object.assign(c, parseListen(v)) },
  "--data": { env: "NOKV_DATA", apply: (c, v) => (c.dataDir = nonEmpty("--data", v)) },
  "--objects": { env: "NOKV_OBJECTS", apply: (c, v) => (c.objectsUrl = parseObjects(v)) },
  "--durability": { env: "NOKV_DURABILITY", apply: (c, v) => (c.durability = parseDurability(v)) },
  "--gc-interval-ms": { env: "NOKV_GC_INTERVAL_MS", apply: (c, v) => (c.gcIntervalMs = parseInterval(v)) },
  "--token": { env: "NOKV_TOKEN", apply: (c, v) => (c.token = nonEmpty("--token", v)) },
  "--idle-timeout-ms": { env: "NOKV_IDLE_TIMEOUT_MS", apply: (c, v) => (c.idleTimeoutMs = parseInterval(v)) },
  "--tls-cert": { env: "NOKV_TLS_CERT", apply: (c, v) => (c.tlsCertFile = nonEmpty("--tls-cert", v)) },
  "--tls-key": { env: "NOKV_TLS_KEY", apply: (c, v) => (c.tlsKeyFile = nonEmpty("--tls-key", v)) },
  "--log-format": { env: "NOKV_LOG_FORMAT", apply: (c, v) => (c.logFormat = parseLogFormat(v) ?? badLogFormat(v)) },
  "--etcd": { env: "NOKV_ETCD", apply: (c, v) => (clusterOf(c).etcd = parseEtcd(v)) },
  "--replica-id": { env: "NOKV_REPLICA_ID", apply: (c, v) => (clusterOf(c).replicaId = parseReplicaId(v)) },
  "--advertise": { env: "NOKV_ADVERTISE", apply: (c, v) => (clusterOf(c).advertise = parseAdvertise(v)) },
  "--etcd-root": { env: "NOKV_ETCD_ROOT", apply: (c, v) => (clusterOf(c).root = parseRoot(v)) },
  "--prefer-lead": { env: "NOKV_PREFER_LEAD", apply: (c, v) => (clusterOf(c).preferLead = parseShardList(v)) },
  "--checkpoint-interval-ms": { env: "NOKV_CHECKPOINT_INTERVAL_MS", apply: (c, v) => (clusterOf(c).checkpointIntervalMs = parseInterval(v)) },
};

/** The cluster section, made on the first cluster flag; checked whole once parsing ends. */
function clusterOf(c: MetadConfig): ClusterConfig {
  c.cluster ??= { etcd: [], replicaId: "", root: "/nokv" };
  return c.cluster;
}

function parseEtcd(value: string): string[] {
  const urls = value.split(",").map((u) => u.trim()).filter((u) => u !== "");
  if (urls.length === 0) throw new Error("no etcd URL given");
  for (const url of urls) if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) throw new Error(`'${url}' is not an etcd client URL (http://HOST:PORT)`);
  return urls;
}

function parseReplicaId(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value)) throw new Error(`'${value}' is not a replica id (letters, digits, '_', '.', '-'; at most 64)`);
  return value;
}

function parseAdvertise(value: string): string {
  const { host, port } = parseListen(value);
  if (port === 0) throw new Error(`'${value}' advertises port 0; give the port clients connect to`);
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function parseRoot(value: string): string {
  if (!/^\/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$/.test(value)) throw new Error(`'${value}' is not an etcd key root like /nokv`);
  return value;
}

function parseShardList(value: string): number[] {
  return value.split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`'${s}' is not a mount id`);
    return n;
  });
}

export const USAGE = `usage: metad [--listen HOST:PORT] [--data DIR] [--objects URL] [--durability normal|full] [--gc-interval-ms MS] [--token T]
             [--idle-timeout-ms MS] [--tls-cert FILE --tls-key FILE] [--log-format text|json]
             [--etcd URLS --replica-id ID [--advertise HOST:PORT] [--etcd-root /nokv] [--prefer-lead MOUNTS]]
  --listen        address to serve RPC and HTTP on (env NOKV_LISTEN, default 127.0.0.1:7777)
  --data          metadata directory (env NOKV_DATA, default ./.nokv)
  --objects       object store: file://DIR or s3://bucket[/prefix]?endpoint=URL&region=R
                  (env NOKV_OBJECTS, default file://DATA/objects, beside --data)
  --durability    normal: a process crash loses nothing acknowledged; full: power loss neither
                  (env NOKV_DURABILITY, default normal)
  --gc-interval-ms  object and history GC period, 0 for manual only (env NOKV_GC_INTERVAL_MS, default 60000)
  --token         shared secret clients present in hello, and POST /gc as "Authorization: Bearer";
                  required off loopback (env NOKV_TOKEN, preferred: flags show in ps); it is an
                  admin token: \`nokv-fs token create\` makes scoped ones
  --idle-timeout-ms  close connections with nothing in flight and no watch after this long, 0 never
                  (env NOKV_IDLE_TIMEOUT_MS, default ${LIMITS.connectionIdleTimeoutMs})
  --tls-cert      PEM certificate (chain) file: with --tls-key the port speaks TLS only, clients use
                  nokvs:// (env NOKV_TLS_CERT)
  --tls-key       PEM private key file for --tls-cert (env NOKV_TLS_KEY)
  --log-format    text, or json: one JSON object per line for auth failures, GC errors and
                  slow operations (env NOKV_LOG_FORMAT, default text)
  --etcd          replicate every mount through etcd: client URLs, comma-separated (env NOKV_ETCD;
                  absent: one metad, no etcd). See docs/operations.md, "Three nodes"
  --replica-id    this replica's name, unique and stable across restarts (env NOKV_REPLICA_ID)
  --advertise     HOST:PORT clients are redirected to for this replica (env NOKV_ADVERTISE,
                  default the --listen address)
  --etcd-root     key prefix of this cluster in etcd (env NOKV_ETCD_ROOT, default /nokv)
  --prefer-lead   mount ids (0 = catalog) this replica campaigns for first (env NOKV_PREFER_LEAD)
  --checkpoint-interval-ms  checkpoint to the object store this often, 0 never
                  (env NOKV_CHECKPOINT_INTERVAL_MS, default ${LIMITS.checkpointIntervalDefaultMs})`;

function badLogFormat(v: string): never {
  throw new Error(`'${v}' is not a log format (text or json)`);
}

/** Reads flags (`--flag value` or `--flag=value`) over environment variables over defaults. */
export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): MetadConfig {
  const config = { ...DEFAULT_CONFIG };
  for (const [flag, spec] of Object.entries(FLAGS)) {
    const value = env[spec.env];
    if (value !== undefined && value !== "") apply(spec, config, value, spec.env);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const spec = FLAGS[flag];
    if (!spec) throw new ConfigError(`unknown argument '${arg}'\n${USAGE}`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`${flag} needs a value\n${USAGE}`);
    apply(spec, config, value, flag);
  }
  if (!objectsGiven(argv, env)) config.objectsUrl = defaultObjectsUrl(config.dataDir);
  if (config.cluster) {
    if (config.cluster.etcd.length === 0) throw new ConfigError(`cluster flags need --etcd URLS\n${USAGE}`);
    if (config.cluster.replicaId === "") throw new ConfigError(`--etcd needs --replica-id ID (unique per replica)\n${USAGE}`);
    // Redirects hand this address to clients: a wildcard listen address reaches nobody.
    if (config.cluster.advertise === undefined && ["0.0.0.0", "::", ""].includes(config.host)) {
      throw new ConfigError(`--listen ${config.host}:${config.port} is every interface: give --advertise HOST:PORT, the address clients reach this replica at\n${USAGE}`);
    }
  }
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    throw new ConfigError(`--tls-cert and --tls-key go together\n${USAGE}`);
  }
  return config;
}

function objectsGiven(argv: readonly string[], env: Record<string, string | undefined>): boolean {
  return (env.NOKV_OBJECTS !== undefined && env.NOKV_OBJECTS !== "") || argv.some((arg) => arg === "--objects" || arg.startsWith("--objects="));
}

function apply(spec: (typeof FLAGS)[string], config: MetadConfig, value: string, source: string): void {
  try {
    spec.apply(config, value);
  } catch (err) {
    throw new ConfigError(`${source}: ${(err as Error).message}`);
  }
}

function nonEmpty(flag: string, v: string): string {
  if (v.trim() === "") throw new Error(`${flag} is empty`);
  return v;
}

export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  if (!match) throw new Error(`'${value}' is not HOST:PORT`);
  const port = Number(match[3]);
  if (port > 65_535) throw new Error(`port ${port} is out of range`);
  return { host: match[1] ?? (match[2] || "127.0.0.1"), port };
}

function parseObjects(value: string): string {
  if (!/^(file|s3):\/\/./.test(value)) throw new Error(`'${redactStoreUrl(value)}' is not file://DIR or s3://BUCKET[/prefix]`);
  return value;
}

function parseDurability(value: string): Durability {
  if (value !== "normal" && value !== "full") throw new Error(`'${value}' is not normal or full`);
  return value;
}

function parseInterval(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`'${value}' is not a whole number of milliseconds`);
  return ms;
}
