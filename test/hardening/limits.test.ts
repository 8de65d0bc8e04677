import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { CONNECTION_MAGIC, encodeValueFrame } from "../../src/wire/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";

// Resource limits against clients that misbehave on purpose: too many connections, a frame
// started and never finished, replies never read. metad closes them and stays bounded.

const PARTIAL_MS = 300;
const OUTBOUND_MAX = 1024 * 1024;
const CONNECTIONS_MAX = 32;

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad({ limits: { partialFrameTimeoutMs: PARTIAL_MS, connectionOutboundMaxBytes: OUTBOUND_MAX, connectionsMax: CONNECTIONS_MAX } });
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
  const held = await Promise.all(Array.from({ length: CONNECTIONS_MAX }, () => RawConnection.open(h.port)));
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

test("a client that never reads its replies is cut off at the outbound limit; metad stays bounded", async () => {
  const rssBefore = process.memoryUsage().rss;
  const abusedBefore = h.metad.stats.connections.closedForAbuse;
  const socket = netConnect({ host: "127.0.0.1", port: h.port });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.on("error", () => {});
  socket.pause(); // never read: the kernel buffers fill, then metad's queue does
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write(CONNECTION_MAGIC);
  // Each reply is ~100 KB of directory entries; 600 of them are ~60 MB, far past kernel buffers plus the 1 MiB limit.
  for (let id = 1; id <= 600; id++) socket.write(encodeValueFrame(id, 0, { op: "readdir_path", args: { mount: 1, path: "/big", plus: true, limit: 2000 } }));
  const deadline = Date.now() + 15_000;
  while (h.metad.stats.connections.closedForAbuse === abusedBefore && Date.now() < deadline) await Bun.sleep(20);
  expect(h.metad.stats.connections.closedForAbuse).toBe(abusedBefore + 1);
  socket.destroy();
  await closed;
  const grownBytes = process.memoryUsage().rss - rssBefore;
  console.log(`slow reader: cut off; rss grew ${(grownBytes / 1e6).toFixed(1)} MB while it was served`);
  expect(grownBytes).toBeLessThan(200 * 1024 * 1024);
  await healthy();
});
