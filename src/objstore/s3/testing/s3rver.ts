// Runs a real S3 server (s3rver) in a child Node process for the tests, on an ephemeral port with
// its own temp directory. It fails loudly when the server cannot start: an S3 suite that quietly
// ran nothing would be worse than none.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const MAIN = fileURLToPath(new URL("./s3rver-main.mjs", import.meta.url));

export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startS3rver(bucket = "nokv-test"): Promise<S3rverHandle> {
  const dir = mkdtempSync(join(tmpdir(), "nokv-s3rver-"));
  const child = spawn("node", ["--openssl-legacy-provider", MAIN, dir, bucket], { stdio: ["pipe", "pipe", "pipe"] });
  let port: number;
  try {
    port = await readPort(child);
  } catch (err) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const pid = child.pid!;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    pid,
    async stop() {
      await stopChild(child, pid);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`s3rver did not start: ${why}\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n")[0];
      if (!stdout.includes("\n") || line === undefined) return;
      clearTimeout(timer);
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === "number") resolve(port);
      else fail(`bad first line ${JSON.stringify(line)}`);
    });
    child.on("error", (err) => fail(err.message));
    child.on("exit", (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
  });
}

async function stopChild(child: ChildProcess, pid: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(pid, "SIGTERM");
  const timer = setTimeout(() => child.exitCode === null && process.kill(pid, "SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
