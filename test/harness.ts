import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CONFIG, type MetadConfig } from "../src/server/config.ts";
import { Metad } from "../src/server/metad.ts";
import { FsError, connect, type ConnectOptions, type NoKVClient } from "../src/sdk/index.ts";

// A real metad on a real TCP port (chosen by the OS) over a temp directory, for end-to-end tests.

/** The errno code a promise rejects with, or "none"; anything but an FsError fails the test. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FsError) return err.code;
    throw err;
  }
  return "none";
}

export interface MetadHarness {
  metad: Metad;
  url: string;
  port: number;
  dir: string;
  client(options?: ConnectOptions): Promise<NoKVClient>;
  /** Stops metad and starts a new one on the same data and port, like a restart (`downMs` later: an outage). */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startMetad(overrides: Partial<MetadConfig> = {}): Promise<MetadHarness> {
  const dir = mkdtempSync(join(tmpdir(), "nokv-e2e-"));
  const config: MetadConfig = {
    ...DEFAULT_CONFIG,
    port: 0,
    dataDir: join(dir, "data"),
    objectsUrl: `file://${join(dir, "objects")}`,
    gcIntervalMs: 0,
    ...overrides,
  };
  let metad = await Metad.start(config);
  const port = metad.address.port;
  const clients: NoKVClient[] = [];
  const harness: MetadHarness = {
    metad,
    url: `nokv://127.0.0.1:${port}`,
    port,
    dir,
    async client(options = {}) {
      const c = await connect(harness.url, options);
      clients.push(c);
      return c;
    },
    async restart(downMs = 0) {
      await metad.stop();
      if (downMs > 0) await Bun.sleep(downMs);
      metad = await Metad.start({ ...config, port });
      harness.metad = metad;
    },
    async stop() {
      for (const c of clients) await c.close().catch(() => {});
      await metad.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
