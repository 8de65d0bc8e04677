import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Subprocess } from "bun";
import { csiClients } from "../../src/csi/proto.ts";
import { runUmount } from "../../src/fuse/mount-main.ts";
import { fuseSkipReason } from "../fuse/fuse-harness.ts";

// The CSI driver as the CO sees it: a separate process (`bun src/cli/main.ts csi ...`) on a unix
// socket, talked to over gRPC. This test process serves metad, so everything that touches a
// FUSE mount runs elsewhere: the driver, its mount processes, and spawned shell commands.

const CLI_MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");
const READY_TIMEOUT_MS = 15_000;

/** Why the node service cannot be tested here (it mounts FUSE), or null. */
export function csiSkipReason(): string | null {
  const fuse = fuseSkipReason();
  return fuse ? fuse.replace("FUSE tests", "CSI node tests (FUSE mounts)") : null;
}

export interface DriverProcess {
  socket: string;
  endpoint: string;
  stateDir: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  /** SIGTERM and wait (the driver's FUSE mounts stay, as after a crash of the driver). */
  stop(): Promise<number>;
  /** SIGKILL: the driver dies at once. */
  kill(): Promise<void>;
}

export async function startDriver(options: { server: string; dir?: string; stateDir?: string; mode?: "all" | "controller" | "node"; env?: Record<string, string> }): Promise<DriverProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "nokv-csi-"));
  const socket = join(dir, "csi.sock");
  const stateDir = options.stateDir ?? join(dir, "state");
  const proc = Bun.spawn([process.execPath, CLI_MAIN, "csi", "--endpoint", `unix://${socket}`, "--node-id", "test-node", "--state-dir", stateDir, "--server", options.server, "--mode", options.mode ?? "all"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...options.env },
  });
  let log = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) log += decoder.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!log.includes(" serving ")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`csi driver did not start:\n${log}`);
    await Bun.sleep(50);
  }
  return {
    socket,
    endpoint: `unix://${socket}`,
    stateDir,
    proc,
    output: () => log,
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => null)]);
      if (exited === null) proc.kill("SIGKILL");
      const code = await proc.exited;
      // A directory this harness made is its to remove (a caller's dir, with mounts, is not).
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

type Unary = (request: object, callback: (err: grpc.ServiceError | null, reply: unknown) => void) => void;

/** A CO-side client: `await csi.call("Controller", "CreateVolume", {...})`. */
export class CsiClient {
  private readonly stubs: Record<string, grpc.Client>;

  constructor(endpoint: string) {
    const clients = csiClients();
    const address = endpoint.replace(/^unix:\/\//, "unix:");
    this.stubs = Object.fromEntries((["Identity", "Controller", "Node"] as const).map((name) => [name, new clients[name](address, grpc.credentials.createInsecure())]));
  }

  call<T = Record<string, unknown>>(service: "Identity" | "Controller" | "Node", method: string, request: object = {}): Promise<T> {
    const stub = this.stubs[service] as unknown as Record<string, Unary>;
    return new Promise((resolve, reject) => stub[method]!.call(stub, request, (err, reply) => (err ? reject(err) : resolve(reply as T))));
  }

  /** The gRPC status name a call fails with, or "OK". */
  async code(service: "Identity" | "Controller" | "Node", method: string, request: object = {}): Promise<string> {
    try {
      await this.call(service, method, request);
      return "OK";
    } catch (err) {
      return grpc.status[(err as grpc.ServiceError).code] ?? String(err);
    }
  }

  close(): void {
    for (const stub of Object.values(this.stubs)) stub.close();
  }
}

export function csiSanityScript(): string | null {
  const script = resolve(import.meta.dir, "../../../shared/tools/csi-sanity.sh");
  return existsSync(script) ? script : null;
}

/**
 * After a test, whatever it left: the mount processes the driver recorded are killed and every
 * mount under `dir` is detached (deepest first), so a failed test leaves no mount behind.
 */
export async function cleanupMounts(dir: string, stateDir: string): Promise<void> {
  const volumes = join(stateDir, "volumes");
  if (existsSync(volumes)) {
    for (const file of readdirSync(volumes).filter((f) => f.endsWith(".json"))) {
      const { pid } = JSON.parse(readFileSync(join(volumes, file), "utf8")) as { pid: number };
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  const mounted = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounted) await runUmount(m).catch(() => {});
}
