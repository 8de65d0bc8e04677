import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { connect, parseByteSize, parseServerUrls, type NoKVClient, type SnapshotView } from "../sdk/index.ts";
import { LIMITS } from "../types/index.ts";
import { UsageError } from "./errors.ts";

// What every data command shares: where the server is (--server / NOKV_SERVER), which mount
// (--mount / NOKV_MOUNT), whether output is for machines (--json), and one lazily opened client.

export const DEFAULT_SERVER = "nokv://127.0.0.1:7777";
export const DEFAULT_MOUNT = "default";

export interface GlobalOptions {
  server: string;
  mount: string;
  json: boolean;
  /** PEM file of the CA that signed metad's certificate, for nokvs:// (NOKV_CA). */
  ca?: string;
  /** The shared secret a metad off loopback requires; undefined when none is set. */
  token: string | undefined;
  /** The node cache directory (NOKV_CACHE_DIR); reads go through it when set. */
  cacheDir?: string;
  /** The node cache's size limit in bytes (NOKV_CACHE_MAX_BYTES). */
  cacheMaxBytes?: number;
}

/**
 * Adds the global options to `cmd`. They carry no commander defaults: a default on the
 * subcommand would hide a value given before the subcommand name (`nokv-fs --json ls`).
 */
export function withGlobalOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--server <url>", `metad address, nokv://HOST[:PORT], or nokvs://HOST[:PORT] for TLS (env NOKV_SERVER, default ${DEFAULT_SERVER})`))
    .addOption(new Option("--ca <file>", "PEM file of the CA that signed metad's TLS certificate, for nokvs:// (env NOKV_CA)"))
    .addOption(new Option("--mount <name>", `mount (namespace) to use (env NOKV_MOUNT, default ${DEFAULT_MOUNT})`))
    .addOption(new Option("--token <secret>", "token a metad off loopback requires (env NOKV_TOKEN; prefer the environment: arguments show in ps)"))
    .addOption(new Option("--json", "machine-readable output (one JSON document, or one per line for streams; errors as JSON on stderr)"))
    .addOption(new Option("--cache-dir <dir>", "node cache of blocks shared by every client on this machine (env NOKV_CACHE_DIR; see docs/cache.md)"))
    .addOption(new Option("--cache-max-bytes <size>", `node cache size limit, e.g. 50GiB (env NOKV_CACHE_MAX_BYTES, default ${LIMITS.nodeCacheDefaultMaxBytes / 2 ** 30} GiB)`));
}

export function globalOptions(cmd: Command, env: Record<string, string | undefined> = process.env): GlobalOptions {
  const opts = cmd.optsWithGlobals<{ server?: string; mount?: string; json?: boolean; ca?: string; token?: string; cacheDir?: string; cacheMaxBytes?: string }>();
  const ca = opts.ca ?? nonEmpty(env.NOKV_CA);
  const cacheDir = nonEmpty(opts.cacheDir) ?? nonEmpty(env.NOKV_CACHE_DIR);
  const maxText = nonEmpty(opts.cacheMaxBytes) ?? nonEmpty(env.NOKV_CACHE_MAX_BYTES);
  let cacheMaxBytes: number | undefined;
  try {
    cacheMaxBytes = maxText === undefined ? undefined : parseByteSize(maxText, "--cache-max-bytes");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    ...(cacheDir === undefined ? {} : { cacheDir }),
    ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }),
    server: opts.server ?? nonEmpty(env.NOKV_SERVER) ?? DEFAULT_SERVER,
    mount: opts.mount ?? nonEmpty(env.NOKV_MOUNT) ?? DEFAULT_MOUNT,
    json: opts.json === true,
    ...(ca === undefined ? {} : { ca }),
    token: nonEmpty(opts.token) ?? nonEmpty(env.NOKV_TOKEN),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** One command's view of the world: options, a client opened on first use, output helpers. */
export class CliContext {
  private client: Promise<NoKVClient> | null = null;

  constructor(readonly options: GlobalOptions) {}

  static of(cmd: Command): CliContext {
    return new CliContext(globalOptions(cmd));
  }

  get json(): boolean {
    return this.options.json;
  }

  connect(): Promise<NoKVClient> {
    try {
      parseServerUrls(this.options.server);
    } catch {
      throw new UsageError(`--server '${this.options.server}' is not nokv://HOST[:PORT] or nokvs://HOST[:PORT] (replicas: nokv://H1:P1,H2:P2,...)`);
    }
    const ca = this.caPem();
    const token = this.options.token;
    const { cacheDir, cacheMaxBytes } = this.options;
    this.client ??= connect(this.options.server, {
      mount: this.options.mount,
      ...(ca === undefined ? {} : { ca }),
      ...(token === undefined ? {} : { token }),
      ...(cacheDir === undefined ? {} : { cacheDir }),
      ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }),
    });
    return this.client;
  }

  /** The --ca file's contents, read once here so a missing file is a usage error that names it. */
  caPem(): Buffer | undefined {
    if (this.options.ca === undefined) return undefined;
    try {
      return readFileSync(this.options.ca);
    } catch (err) {
      throw new UsageError(`--ca ${this.options.ca}: ${(err as Error).message}`);
    }
  }

  /** The live namespace, or the read-only view of snapshot `snapshotId` when one is given. */
  async reader(snapshotId?: string): Promise<NoKVClient | SnapshotView> {
    const id = snapshotId === undefined ? null : parseSnapshotId(snapshotId);
    const client = await this.connect();
    return id === null ? client : client.openSnapshot(id);
  }

  /** Prints one JSON document on stdout (bigints as strings: JSON has no 64-bit integers). */
  printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  }

  printLines(lines: readonly string[]): void {
    if (lines.length > 0) process.stdout.write(`${lines.join("\n")}\n`);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await (await client.catch(() => null))?.close();
  }
}

export function parseSnapshotId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id < 1) throw new UsageError(`'${text}' is not a snapshot id (a positive integer)`);
  return id;
}

/** A remote path as the server wants it: absolute, no trailing slash except the root. */
export function remotePath(text: string): string {
  if (text === "") throw new UsageError("empty remote path");
  const absolute = text.startsWith("/") ? text : `/${text}`;
  const trimmed = absolute.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed.replace(/\/{2,}/g, "/");
}

export function parsePositiveInt(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`${name} must be a whole number 1..${max}, got '${text}'`);
  return n;
}
