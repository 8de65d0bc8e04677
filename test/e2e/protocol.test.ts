import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LIMITS, blockChecksum, segmentSizeFor } from "../../src/types/index.ts";
import { FLAG_ERROR, FLAG_RESPONSE, attrsFromWire, encodeFrame, encodeValueFrame } from "../../src/wire/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad({ limits: { connectionsMax: 64, inFlightPerConnectionMax: 8 } });
});
afterAll(() => h.stop());

const mount = 1;

async function healthy(): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${h.port}/healthz`);
  expect(res.status).toBe(200);
  const conn = await RawConnection.open(h.port);
  conn.request(1, "getattr", { mount, inode: 1 });
  const reply = await conn.next();
  expect(reply?.value).toMatchObject({ ok: true });
  expect(attrsFromWire((reply!.value as { value: unknown }).value)).toMatchObject({ inode: 1, type: "dir" });
  conn.close();
}

describe("HTTP on the RPC port", () => {
  test("healthz, readyz, stats, gc, and errors for everything else", async () => {
    const base = `http://127.0.0.1:${h.port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ ok: true });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const stats = (await (await fetch(`${base}/stats`)).json()) as Record<string, unknown>;
    for (const key of ["ops", "groupCommit", "writes", "connections", "frames", "gc"]) expect(stats).toHaveProperty(key);
    expect(stats.writes).toHaveProperty("historyWrites");
    expect((await fetch(`${base}/gc`, { method: "POST" })).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/stats`, { method: "DELETE" })).status).toBe(405);
    const big = await RawConnection.open(h.port, { magic: false });
    big.send(`GET /stats HTTP/1.1\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`);
    await big.closedPromise;
    expect(big.text()).toStartWith("HTTP/1.1 413");
  });
});

describe("framed RPC", () => {
  test("replies match request ids; a slow op does not hold up fast ones (out of order)", async () => {
    // Give GC real work: many queued objects on the file store.
    const service = h.metad.service;
    const prep = service.publisher.prepare({ mount, parent: 1, name: "gc-fodder", blockSizeBytes: 4096 });
    const checksum = blockChecksum(new Uint8Array(4096), segmentSizeFor(4096));
    const blocks = Array.from({ length: 200 }, (_, b) => ({ key: `${prep.keyPrefix}/0/${b}`, offsetInChunk: b * 4096, lengthBytes: 4096, objectOffset: 0, checksum }));
    for (const b of blocks) await h.metad.objects.put(b.key, new Uint8Array(16));
    service.publisher.publish({
      mount, parent: 1, name: "gc-fodder", prepareId: prep.prepareId,
      manifest: { summary: { sizeBytes: 200 * 4096, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: 4096, chunkCount: 1, digest: "", producer: "", contentType: "" }, chunks: [{ chunkIndex: 0, blocks }] },
    });
    service.paths.remove({ mount, path: "/gc-fodder" });
    const conn = await RawConnection.open(h.port);
    conn.request(1, "gc", {});
    conn.request(2, "getattr", { mount, inode: 1 });
    const first = await conn.next();
    const second = await conn.next();
    expect(first?.requestId).toBe(2);
    expect(second?.requestId).toBe(1);
    expect(second?.value).toMatchObject({ ok: true, value: { objectsDeleted: 200 } });
    conn.close();
  });

  test("bad requests get error replies on their ids and the connection keeps serving", async () => {
    const conn = await RawConnection.open(h.port);
    conn.send(encodeFrame(1, 0, new Uint8Array([0xc1])));
    conn.request(2, "no_such_op", {});
    conn.request(3, "getattr", { mount, inode: "one" });
    conn.request(4, "getattr", { mount: 99, inode: 1 });
    conn.request(5, "lookup", { mount, parent: 1, name: "a/b" });
    conn.request(6, "getattr", { mount, inode: 1 });
    const replies = new Map<number, unknown>();
    for (let i = 0; i < 6; i++) {
      const r = (await conn.next())!;
      replies.set(r.requestId, r.value);
      if (r.requestId !== 6) expect(r.flags).toBe(FLAG_RESPONSE | FLAG_ERROR);
    }
    const code = (id: number) => (replies.get(id) as { error?: { code: string } }).error?.code;
    expect([code(1), code(2), code(3), code(4), code(5)]).toEqual(["EPROTO", "ENOSYS", "EINVAL", "ENOENT", "EINVAL"]);
    expect((replies.get(3) as { error: { message: string } }).error.message).toContain("args.inode must be an integer");
    expect(replies.get(6)).toMatchObject({ ok: true });
    conn.close();
  });

  test("an oversized frame header is refused before its payload and the connection closed", async () => {
    const conn = await RawConnection.open(h.port);
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(4, 1);
    new DataView(header.buffer).setUint32(12, LIMITS.frameMaxBytes + 1);
    conn.send(header);
    const reply = await conn.next();
    expect(reply).toMatchObject({ requestId: 0, value: { ok: false, error: { code: "EPROTO" } } });
    await conn.closedPromise;
    await healthy();
  });

  test("requests past the in-flight limit get EAGAIN", async () => {
    const conn = await RawConnection.open(h.port);
    // One write of 20 requests: they arrive together, the limit is 8, the rest are refused.
    conn.send(Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeValueFrame(i + 1, 0, { op: "getattr", args: { mount, inode: 1 } }))));
    let again = 0;
    for (let i = 0; i < 20; i++) {
      const r = (await conn.next())!;
      if ((r.value as { error?: { code: string } }).error?.code === "EAGAIN") again++;
    }
    expect(again).toBe(12);
    conn.close();
  });

  test("connections past the limit are closed at once; the others keep working", async () => {
    // A frame each: with no token set that admits them (unadmitted ones would be evicted instead).
    const conns: RawConnection[] = [];
    for (let i = 0; i < 64; i++) {
      const c = await RawConnection.open(h.port);
      c.request(1, "getattr", { mount, inode: 1 });
      await c.next();
      conns.push(c);
    }
    const extra = await RawConnection.open(h.port);
    await extra.closedPromise;
    expect(extra.closed).toBe(true);
    conns[0]!.request(2, "getattr", { mount, inode: 1 });
    expect(await conns[0]!.next()).toMatchObject({ value: { ok: true } });
    for (const c of conns) c.close();
    await Bun.sleep(50);
    await healthy();
  });

  test("random garbage, truncated frames and bad magic never take the server down", async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 40; round++) {
      const conn = await RawConnection.open(h.port, { magic: round % 2 === 0 });
      const bytes = new Uint8Array(1 + Math.floor(random() * 600));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      conn.send(bytes);
      if (round % 3 === 0) conn.send(encodeFrame(7, 0, new Uint8Array([0x82, 0xa2])).subarray(0, 20));
      await Bun.sleep(5);
      conn.close();
    }
    await healthy();
  });
});
