import type { Subprocess } from "bun";
import { createServer } from "node:net";
import { join } from "node:path";

// metad as a child process on a fixed port, for tests that kill it (SIGKILL) and start it again.

export const METAD_MAIN = join(import.meta.dir, "..", "..", "src", "server", "main.ts");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface MetadChild {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything it printed so far. */
  output(): string;
}

/** Starts metad and resolves once it logged its ready line; rejects if it exits first. */
export async function spawnMetad(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<MetadChild> {
  const proc = Bun.spawn([process.execPath, METAD_MAIN, "--gc-interval-ms", "0", ...args], {
    stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env },
  });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + timeoutMs;
  while (!text.includes("ready on")) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`metad exited before ready: ${text}`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`metad not ready within ${timeoutMs} ms: ${text}`);
    }
    await Bun.sleep(10);
  }
  return { proc, output: () => text };
}
