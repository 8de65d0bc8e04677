// Throughput and latency of async operations run with a fixed number in flight.

export interface RunResult {
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
}

/** Runs `total` calls of `fn`, keeping `inFlight` outstanding; each call counts `itemsPerCall` items. */
export async function runConcurrent(total: number, inFlight: number, fn: (i: number) => Promise<unknown>, itemsPerCall = 1): Promise<RunResult> {
  const latencies = new Float64Array(total);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await fn(i);
      latencies[i] = (performance.now() - t0) * 1000;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  const elapsedMs = performance.now() - started;
  latencies.sort();
  return {
    ops: total * itemsPerCall,
    elapsedMs,
    opsPerSec: (total * itemsPerCall * 1000) / elapsedMs,
    p50Us: latencies[Math.floor(total * 0.5)]!,
    p99Us: latencies[Math.min(total - 1, Math.floor(total * 0.99))]!,
  };
}

/** Spawns a child that prints `ready on HOST:PORT`; returns its port and a stop function. */
export async function spawnServer(cmd: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
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
