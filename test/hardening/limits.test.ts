import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { CONNECTION_MAGIC, encodeValueFrame } from "../../src/wire/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";

// Resource limits against clients that misbehave on purpose: too many connections, a frame
// started and never finished, replies never read. metad pushes back or closes them and stays
// bounded.

const PARTIAL_MS = 300;
const PAUSE_BYTES = 1024 * 1024;
const STALL_MS = 1_500;
const CONNECTIONS_MAX = 32;

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad({
    limits: { partialFrameTimeoutMs: PARTIAL_MS, connectionOutboundPauseBytes: PAUSE_BYTES, connectionOutboundStallTimeoutMs: STALL_MS, connectionsMax: CONNECTIONS_MAX },
  });
  const c = await h.client();
  await c.mkdir("/big");
  for (let i = 0; i < 2000; i += 500) {
    await c.batch(Array.from({ length: 500 }, (_, j) => ({ op: "create_file_path", args: { path: `/big/file-with-a-longish-name-${i + j}` } })));
  }
  await c.close();
});
afterAll(() => h.stop());

async function healthy(): Promise<void> {
  const c = await h.client();
  expect((await c.stat("/big")).isDirectory()).toBe(true);
  await c.close();
}

test("connections up to the limit are served; past it they are closed at once; freed slots are reused", async () => {
  const held: RawConnection[] = [];
  for (let i = 0; i < CONNECTIONS_MAX; i++) {
    // A first frame admits a connection when no token is set; only admitted ones are never evicted.
    const c = await RawConnection.open(h.port);
    c.request(99, "getattr", { mount: 1, inode: 1 });
    await c.next();
    held.push(c);
  }
  const extra = await RawConnection.open(h.port);
  await extra.closedPromise;
  held[5]!.request(1, "getattr", { mount: 1, inode: 1 });
  expect(await held[5]!.next()).toMatchObject({ value: { ok: true } });
  for (const c of held) c.close();
  await Bun.sleep(100);
  expect(h.metad.stats.connections.refused).toBeGreaterThanOrEqual(1);
  await healthy();
});

test("a frame header and then nothing: closed after the partial-frame timeout, others unaffected", async () => {
  const conn = await RawConnection.open(h.port);
  conn.send(new Uint8Array(10)); // 10 of the 16 header bytes
  const started = Date.now();
  const magicOnly = await RawConnection.open(h.port, { magic: false });
  magicOnly.send(CONNECTION_MAGIC.subarray(0, 3)); // not even the whole magic
  const http = await RawConnection.open(h.port, { magic: false });
  http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"); // headers never finished
  await healthy();
  await Promise.all([conn.closedPromise, magicOnly.closedPromise, http.closedPromise]);
  const waitedMs = Date.now() - started;
  expect(waitedMs).toBeGreaterThanOrEqual(PARTIAL_MS - 20);
  expect(waitedMs).toBeLessThan(PARTIAL_MS + 2000);
  await healthy();
});

test("a client that never reads its replies is paused at the outbound limit, then cut off when it stalls; others are served", async () => {
  const abusedBefore = h.metad.stats.connections.closedForAbuse;
  const pausedBefore = h.metad.stats.connections.pausedForBackpressure;
  const socket = netConnect({ host: "127.0.0.1", port: h.port });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.on("error", () => {});
  socket.pause(); // never read: the kernel buffers fill, then metad stops producing replies
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write(CONNECTION_MAGIC);
  // Each reply is ~100 KB of directory entries; 600 of them are ~60 MB, far past kernel buffers plus the 1 MiB pause.
  for (let id = 1; id <= 600; id++) socket.write(encodeValueFrame(id, 0, { op: "readdir_path", args: { mount: 1, path: "/big", plus: true, limit: 2000 } }));
  let peakBytes = 0;
  const started = Date.now();
  while (h.metad.stats.connections.closedForAbuse === abusedBefore && Date.now() - started < 15_000) {
    peakBytes = Math.max(peakBytes, h.metad.stats.outbound.bytes);
    if (Date.now() - started < STALL_MS / 2) await healthy(); // served while the reader is stuck
    await Bun.sleep(20);
  }
  expect(h.metad.stats.connections.pausedForBackpressure).toBeGreaterThan(pausedBefore);
  expect(h.metad.stats.connections.closedForAbuse).toBe(abusedBefore + 1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS);
  console.log(`slow reader: paused, cut off after ${Date.now() - started} ms; peak queued reply bytes ${(peakBytes / 1e6).toFixed(2)} MB (pause at ${PAUSE_BYTES / 1e6} MB)`);
  // The pause threshold plus one reply that was already running when it was crossed.
  expect(peakBytes).toBeLessThan(PAUSE_BYTES + 256 * 1024);
  await closed; // reset by metad: it does not wait for a reader that never reads
  expect(h.metad.stats.outbound.bytes).toBe(0);
  await healthy();
});

test("the total outbound budget: many never-reading connections together stay near it; a reading client is still served", async () => {
  const TOTAL = 2 * 1024 * 1024;
  const EXECUTING_BYTES = 256 * 1024;
  const t = await startMetad({ limits: { connectionOutboundPauseBytes: PAUSE_BYTES, connectionExecutingReplyBytesMax: EXECUTING_BYTES, outboundTotalMaxBytes: TOTAL } });
  try {
    const c = await t.client();
    await c.mkdir("/big");
    await c.batch(Array.from({ length: 2000 }, (_, i) => ({ op: "create_file_path", args: { path: `/big/file-with-a-longish-name-${i}` } })));
    const replyBytes = encodeValueFrame(1, 0, await c.readdir("/big", { withFileTypes: true })).length;
    const sockets = [];
    for (let n = 0; n < 8; n++) {
      const socket = netConnect({ host: "127.0.0.1", port: t.port });
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.on("error", () => {});
      socket.pause();
      socket.write(CONNECTION_MAGIC);
      for (let id = 1; id <= 200; id++) socket.write(encodeValueFrame(id, 0, { op: "readdir_path", args: { mount: 1, path: "/big", plus: true, limit: 2000 } }));
      sockets.push(socket);
    }
    let peakBytes = 0;
    for (let i = 0; i < 50; i++) {
      peakBytes = Math.max(peakBytes, t.metad.stats.outbound.bytes);
      if (i % 10 === 0) expect((await c.stat("/big")).isDirectory()).toBe(true);
      await Bun.sleep(20);
    }
    console.log(`total budget: 8 never-reading connections, replies of ${(replyBytes / 1e3).toFixed(0)} KB: peak ${(peakBytes / 1e6).toFixed(2)} MB queued or expected (budget ${TOTAL / 1e6} MB)`);
    // Past the budget each connection gets at most one more request run, and only with nothing queued.
    expect(peakBytes).toBeLessThan(TOTAL + 8 * (replyBytes + EXECUTING_BYTES));
    for (const s of sockets) s.destroy();
  } finally {
    await t.stop();
  }
});
