// Starts a real metad (under Bun, as users run it) for the Node tests and stops it by PID.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export async function startMetadProcess() {
  const dir = mkdtempSync(join(tmpdir(), "nokv-node-"));
  const child = spawn(join(root, "node_modules", ".bin", "bun"), [
    join(root, "src", "server", "main.ts"),
    "--listen", "127.0.0.1:0",
    "--data", join(dir, "data"),
    "--objects", `file://${join(dir, "objects")}`,
    "--gc-interval-ms", "0",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`metad did not start: ${output}`)), 15_000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /ready on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("exit", (code) => reject(new Error(`metad exited with ${code}: ${output}`)));
  });
  return {
    url: `nokv://127.0.0.1:${port}`,
    objectsDir: join(dir, "objects"),
    async stop() {
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGTERM");
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
