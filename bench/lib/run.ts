// Throughput and latency of operations run with a fixed number in flight, and the child
// processes (metad, peers) the benches talk to.

export interface RunResult {
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
}

export interface RunOptions {
  /** Items one call counts (256 for a batch of 256 creates). */
  itemsPerCall?: number;
  /** Called with the calls done so far, at most once per call. */
  onProgress?: (doneCalls: number, totalCalls: number) => void;
}

/** Runs `total` calls of `fn`, keeping `inFlight` outstanding. `options` may be the old itemsPerCall number. */
export async function runConcurrent(total: number, inFlight: number, fn: (i: number) => Promise<unknown>, options: RunOptions | number = {}): Promise<RunResult> {
  const { itemsPerCall = 1, onProgress } = typeof options === "number" ? { itemsPerCall: options } : options;
  const latencies = new Float64Array(total);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await fn(i);
      latencies[i] = (performance.now() - t0) * 1000;
      onProgress?.(++done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  return summarize(latencies, performance.now() - started, itemsPerCall);
}

/** Runs `total` synchronous calls of `fn` one after another (the in-process floors). */
export function runSync(total: number, fn: (i: number) => unknown, itemsPerCall = 1): RunResult {
  const latencies = new Float64Array(total);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const t0 = performance.now();
    fn(i);
    latencies[i] = (performance.now() - t0) * 1000;
  }
  return summarize(latencies, performance.now() - started, itemsPerCall);
}

function summarize(latencies: Float64Array, elapsedMs: number, itemsPerCall: number): RunResult {
  const total = latencies.length;
  latencies.sort();
  return {
    ops: total * itemsPerCall,
    elapsedMs,
    opsPerSec: (total * itemsPerCall * 1000) / elapsedMs,
    p50Us: latencies[Math.floor(total * 0.5)] ?? 0,
    p99Us: latencies[Math.min(total - 1, Math.floor(total * 0.99))] ?? 0,
  };
}

export interface ChildServer {
  port: number;
  stop: () => Promise<void>;
}

/** Spawns a child that prints `ready on HOST:PORT`; returns its port and a stop function. */
export async function spawnServer(cmd: string[]): Promise<ChildServer> {
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before it was ready: ${text}`);
    text += new TextDecoder().decode(value);
    const match = /ready on [^\s]*:(\d+)/.exec(text);
    if (match) {
      reader.releaseLock();
      return {
        port: Number(match[1]),
        stop: async () => {
          child.kill("SIGTERM");
          await child.exited;
        },
      };
    }
  }
}

/** metad on `dataDir` with file:// objects in `objectsDir`, GC only on request. */
export function spawnMetad(dataDir: string, objectsDir: string): Promise<ChildServer> {
  const main = new URL("../../src/server/main.ts", import.meta.url).pathname;
  return spawnServer([process.execPath, main, "--listen", "127.0.0.1:0", "--data", dataDir, "--objects", `file://${objectsDir}`, "--gc-interval-ms", "0"]);
}

/** The transport floor server (bench/peers/echo-server.ts). */
export function spawnEcho(): Promise<ChildServer> {
  return spawnServer([process.execPath, new URL("../peers/echo-server.ts", import.meta.url).pathname, "0"]);
}

/** A random permutation of 0..n-1. */
export function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
