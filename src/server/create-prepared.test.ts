import { afterEach, expect, test } from "bun:test";
import { startMetad, type MetadHarness } from "../../test/harness.ts";
import { RawConnection } from "../../test/raw-socket.ts";

// create_prepared through group commit (dispatch.ts executeCreates, createEach): a new file and its
// first prepare are one command, and single requests from many clients merge like creates.

let h: MetadHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

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

test("a lone create_prepared's reply carries the attribute bytes encoded for its dedupe record, not a second encoding", async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/q");
  const dir = await c.stat("/q");
  // The codec marks what it encodes (uid 4242): a reply showing the mark is the codec's bytes.
  const core = h.metad.service.core as unknown as { codec: { encode: (value: unknown) => Uint8Array } };
  const codec = core.codec;
  const encode = codec.encode.bind(codec);
  let encodes = 0;
  codec.encode = (value) => {
    encodes++;
    const isAttrs = typeof value === "object" && value !== null && "nlink" in value;
    return encode(isAttrs ? { ...value, uid: 4242 } : value);
  };
  type Reply = { ok: boolean; value: { attrs: unknown[]; prepared: { inode: number } } };
  const sock = await RawConnection.open(h.port);
  try {
    sock.request(1, "create_prepared", { mount: 1, parent: dir.ino, name: "lone" }, "key-lone");
    const reply = ((await sock.next())!.value as Reply).value;
    expect(encodes).toBe(1);
    expect(reply.attrs[0]).toBe(reply.prepared.inode);
    expect(reply.attrs[4]).toBe(4242);
    // A retry with its key: the same file, answered from the dedupe record's bytes.
    sock.request(2, "create_prepared", { mount: 1, parent: dir.ino, name: "lone" }, "key-lone");
    const again = ((await sock.next())!.value as Reply).value;
    expect(again.attrs).toEqual(reply.attrs);
    expect(again.prepared.inode).toBe(reply.prepared.inode);
  } finally {
    codec.encode = encode;
    sock.close();
  }
}, 30_000);
