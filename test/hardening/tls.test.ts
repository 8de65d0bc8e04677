import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as netConnect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../src/sdk/index.ts";
import { runCli } from "../cli/cli-harness.ts";
import { codeOf, startMetad, type MetadHarness } from "../harness.ts";
import { freePort, spawnMetad } from "./metad-child.ts";

// TLS on the one port: metad with --tls-cert/--tls-key speaks TLS only (RPC and HTTPS), clients
// use nokvs:// with the CA that signed it, and a token never crosses the wire in clear. The test
// makes its own self-signed certificate with openssl.

const TOKEN = "tls-test-token-that-must-not-leak-0123";
const OPENSSL = Bun.which("openssl");
const skipReason = OPENSSL ? null : "openssl is not installed (apt-get install openssl; .ci/run installs it)";
if (skipReason) console.log(`skip: tls: ${skipReason}`);

let dir: string;
let certFile: string;
let keyFile: string;
let h: MetadHarness;

beforeAll(async () => {
  if (skipReason) return;
  dir = mkdtempSync(join(tmpdir(), "nokv-tls-"));
  certFile = join(dir, "cert.pem");
  keyFile = join(dir, "key.pem");
  const made = Bun.spawnSync([
    OPENSSL!, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", certFile,
    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ], { stdout: "pipe", stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
  h = await startMetad({ token: TOKEN, tlsCertFile: certFile, tlsKeyFile: keyFile });
});

afterAll(async () => {
  if (skipReason) return;
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A TCP relay that keeps every byte it forwards, in both directions. */
async function recordingRelay(targetPort: number): Promise<{ server: Server; port: number; bytes: () => string }> {
  const chunks: Buffer[] = [];
  const server = createServer((client) => {
    const upstream = netConnect({ host: "127.0.0.1", port: targetPort });
    client.on("data", (d: Buffer) => (chunks.push(d), upstream.write(d)));
    upstream.on("data", (d: Buffer) => (chunks.push(d), client.write(d)));
    const end = () => (client.destroy(), upstream.destroy());
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port, bytes: () => Buffer.concat(chunks).toString("latin1") };
}

describe.skipIf(skipReason !== null)("TLS", () => {
  test("nokvs:// with the CA works; the token and file names never cross the wire in clear", async () => {
    const relay = await recordingRelay(h.port);
    try {
      const c = await connect(`nokvs://127.0.0.1:${relay.port}`, { token: TOKEN, ca: readFileSync(certFile) });
      await c.writeFile("/secret-plans.txt", "tls");
      expect(await c.readFile("/secret-plans.txt", "utf8")).toBe("tls");
      await c.close();
      const wire = relay.bytes();
      expect(wire.length).toBeGreaterThan(1000);
      expect(wire).not.toContain(TOKEN);
      expect(wire).not.toContain("secret-plans");
    } finally {
      relay.server.close();
    }
  });

  test("without the CA the certificate is refused at once; plain nokv:// and http:// get nothing", async () => {
    const started = Date.now();
    const err = await connect(`nokvs://127.0.0.1:${h.port}`, { token: TOKEN }).catch((e) => e);
    expect(err.code).toBe("ECONNRESET");
    expect(err.message).toContain("does not trust");
    expect(Date.now() - started).toBeLessThan(2_000); // not retried: retrying cannot fix a certificate
    expect(await codeOf(connect(`nokv://127.0.0.1:${h.port}`, { token: TOKEN, requestTimeoutMs: 2_000 }))).not.toBe("none");
    expect(await fetch(`http://127.0.0.1:${h.port}/healthz`).then((r) => r.status, () => "refused")).not.toBe(200);
  });

  test("HTTPS health and admin endpoints on the same port", async () => {
    const tls = { ca: readFileSync(certFile, "utf8") };
    expect((await fetch(`https://127.0.0.1:${h.port}/healthz`, { tls })).status).toBe(200);
    expect((await fetch(`https://127.0.0.1:${h.port}/stats`, { tls })).status).toBe(401);
    expect((await fetch(`https://127.0.0.1:${h.port}/stats`, { tls, headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  test("NOKV_CA, and the CLI with --ca", async () => {
    process.env.NOKV_CA = certFile;
    try {
      const c = await connect(`nokvs://127.0.0.1:${h.port}`, { token: TOKEN });
      expect((await c.stat("/secret-plans.txt")).size).toBe(3);
      await c.close();
    } finally {
      delete process.env.NOKV_CA;
    }
    const env = { NOKV_TOKEN: TOKEN };
    const listed = await runCli(["ls", "/", "--server", `nokvs://127.0.0.1:${h.port}`, "--ca", certFile], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("secret-plans.txt");
    const untrusted = await runCli(["ls", "/", "--server", `nokvs://127.0.0.1:${h.port}`], { env });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain("does not trust");
    const missing = await runCli(["ls", "/", "--server", `nokvs://127.0.0.1:${h.port}`, "--ca", join(dir, "nope.pem")], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.pem");
  }, 30_000);

  test("a metad process with --tls-cert/--tls-key says so; bad key files stop it at start", async () => {
    const port = await freePort();
    const child = await spawnMetad(["--listen", `127.0.0.1:${port}`, "--data", join(dir, "proc"), "--objects", `file://${join(dir, "proc-objects")}`, "--tls-cert", certFile, "--tls-key", keyFile]);
    try {
      expect(child.output()).toContain("tls: nokvs://");
      const c = await connect(`nokvs://127.0.0.1:${port}`, { ca: readFileSync(certFile) });
      expect((await c.stat("/")).isDirectory()).toBe(true);
      await c.close();
    } finally {
      child.proc.kill("SIGTERM");
      await child.proc.exited;
    }
    const main = join(import.meta.dir, "..", "..", "src", "server", "main.ts");
    const bad = Bun.spawnSync([process.execPath, main, "--listen", "127.0.0.1:0", "--data", join(dir, "bad"), "--tls-cert", certFile, "--tls-key", certFile], { stdout: "pipe", stderr: "pipe" });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.toString()).toContain("--tls-key");
    const half = Bun.spawnSync([process.execPath, main, "--tls-cert", certFile], { stdout: "pipe", stderr: "pipe" });
    expect(half.exitCode).toBe(2);
    expect(half.stderr.toString()).toContain("go together");
  }, 30_000);
});
