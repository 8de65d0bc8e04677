import { afterEach, expect, test } from "bun:test";
import { startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";

let h: MetadHarness;
afterEach(() => h.stop());

test("a client keeps working across a metad restart, and its watch resumes", async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/r");
  const watcher = await c.watch("/r").ready;
  await c.createFile("/r/before");
  expect((await watcher.next()).value?.name).toBe("before");
  await h.restart();
  expect(await c.readdir("/r")).toEqual(["before"]);
  await c.createFile("/r/after");
  expect(await c.readdir("/r")).toEqual(["after", "before"]);
  const next = await watcher.next();
  expect(next.value?.name).toBe("after");
  await watcher.close();
});

test("requests in flight when the connection drops are retried and applied exactly once", async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/x");
  const writes = Array.from({ length: 200 }, (_, i) => c.createFile(`/x/f${i}`));
  c.dropConnection();
  const results = await Promise.allSettled(writes);
  expect(results.filter((r) => r.status === "rejected")).toEqual([]);
  expect((await c.readdir("/x")).length).toBe(200);
});

test("a repeated request key is applied once and answered with the first result", async () => {
  h = await startMetad();
  const conn = await RawConnection.open(h.port);
  conn.request(1, "create_file_path", { mount: 1, path: "/once" }, "retry-key-1");
  const first = await conn.next();
  conn.request(2, "create_file_path", { mount: 1, path: "/once" }, "retry-key-1");
  const second = await conn.next();
  expect(first?.value).toMatchObject({ ok: true });
  expect(second?.value).toEqual(first?.value as object);
  conn.request(3, "create_file_path", { mount: 1, path: "/once" }, "retry-key-2");
  expect(await conn.next()).toMatchObject({ value: { ok: false, error: { code: "EEXIST" } } });
  conn.close();
});

test("SIGTERM-style stop finishes in-flight work and leaves the store consistent", async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/s");
  const pending = Array.from({ length: 100 }, (_, i) => c.createFile(`/s/${i}`).then(() => true, () => false));
  await Bun.sleep(0);
  await h.restart();
  const done = await Promise.all(pending);
  expect(done.every(Boolean)).toBe(true);
  expect((await c.readdir("/s")).length).toBe(100);
});
