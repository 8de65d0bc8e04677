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

test("create_prepared requests merge with creates into one command; each file's prepare is staged in it", async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/p");
  const dir = await c.stat("/p");
  const store = h.metad.service.store;
  const sock = await RawConnection.open(h.port);
  type Reply = { ok: boolean; value: { attrs: [number, ...unknown[]]; prepared: { prepareId: string; inode: number; generation: number; expiresAtMs: number } } };
  const group = async (requests: Array<[number, string, string, string | undefined, Record<string, unknown>?]>) => {
    for (const [id, op, name, key, extra] of requests) sock.request(id, op, { mount: 1, parent: dir.ino, name, ...extra }, key);
    const replies: Array<{ requestId: number; value: unknown }> = [];
    for (let i = 0; i < requests.length; i++) replies.push((await sock.next())!);
    return replies.sort((x, y) => x.requestId - y.requestId).map((r) => r.value as Reply);
  };
  try {
    const before = store.shardState(1).version;
    const [a, b, plain, d] = await group([
      [1, "create_prepared", "a", "key-pa"],
      [2, "create_prepared", "b", undefined, { expiryMs: 60_000 }],
      [3, "create", "c", undefined],
      [4, "create_prepared", "a", undefined],
    ]);
    // Pipelined on one connection, they reach one group: one log entry for all of them.
    expect(store.shardState(1).version).toBe(before + 1);
    expect([a!.ok, b!.ok, plain!.ok, d!.ok]).toEqual([true, true, true, false]);
    for (const r of [a!, b!]) {
      const { attrs, prepared } = r.value;
      expect(prepared.inode).toBe(attrs[0]);
      expect(store.getStaged(1, prepared.prepareId)).toMatchObject({ inode: attrs[0], generation: prepared.generation, freshInode: false });
    }
    expect(b!.value.prepared.expiresAtMs - a!.value.prepared.expiresAtMs).toBeLessThan(60_000);
    expect(Array.isArray(plain!.value)).toBe(true);
    // A retry with the key: the same file, a new prepare of it (one more command, no new file).
    const [again] = await group([[5, "create_prepared", "a", "key-pa"]]);
    expect(again!.value.attrs).toEqual(a!.value.attrs);
    expect(again!.value.prepared.prepareId).not.toBe(a!.value.prepared.prepareId);
    expect(again!.value.prepared.inode).toBe(a!.value.prepared.inode);
    expect(store.getStaged(1, again!.value.prepared.prepareId)).toMatchObject({ inode: a!.value.prepared.inode, freshInode: false });
    expect(store.shardState(1).version).toBe(before + 2);
    expect((await c.readdir("/p")).sort()).toEqual(["a", "b", "c"]);
    // The prepare is usable: a publish through it gives the file a body.
    const body = await c.writeFile("/p/b", new TextEncoder().encode("hello")).then(() => c.readFile("/p/b"));
    expect(new TextDecoder().decode(body)).toBe("hello");
  } finally {
    sock.close();
  }
}, 30_000);
