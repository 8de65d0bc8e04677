import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// metad as users run it: a process with flags, one ready line, clear failures, clean SIGTERM.

const main = join(import.meta.dir, "..", "..", "src", "server", "main.ts");
const dir = mkdtempSync(join(tmpdir(), "nokv-proc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn([process.execPath, main, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

describe("metad process", () => {
  test("starts, logs one ready line, serves, and exits 0 on SIGTERM", async () => {
    const child = Bun.spawn([process.execPath, main, "--listen", "127.0.0.1:0", "--data", join(dir, "ok")], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    let text = "";
    while (!/ready on/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const port = Number(/ready on 127\.0\.0\.1:(\d+)/.exec(text)![1]);
    expect(text).toContain("normal durability");
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });

  test("a port in use is a clear error and a non-zero exit", async () => {
    const blocker = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = await run(["--listen", `127.0.0.1:${blocker.port}`, "--data", join(dir, "busy")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("port is in use");
    } finally {
      blocker.stop(true);
    }
  });

  test("an unusable data directory is a clear error", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    const r = await run(["--listen", "127.0.0.1:0", "--data", join(file, "sub")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data directory");
  });

  test("bad flags and bad environment exit 2 with usage", async () => {
    const flag = await run(["--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown argument '--bogus'");
    const env = await run([], { NOKV_DURABILITY: "sometimes" });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("NOKV_DURABILITY");
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--listen");
  });
});
