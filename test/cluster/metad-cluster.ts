// Real metad processes (`bun src/server/main.ts --etcd ...`) over a real 3-member etcd, for the
// cluster tests and the failover benchmark: start, kill -9, SIGSTOP/SIGCONT, restart on the same
// port, wipe, and wait for /readyz.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

const MAIN = join(import.meta.dir, "../../src/server/main.ts");
const READY_LINE = /metad ready on (\S+):(\d+)/;

export interface MetadProcessOptions {
  replicaId: string;
  etcd: string[];
  root: string;
  dataDir: string;
  objectsUrl: string;
  /** Fixed port (a restart keeps it, so clients' replica lists stay right); 0 = pick one. */
  port?: number;
  extraArgs?: string[];
}

export class MetadProcess {
  port = 0;
  private proc: Subprocess<"ignore", "pipe", "pipe"> | null = null;
  output = "";

  constructor(readonly options: MetadProcessOptions) {
    this.port = options.port ?? 0;
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  /** Spawns metad and resolves with its port once it printed its ready line. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.proc) throw new Error(`${this.replicaId} already running`);
    mkdirSync(this.options.dataDir, { recursive: true });
    const args = [
      process.execPath, MAIN,
      "--listen", `127.0.0.1:${this.port}`,
      "--data", this.options.dataDir,
      "--objects", this.options.objectsUrl,
      "--gc-interval-ms", "0",
      "--etcd", this.options.etcd.join(","),
      "--replica-id", this.options.replicaId,
      "--etcd-root", this.options.root,
      ...(this.options.extraArgs ?? []),
    ];
    const proc = Bun.spawn(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env } });
    this.proc = proc;
    this.output = "";
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) this.output += decoder.decode(chunk);
    };
    void collect(proc.stderr);
    const stdout = collect(proc.stdout);
    const deadline = Date.now() + timeoutMs;
    while (!READY_LINE.test(this.output)) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await stdout.catch(() => undefined);
        this.proc = null;
        throw new Error(`metad ${this.replicaId} did not start (exit ${proc.exitCode}): ${this.output.slice(-2000)}`);
      }
      await Bun.sleep(20);
    }
    this.port = Number(READY_LINE.exec(this.output)![2]);
  }

  /** kill -9: no shutdown, no flush, no resign. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill("SIGKILL");
    await proc.exited;
    this.proc = null;
  }

  pause(): void {
    this.proc?.kill("SIGSTOP");
  }

  resume(): void {
    this.proc?.kill("SIGCONT");
  }

  /** SIGTERM: a clean stop (the data directory is then closed, for fsck). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill("SIGCONT");
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await proc.exited;
    clearTimeout(timer);
    this.proc = null;
  }

  wipe(): void {
    rmSync(this.options.dataDir, { recursive: true, force: true });
  }

  async readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://${this.address}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async stats(): Promise<Record<string, unknown>> {
    const res = await fetch(`http://${this.address}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return (await res.json()) as Record<string, unknown>;
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const r = await this.readyz();
        if (r.status === 200) return;
        last = JSON.stringify(r.body);
      } catch (err) {
        last = String(err);
      }
      await Bun.sleep(50);
    }
    throw new Error(`metad ${this.replicaId} not ready after ${timeoutMs} ms: ${last}\n${this.output.slice(-1500)}`);
  }
}

/** The URL naming every replica, as a client of a replicated metad uses it. */
export function clusterUrl(replicas: readonly MetadProcess[]): string {
  return `nokv://${replicas.map((r) => r.address).join(",")}`;
}
