import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "../../src/sdk/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";

// Connection lifetimes: the authentication deadline (with a token, and with none: the first
// frame), the idle timeout (not for watches), and the unauthenticated budget per address, whose
// oldest member makes room for a newcomer while authenticated connections are never evicted.

const TOKEN = "connections-test-token-0123456789";
const DEADLINE_MS = 300;
const IDLE_MS = 600;
const PRE_AUTH_PER_ADDRESS = 4;

async function closedWithin(conn: RawConnection, ms: number): Promise<number> {
  const started = Date.now();
  await Promise.race([conn.closedPromise, Bun.sleep(ms)]);
  expect(conn.closed).toBe(true);
  return Date.now() - started;
}

describe("with a token", () => {
  let h: MetadHarness;
  beforeAll(async () => {
    h = await startMetad({ token: TOKEN, idleTimeoutMs: IDLE_MS, limits: { authDeadlineMs: DEADLINE_MS, preAuthPerAddressMax: PRE_AUTH_PER_ADDRESS } });
  });
  afterAll(() => h.stop());

  test("a connection that does not authenticate within the deadline is closed, even if it sends requests", async () => {
    const silent = await RawConnection.open(h.port);
    const chatty = await RawConnection.open(h.port);
    chatty.request(1, "getattr", { mount: 1, inode: 1 }); // EACCES, and the clock keeps running
    const waitedMs = await closedWithin(silent, DEADLINE_MS + 1_500);
    await closedWithin(chatty, 1_500);
    expect(waitedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(h.metad.stats.connections.authDeadlineClosed).toBeGreaterThanOrEqual(2);
  });

  test("idle authenticated connections close after the idle timeout; watches do not; the SDK reconnects", async () => {
    const idle = await RawConnection.open(h.port);
    idle.request(1, "hello", { token: TOKEN });
    await idle.next();
    const c = await connect(h.url, { token: TOKEN });
    const watcher = await c.watch("/");
    const w = await RawConnection.open(h.port);
    w.request(1, "hello", { token: TOKEN });
    w.request(2, "watch_subscribe", { mount: 1 });
    await w.next();
    await w.next();
    await closedWithin(idle, IDLE_MS + 1_500);
    await Bun.sleep(IDLE_MS);
    expect(w.closed).toBe(false); // a watch is not idle
    await c.writeFile("/after-idle", "x"); // the client's connection holds a watch too, and works
    expect((await watcher.next()).value?.name).toBe("after-idle");
    await watcher.close();
    await Bun.sleep(IDLE_MS * 2); // now idle: closed by metad...
    expect(await c.readFile("/after-idle", "utf8")).toBe("x"); // ...and the SDK reconnects unseen
    expect(h.metad.stats.connections.idleClosed).toBeGreaterThanOrEqual(2);
    w.close();
    await c.close();
  }, 20_000);

  test("past the per-address unauthenticated cap the oldest goes; an authenticated one never does", async () => {
    const authed = await RawConnection.open(h.port);
    authed.request(1, "hello", { token: TOKEN });
    await authed.next();
    const waiting: RawConnection[] = [];
    for (let i = 0; i < PRE_AUTH_PER_ADDRESS + 2; i++) waiting.push(await RawConnection.open(h.port));
    await Promise.all([waiting[0]!.closedPromise, waiting[1]!.closedPromise]);
    await Bun.sleep(50);
    expect(waiting.slice(2).every((c) => !c.closed)).toBe(true);
    const newest = waiting.at(-1)!;
    newest.request(1, "hello", { token: TOKEN });
    expect(await newest.next()).toMatchObject({ value: { ok: true } });
    authed.request(2, "getattr", { mount: 1, inode: 1 });
    expect(await authed.next()).toMatchObject({ value: { ok: true } });
    for (const c of [authed, ...waiting]) c.close();
  });

  test("HTTP requests with wrong tokens, held for their delay, stay unauthenticated: they are evicted, not let in", async () => {
    const evictedBefore = h.metad.stats.connections.evicted;
    const probes: RawConnection[] = [];
    for (let i = 0; i < PRE_AUTH_PER_ADDRESS + 2; i++) {
      const probe = await RawConnection.open(h.port, { magic: false });
      probe.send(`GET /stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-${i}\r\n\r\n`);
      probes.push(probe);
      await Bun.sleep(5);
    }
    await Promise.all([probes[0]!.closedPromise, probes[1]!.closedPromise]);
    expect(probes[0]!.text()).toBe(""); // evicted before its delayed 401
    const c = await connect(h.url, { token: TOKEN });
    expect((await c.stat("/")).isDirectory()).toBe(true);
    await c.close();
    await Promise.all(probes.map((p) => p.closedPromise)); // by a 401 or the authentication deadline
    expect(h.metad.stats.connections.evicted - evictedBefore).toBeGreaterThanOrEqual(2);
    expect(h.metad.stats.connections.unauthenticated).toBe(0);
  }, 20_000);
});

describe("without a token", () => {
  let h: MetadHarness;
  beforeAll(async () => {
    h = await startMetad({ limits: { authDeadlineMs: DEADLINE_MS } });
  });
  afterAll(() => h.stop());

  test("a connection must send its first frame within the deadline; after that it stays", async () => {
    const magicOnly = await RawConnection.open(h.port);
    const active = await RawConnection.open(h.port);
    active.request(1, "getattr", { mount: 1, inode: 1 });
    expect(await active.next()).toMatchObject({ value: { ok: true } });
    await closedWithin(magicOnly, DEADLINE_MS + 1_500);
    await Bun.sleep(DEADLINE_MS * 2);
    active.request(2, "getattr", { mount: 1, inode: 1 });
    expect(await active.next()).toMatchObject({ value: { ok: true } });
    active.close();
  });
});
