import { afterEach, expect, test } from "bun:test";
import { ROOT_INODE } from "../../src/types/index.ts";
import { codeOf, startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";

// Single creates that arrive together from many clients commit as one command each group, and
// each request still gets its own answer: its attributes, EEXIST, ENOENT, or the first result
// again when it is retried with the same key.

let h: MetadHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

test("concurrent single creates from 8 clients merge into few commands, each answered on its own", async () => {
  h = await startMetad();
  const clients = await Promise.all(Array.from({ length: 8 }, () => h!.client()));
  const dirs = await Promise.all(clients.map((c, i) => c.mkdir(`/d${i}`).then(() => c.stat(`/d${i}`))));
  const before = h.metad.service.store.shardState(1).version;
  const calls: Array<Promise<unknown>> = [];
  for (let round = 0; round < 50; round++) {
    clients.forEach((c, i) => {
      calls.push(c.inode.create(dirs[i]!.ino, `f${round}`));
      calls.push(c.inode.create(dirs[(i + 1) % 8]!.ino, `g${i}-${round}`));
    });
  }
  const made = (await Promise.all(calls)) as Array<{ inode: number; type: string }>;
  expect(made.length).toBe(800);
  expect(new Set(made.map((a) => a.inode)).size).toBe(800);
  expect(made.every((a) => a.type === "file")).toBe(true);
  const commands = h.metad.service.store.shardState(1).version - before;
  expect(commands).toBeLessThan(400);
  for (let i = 0; i < 8; i++) expect((await clients[0]!.readdir(`/d${i}`)).length).toBe(100);
  // Within one merged run: a name taken, a directory that is not there, and good ones, side by side.
  const mixed = await Promise.allSettled([
    clients[1]!.inode.create(dirs[0]!.ino, "f0"),
    clients[2]!.inode.create(987_654, "x"),
    clients[3]!.inode.create(dirs[3]!.ino, "fresh"),
    clients[4]!.inode.create(ROOT_INODE, "bad/name"),
  ]);
  expect(mixed.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled", "rejected"]);
  expect(await codeOf(clients[1]!.inode.create(dirs[0]!.ino, "f0"))).toBe("EEXIST");
  expect(await codeOf(clients[2]!.inode.create(987_654, "x"))).toBe("ENOENT");
  expect(await codeOf(clients[4]!.inode.create(ROOT_INODE, "bad/name"))).toBe("EINVAL");
}, 60_000);

test("a merged create retried with its request key is applied once and answers the first result", async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/r");
  const dir = await c.stat("/r");
  const sock = await RawConnection.open(h.port);
  // Two pipelined creates land in one group and merge; the same two again, with the same keys.
  const round = async (base: number) => {
    sock.request(base + 1, "create", { mount: 1, parent: dir.ino, name: "a" }, "key-a");
    sock.request(base + 2, "create", { mount: 1, parent: dir.ino, name: "b" }, "key-b");
    const replies = [(await sock.next())!, (await sock.next())!].sort((x, y) => x.requestId - y.requestId);
    return replies.map((r) => r.value);
  };
  try {
    const first = await round(0);
    expect((first[0] as { ok: boolean }).ok).toBe(true);
    const versionAfterFirst = h.metad.service.store.shardState(1).version;
    const again = await round(10);
    expect(again).toEqual(first);
    expect(h.metad.service.store.shardState(1).version).toBe(versionAfterFirst);
    expect((await c.readdir("/r")).sort()).toEqual(["a", "b"]);
  } finally {
    sock.close();
  }
}, 30_000);
