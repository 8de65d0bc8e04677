import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../src/sdk/index.ts";
import { LIMITS } from "../../src/types/index.ts";
import { CONNECTION_MAGIC } from "../../src/wire/index.ts";
import { freePort, spawnMetad, type MetadChild } from "./metad-child.ts";

// 5,000 connections that never authenticate, from several loopback addresses, against a real
// metad process with a token: an authenticated client connected before keeps working, and new
// authenticated clients connect and are served throughout (unauthenticated sockets live on
// their own budget and the oldest make room), at close to their normal latency.

const TOKEN = "flood-test-admin-token-0123456789";
const IDLE_CONNECTIONS = 5_000;
const SOURCE_ADDRESSES = 10;
const WAVE = 250;

let dir: string;
let child: MetadChild;
let port: number;

/** Open files this process may have: the flood needs one per socket. */
function openFilesLimit(): number {
  const line = /Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"));
  return line ? Number(line[1]) : 0;
}
const skipReason = openFilesLimit() < IDLE_CONNECTIONS + 1_000 ? `open files limit ${openFilesLimit()} is below ${IDLE_CONNECTIONS + 1_000} (raise ulimit -n)` : null;
if (skipReason) console.log(`skip: idle flood: ${skipReason}`);

beforeAll(async () => {
  if (skipReason) return;
  dir = mkdtempSync(join(tmpdir(), "nokv-flood-"));
  port = await freePort();
  child = await spawnMetad(["--listen", `127.0.0.1:${port}`, "--data", join(dir, "data"), "--objects", `file://${join(dir, "objects")}`], { NOKV_TOKEN: TOKEN });
});

afterAll(async () => {
  if (skipReason) return;
  child.proc.kill("SIGTERM");
  await child.proc.exited;
  rmSync(dir, { recursive: true, force: true });
});

/** An idle socket from 127.0.0.(2+i%N): some send the magic, none ever authenticates. */
function idleSocket(i: number, sockets: Socket[], closedCount: { n: number }): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port, localAddress: `127.0.0.${2 + (i % SOURCE_ADDRESSES)}` }, () => {
      if (i % 2 === 0) socket.write(CONNECTION_MAGIC);
      resolve();
    });
    socket.on("error", () => resolve());
    socket.on("close", () => closedCount.n++);
    sockets.push(socket);
  });
}

async function timedMs(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

test.skipIf(skipReason !== null)("5,000 idle unauthenticated connections do not stop an authenticated client", async () => {
  const url = `nokv://127.0.0.1:${port}`;
  const longLived = await connect(url, { token: TOKEN });
  await longLived.writeFile("/flood", "ok");
  const before: number[] = [];
  for (let i = 0; i < 20; i++) before.push(await timedMs(async () => (await connect(url, { token: TOKEN })).close()));

  const sockets: Socket[] = [];
  const closed = { n: 0 };
  const during: number[] = [];
  let served = 0;
  try {
    for (let start = 0; start < IDLE_CONNECTIONS; start += WAVE) {
      await Promise.all(Array.from({ length: WAVE }, (_, j) => idleSocket(start + j, sockets, closed)));
      // Between waves, a fresh client authenticates and is served, and the old one still is.
      during.push(
        await timedMs(async () => {
          const c = await connect(url, { token: TOKEN });
          expect(await c.readFile("/flood", "utf8")).toBe("ok");
          await c.close();
        }),
      );
      expect((await longLived.stat("/flood")).size).toBe(2);
      served++;
    }
    const stats = (await longLived.serverStats()) as { connections: Record<string, number> };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `idle flood: ${IDLE_CONNECTIONS} idle connections from ${SOURCE_ADDRESSES} addresses; metad evicted ${stats.connections.evicted}, ` +
        `held ${stats.connections.unauthenticated} unauthenticated (budget ${LIMITS.preAuthConnectionsMax}); ${served}/${IDLE_CONNECTIONS / WAVE} fresh clients served, ` +
        `connect+hello+read median ${median(during).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms (before the flood median ${median(before).toFixed(1)} ms)`,
    );
    expect(served).toBe(IDLE_CONNECTIONS / WAVE);
    expect(stats.connections.unauthenticated).toBeLessThanOrEqual(LIMITS.preAuthConnectionsMax);
    expect(stats.connections.evicted).toBeGreaterThanOrEqual(IDLE_CONNECTIONS - LIMITS.preAuthConnectionsMax);
    expect(median(during)).toBeLessThan(median(before) * 5 + 20);
  } finally {
    for (const s of sockets) s.destroy();
    await longLived.close();
  }
}, 120_000);
