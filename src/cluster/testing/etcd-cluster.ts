// A real etcd cluster for tests and benchmarks: N members on loopback, OS-assigned ports, a temp
// data directory each, started and stopped by PID. Tests call etcdSkipReason() first and skip with
// that reason where etcd is not installed (.ci/run installs Debian's etcd-server).
import { createServer } from "node:net";
import { mkdtempSync, rmSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logPath: string;
  proc: Subprocess | null;
  pid: number;
}

const ETCD_HEALTHY_TIMEOUT_MS = 30_000;
const ETCD_STOP_TIMEOUT_MS = 5_000;

/** Why etcd tests cannot run here, or null when they can. */
export function etcdSkipReason(): string | null {
  return Bun.which("etcd") ? null : "etcd is not installed (Debian: apt-get install etcd-server; .ci/run installs it)";
}

/**
 * `count` distinct ports the OS just handed out and took back: all are held until all are known,
 * so one start never gets the same port twice; another process may still grab one (start retries).
 */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    })),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === "object" && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Starts that lost a port race to another process before giving up. */
const START_ATTEMPTS = 3;

const live = new Set<EtcdCluster>();
process.once("exit", () => {
  for (const cluster of live) cluster.killAllNow();
});

export class EtcdCluster {
  private constructor(
    readonly dir: string,
    readonly members: EtcdMember[],
    private readonly token: string,
  ) {}

  static async start(options: { members?: number; extraArgs?: string[] } = {}): Promise<EtcdCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = await EtcdCluster.startOnce(options.members ?? 3, options.extraArgs ?? []);
      try {
        await Promise.all(cluster.members.map((_, i) => cluster.waitHealthy(i)));
        return cluster;
      } catch (err) {
        await cluster.stop();
        if (attempt >= START_ATTEMPTS || !/address already in use/.test(String(err))) throw err;
      }
    }
  }

  private static async startOnce(count: number, extraArgs: string[]): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), "nokv-etcd-"));
    const ports = await freePorts(2 * count);
    const members: EtcdMember[] = Array.from({ length: count }, (_, i) => ({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
      peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: join(dir, `m${i}`),
      logPath: join(dir, `m${i}.log`),
      proc: null,
      pid: 0,
    }));
    const cluster = new EtcdCluster(dir, members, `nokv-${process.pid}-${Date.now()}`);
    live.add(cluster);
    cluster.extraArgs = extraArgs;
    for (let i = 0; i < count; i++) cluster.spawn(i, "new");
    return cluster;
  }

  private extraArgs: string[] = [];

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private spawn(index: number, state: "new" | "existing"): void {
    const m = this.members[index]!;
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    const log = openSync(m.logPath, "a");
    m.proc = Bun.spawn(
      [
        "etcd",
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=${m.clientUrl}`,
        `--advertise-client-urls=${m.clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${this.token}`,
        "--logger=zap",
        "--log-level=warn",
        ...this.extraArgs,
      ],
      { stdout: log, stderr: log, stdin: "ignore" },
    );
    closeSync(log);
    m.pid = m.proc.pid;
  }

  /** Waits until the member answers /health with a leader. */
  async waitHealthy(index: number, timeoutMs = ETCD_HEALTHY_TIMEOUT_MS): Promise<void> {
    const m = this.members[index]!;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (m.proc?.exitCode !== null && m.proc?.exitCode !== undefined) {
        throw new Error(`etcd member ${m.name} exited (${m.proc.exitCode}); log: ${await Bun.file(m.logPath).text()}`);
      }
      try {
        const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok && ((await res.json()) as { health?: string }).health === "true") return;
      } catch {
        // Not listening yet.
      }
      await Bun.sleep(50);
    }
    throw new Error(`etcd member ${m.name} not healthy after ${timeoutMs} ms; log: ${await Bun.file(m.logPath).text()}`);
  }

  /** SIGKILL: the member vanishes mid-whatever, as on a lost machine. */
  async kill(index: number): Promise<void> {
    const m = this.members[index]!;
    if (!m.proc) return;
    process.kill(m.pid, "SIGKILL");
    await m.proc.exited;
    m.proc = null;
  }

  pause(index: number): void {
    process.kill(this.members[index]!.pid, "SIGSTOP");
  }

  resume(index: number): void {
    process.kill(this.members[index]!.pid, "SIGCONT");
  }

  /** Starts a killed member again on its data directory. */
  async restart(index: number): Promise<void> {
    if (this.members[index]!.proc) throw new Error(`etcd member ${index} is running`);
    this.spawn(index, "existing");
    await this.waitHealthy(index);
  }

  /** The member etcd currently has as raft leader (index), or -1. */
  async leaderIndex(): Promise<number> {
    for (const [i, m] of this.members.entries()) {
      if (!m.proc) continue;
      try {
        const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1_000) });
        const json = (await res.json()) as { leader?: string; header?: { member_id?: string } };
        if (json.leader && json.leader === json.header?.member_id) return i;
      } catch {
        // Try the next member.
      }
    }
    return -1;
  }

  killAllNow(): void {
    for (const m of this.members) {
      if (!m.proc) continue;
      try {
        process.kill(m.pid, "SIGCONT");
        process.kill(m.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }

  async stop(): Promise<void> {
    live.delete(this);
    await Promise.all(
      this.members.map(async (m) => {
        if (!m.proc) return;
        try {
          process.kill(m.pid, "SIGCONT");
          process.kill(m.pid, "SIGTERM");
        } catch {
          return;
        }
        const stopped = await Promise.race([m.proc.exited.then(() => true), Bun.sleep(ETCD_STOP_TIMEOUT_MS).then(() => false)]);
        if (!stopped) process.kill(m.pid, "SIGKILL");
        await m.proc.exited;
        m.proc = null;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
