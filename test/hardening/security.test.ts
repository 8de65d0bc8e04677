import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "../../src/sdk/index.ts";
import { Metad } from "../../src/server/metad.ts";
import { DEFAULT_CONFIG } from "../../src/server/config.ts";
import { isLoopbackHost } from "../../src/server/auth.ts";
import { encodeValueFrame } from "../../src/wire/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";
import { freePort, spawnMetad } from "./metad-child.ts";

// Security basics: loopback by default, a shared token required off loopback and checked in
// constant time, EACCES for everything before a hello with the token, a bearer token on POST /gc,
// and the token never printed, served in /stats or sent to clients.

const TOKEN = "s3cr3t-t0ken-value-0123456789";
const code = (reply: { value: unknown } | null) => (reply?.value as { error?: { code: string } }).error?.code ?? "ok";

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad({ token: TOKEN });
});
afterAll(() => h.stop());

describe("exposure", () => {
  test("the default listen address is loopback", () => {
    expect(DEFAULT_CONFIG.host).toBe("127.0.0.1");
    expect(["127.0.0.1", "::1", "localhost", "127.9.9.9"].every(isLoopbackHost)).toBe(true);
    expect(["0.0.0.0", "::", "10.0.0.1", "example.com"].some(isLoopbackHost)).toBe(false);
  });

  test("a non-loopback address without a token is refused at start; with one it starts", async () => {
    const base = { ...DEFAULT_CONFIG, host: "0.0.0.0", port: 0, dataDir: `${h.dir}/exposed`, objectsUrl: `file://${h.dir}/exposed-objects`, gcIntervalMs: 0 };
    await expect(Metad.start(base)).rejects.toThrow(/not loopback.*token/);
    const metad = await Metad.start({ ...base, token: TOKEN });
    await metad.stop();
  });
});

describe("the token", () => {
  test("every op before a hello with the token is EACCES; a wrong token is EACCES; the right one admits", async () => {
    const conn = await RawConnection.open(h.port);
    conn.request(1, "getattr", { mount: 1, inode: 1 });
    expect(code(await conn.next())).toBe("EACCES");
    conn.request(2, "hello", {});
    expect(code(await conn.next())).toBe("EACCES");
    conn.request(3, "hello", { token: TOKEN.slice(0, -1) + "X" });
    const wrong = await conn.next();
    expect(code(wrong)).toBe("EACCES");
    expect(JSON.stringify(wrong!.value)).not.toContain(TOKEN.slice(0, 10));
    conn.request(4, "batch", { ops: [{ op: "hello", args: { token: TOKEN } }] });
    expect(code(await conn.next())).toBe("EACCES");
    conn.request(5, "mkdir_path", { mount: 1, path: "/nope" });
    expect(code(await conn.next())).toBe("EACCES");
    conn.request(6, "hello", { token: TOKEN });
    expect(code(await conn.next())).toBe("ok");
    conn.request(7, "stat_path", { mount: 1, path: "/nope" });
    expect(code(await conn.next())).toBe("ENOENT"); // the refused mkdir did nothing
    conn.close();
  });

  test("a request pipelined right behind the hello is admitted", async () => {
    const conn = await RawConnection.open(h.port);
    conn.send(Buffer.concat([
      encodeValueFrame(1, 0, { op: "hello", args: { token: TOKEN } }),
      encodeValueFrame(2, 0, { op: "getattr", args: { mount: 1, inode: 1 } }),
    ]));
    expect([code(await conn.next()), code(await conn.next())]).toEqual(["ok", "ok"]);
    conn.close();
  });

  test("the SDK: no token is EACCES; { token } and NOKV_TOKEN work, also across a reconnect", async () => {
    await expect(connect(h.url)).rejects.toMatchObject({ code: "EACCES" });
    const c = await connect(h.url, { token: TOKEN });
    await c.writeFile("/tok", "ok");
    c.dropConnection();
    expect(await c.readFile("/tok", "utf8")).toBe("ok"); // a new connection presents the token again
    await c.close();
    process.env.NOKV_TOKEN = TOKEN;
    try {
      const e = await connect(h.url);
      expect((await e.stat("/tok")).size).toBe(2);
      await e.close();
    } finally {
      delete process.env.NOKV_TOKEN;
    }
  });

  test("POST /gc and GET /stats need the bearer token; health checks do not", async () => {
    const gc = (auth?: string) => fetch(`${h.url.replace("nokv", "http")}/gc`, { method: "POST", headers: auth ? { authorization: auth } : {} });
    expect((await gc()).status).toBe(401);
    expect((await gc("Bearer wrong")).status).toBe(401);
    expect((await gc(`Basic ${TOKEN}`)).status).toBe(401);
    expect((await gc(`Bearer ${TOKEN}`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${h.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${h.port}/stats`)).status).toBe(401);
    const stats = await (await fetch(`http://127.0.0.1:${h.port}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(stats).not.toContain(TOKEN);
    expect(JSON.parse(stats).connections.authFailures).toBeGreaterThan(0);
  });
});

test("a metad process: the token never shows in its output, /stats or what clients are sent", async () => {
  const port = await freePort();
  const child = await spawnMetad(["--listen", `0.0.0.0:${port}`, "--data", `${h.dir}/proc`, "--objects", `file://${h.dir}/proc-objects`], { NOKV_TOKEN: TOKEN });
  try {
    const c = await connect(`nokv://127.0.0.1:${port}`, { token: TOKEN });
    await c.writeFile("/x", "y");
    expect(c.objectsUrl).not.toContain(TOKEN);
    expect(JSON.stringify(await c.serverStats())).not.toContain(TOKEN);
    await c.close();
    await expect(connect(`nokv://127.0.0.1:${port}`, { token: "nope" })).rejects.toMatchObject({ code: "EACCES" });
  } finally {
    child.proc.kill("SIGTERM");
    await child.proc.exited;
  }
  expect(child.output()).toContain("ready on 0.0.0.0");
  expect(child.output()).not.toContain(TOKEN);
  const refused = Bun.spawn([process.execPath, `${import.meta.dir}/../../src/server/main.ts`, "--listen", "0.0.0.0:0", "--data", `${h.dir}/proc2`], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NOKV_TOKEN: "" } });
  expect(await refused.exited).toBe(1);
  expect(await new Response(refused.stderr).text()).toContain("needs a shared token");
});
