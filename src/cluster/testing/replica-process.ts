// Drives replica-main.ts as a child process: start, kill -9, SIGSTOP/SIGCONT, and its reports.
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { ReplicaMainArgs } from "./replica-main.ts";

export interface ReplicaEvent {
  ev: string;
  shard?: number;
  epoch?: number;
  first?: number;
  last?: number;
  atMs?: number;
  message?: string;
}

const MAIN = join(import.meta.dir, "replica-main.ts");
const STOP_TIMEOUT_MS = 10_000;

export class ReplicaProcess {
  readonly events: ReplicaEvent[] = [];
  private proc: Subprocess<"ignore", "pipe", "inherit"> | null = null;
  private reading: Promise<void> | null = null;

  constructor(readonly args: ReplicaMainArgs) {}

  get replicaId(): string {
    return this.args.replicaId;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  start(): void {
    if (this.proc) throw new Error(`replica ${this.replicaId} already running`);
    const proc = Bun.spawn([process.execPath, MAIN, JSON.stringify(this.args)], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    this.proc = proc;
    this.reading = (async () => {
      let buffered = "";
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.startsWith("{")) this.events.push(JSON.parse(line) as ReplicaEvent);
        }
      }
    })();
  }

  async waitFor(predicate: (e: ReplicaEvent) => boolean, timeoutMs: number, what = "an event"): Promise<ReplicaEvent> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (performance.now() > deadline) throw new Error(`replica ${this.replicaId}: no ${what} after ${timeoutMs} ms`);
      await Bun.sleep(5);
    }
  }

  acks(): ReplicaEvent[] {
    return this.events.filter((e) => e.ev === "ack");
  }

  /** kill -9: no lease revoke, no goodbye, as when its machine dies. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    process.kill(proc.pid, "SIGKILL");
    await proc.exited;
    await this.reading;
    this.proc = null;
  }

  pause(): void {
    if (this.proc) process.kill(this.proc.pid, "SIGSTOP");
  }

  resume(): void {
    if (this.proc) process.kill(this.proc.pid, "SIGCONT");
  }

  /** SIGTERM: the write loop ends, the replica stops and revokes its lease. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    process.kill(proc.pid, "SIGCONT");
    process.kill(proc.pid, "SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(STOP_TIMEOUT_MS).then(() => false)]);
    if (!exited) process.kill(proc.pid, "SIGKILL");
    await proc.exited;
    await this.reading;
    this.proc = null;
  }
}
