import { connect, type NoKVClient } from "../sdk/index.ts";
import { LIMITS } from "../types/index.ts";
import { failedPrecondition, invalidArgument } from "./errors.ts";

// Which metad a call talks to, and with which token: the CSI secrets of the call (a Kubernetes
// Secret the StorageClass names: keys `server` and `token`), else the driver's own defaults
// (--server / NOKV_SERVER, NOKV_TOKEN). Secrets are kept in memory and in the node's root-only
// state files, never written to a log or an error message.

export interface MetadTarget {
  server: string;
  token: string | undefined;
}

const SECRET_KEYS = new Set(["server", "token"]);

export function targetOf(secrets: Record<string, string> | undefined, defaults: MetadTarget): MetadTarget {
  const given = secrets ?? {};
  for (const key of Object.keys(given)) {
    // Only the key is named: the value may be a token.
    if (!SECRET_KEYS.has(key)) throw invalidArgument(`unknown secret key '${key}' (NoKV reads 'server' and 'token')`);
  }
  const server = given.server || defaults.server;
  const token = given.token || defaults.token;
  return { server, token };
}

/**
 * Open clients by (server, token, mount), at most LIMITS.csiMetadClientsMax (least recently used
 * closed first: one per whole-mount volume would otherwise grow without bound); all closed when
 * the driver stops.
 */
export class MetadPool {
  private readonly clients = new Map<string, Promise<NoKVClient>>();

  async client(target: MetadTarget, mount: string): Promise<NoKVClient> {
    const key = JSON.stringify([target.server, target.token ?? "", mount]);
    let client = this.clients.get(key);
    if (client) {
      // Most recently used last: the first entry is the one to close when the pool is full.
      this.clients.delete(key);
      this.clients.set(key, client);
      return client;
    }
    client = connect(target.server, { mount, requestTimeoutMs: LIMITS.csiMetadRequestTimeoutMs, cacheBytes: 0, ...(target.token ? { token: target.token } : {}) });
    this.clients.set(key, client);
    // A failed connect is not kept: the next call tries again.
    client.catch(() => this.clients.get(key) === client && this.clients.delete(key));
    if (this.clients.size > LIMITS.csiMetadClientsMax) {
      const [oldestKey, oldest] = this.clients.entries().next().value!;
      this.clients.delete(oldestKey);
      // A call still using it may fail and is retried by the CO; the pool stays bounded.
      void oldest.then((c) => c.close(), () => {});
    }
    return client;
  }

  /** A client of `mount`, creating the mount first when `create` (needs an admin token). */
  async mountClient(target: MetadTarget, mount: string, create: boolean): Promise<NoKVClient> {
    try {
      return await this.client(target, mount);
    } catch (err) {
      if (!create || (err as { code?: string }).code !== "ENOENT") throw err;
    }
    const any = await this.client(target, "default");
    try {
      await any.createMount(mount);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "EACCES" || code === "EPERM") throw failedPrecondition(`NoKV mount '${mount}' does not exist and this token may not create mounts (an admin token can; or create it: nokv-fs mounts create ${mount})`);
      if (code !== "EEXIST") throw err;
    }
    return this.client(target, mount);
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map(async (c) => (await c.catch(() => null))?.close()));
  }
}
