import { afterAll, beforeAll, expect, test } from "bun:test";
import { LIMITS, ROOT_INODE, blockChecksum, segmentSizeFor } from "../../src/types/index.ts";
import { codeOf, startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";

// Every request costs what its arguments bound, not what a hostile value could make it cost:
// a read plan over a huge sparse file, a rename at any depth, op names that are not ops, and
// watch subscriptions past their limits.

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad();
});
afterAll(() => h.stop());

test("a read plan over a file truncated to 2^50 bytes costs the blocks that exist", async () => {
  const c = await h.client();
  const f = await c.inode.create(ROOT_INODE, "sparse");
  await c.inode.setattr(f.inode, { sizeBytes: 2 ** 50 });
  const started = performance.now();
  const plan = await c.inode.readPlan(f.inode, { offsetBytes: 0, lengthBytes: 2 ** 50 });
  expect(plan.ranges).toEqual([]);
  expect(plan.lengthBytes).toBe(2 ** 50);
  // Bounded work shows as an answer at all: the old plan walked 2^24 chunk indexes.
  expect(performance.now() - started).toBeLessThan(5_000);
  const tail = await c.inode.readPlan(f.inode, { offsetBytes: 2 ** 50 - 10, lengthBytes: 100 });
  expect(tail.lengthBytes).toBe(10);
});

test("a plan over more blocks than readPlanMaxRanges stops at a chunk and says where to go on", async () => {
  const c = await h.client();
  // 2 chunks of the smallest blocks: 2 x 16,384 ranges, more than one plan holds.
  const blockBytes = LIMITS.blockSizeMinBytes;
  const sizeBytes = 2 * LIMITS.chunkSizeBytes;
  const checksum = blockChecksum(new Uint8Array(blockBytes), segmentSizeFor(blockBytes));
  const prep = (await c.batch([{ op: "prepare", args: { mount: 1, parent: ROOT_INODE, name: "many-blocks", blockSizeBytes: blockBytes } }]))[0] as { ok: true; value: { prepareId: string; keyPrefix: string } };
  const chunks = [0, 1].map((chunkIndex) => ({
    chunkIndex,
    blocks: Array.from({ length: LIMITS.chunkSizeBytes / blockBytes }, (_, b) => ({ key: `${prep.value.keyPrefix}/${chunkIndex}/${b}`, offsetInChunk: b * blockBytes, lengthBytes: blockBytes, objectOffset: 0, checksum })),
  }));
  const summary = { sizeBytes, chunkSizeBytes: LIMITS.chunkSizeBytes, blockSizeBytes: blockBytes, chunkCount: 2, digest: "", producer: "", contentType: "" };
  const published = (await c.batch([{ op: "publish", args: { mount: 1, parent: ROOT_INODE, name: "many-blocks", prepareId: prep.value.prepareId, manifest: { summary, chunks } } }]))[0] as { ok: boolean; value: { inode: number } };
  expect(published.ok).toBe(true);
  const inode = published.value.inode;
  const first = await c.inode.readPlan(inode, { offsetBytes: 0, lengthBytes: sizeBytes });
  expect(first.ranges.length).toBe(LIMITS.chunkSizeBytes / blockBytes);
  expect(first.nextOffsetBytes).toBe(LIMITS.chunkSizeBytes);
  expect(first.lengthBytes).toBe(LIMITS.chunkSizeBytes);
  const rest = await c.inode.readPlan(inode, { offsetBytes: first.nextOffsetBytes!, lengthBytes: sizeBytes - first.nextOffsetBytes! });
  expect(rest.ranges.length).toBe(LIMITS.chunkSizeBytes / blockBytes);
  expect(rest.nextOffsetBytes).toBeUndefined();
}, 60_000);

test("directories nested 5,000 deep rename like any other, and no directory moves under itself", async () => {
  const c = await h.client();
  let parent = (await c.inode.mkdir(ROOT_INODE, "deep")).inode;
  const chain = [parent];
  for (let i = 0; i < 5_000; i++) {
    parent = (await c.inode.mkdir(parent, "d")).inode;
    chain.push(parent);
  }
  await c.inode.rename({ parent: chain[4_999]!, name: "d", newParent: ROOT_INODE, newName: "moved-up" });
  expect((await c.inode.lookup(ROOT_INODE, "moved-up")).inode).toBe(chain[5_000]!);
  expect(await codeOf(c.inode.rename({ parent: ROOT_INODE, name: "deep", newParent: chain[4_000]!, newName: "loop" }))).toBe("EINVAL");
}, 120_000);

test("op names that are not own entries of the op table are ENOSYS, not an internal error", async () => {
  const conn = await RawConnection.open(h.port);
  try {
    const names = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];
    names.forEach((op, i) => conn.request(i + 1, op, { mount: 1 }));
    const codes = new Map<number, string>();
    for (let i = 0; i < names.length; i++) {
      const reply = (await conn.next())!;
      codes.set(reply.requestId, ((reply.value as { error: { code: string } }).error).code);
    }
    expect([...codes.values()]).toEqual(names.map(() => "ENOSYS"));
    conn.request(99, "batch", { ops: [{ op: "__proto__", args: {} }] });
    const batch = (await conn.next())!.value as { ok: boolean; value: Array<{ ok: boolean; error: { code: string } }> };
    expect(batch.value[0]!.error.code).toBe("ENOSYS");
  } finally {
    conn.close();
  }
});

test("watch subscriptions past the per-connection limit are EMFILE; a closed connection's are reaped", async () => {
  const conn = await RawConnection.open(h.port);
  const max = LIMITS.watchSubscriptionsPerConnectionMax;
  for (let i = 1; i <= max + 1; i++) conn.request(i, "watch_subscribe", { mount: 1, inode: ROOT_INODE, subscription: i });
  const errors: string[] = [];
  for (let seen = 0; seen < max + 1; ) {
    const frame = (await conn.next())!;
    if (frame.requestId > max + 1 || (frame.flags & 0x4) !== 0) continue;
    seen++;
    const value = frame.value as { ok: boolean; error?: { code: string } };
    if (!value.ok) errors.push(value.error!.code);
  }
  expect(errors).toEqual(["EMFILE"]);
  const stats = async () => ((await (await h.client()).serverStats()) as { watch: { subscriptions: number } }).watch.subscriptions;
  expect(await stats()).toBeGreaterThanOrEqual(max);
  conn.close();
  await conn.closedPromise;
  for (let i = 0; i < 50 && (await stats()) >= max; i++) await Bun.sleep(20);
  expect(await stats()).toBeLessThan(max);
}, 60_000);
