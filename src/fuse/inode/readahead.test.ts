import { describe, expect, test } from "bun:test";
import { FsError, LIMITS } from "../../types/index.ts";
import { ownBytes, type LentBytes } from "../kernel/index.ts";
import { BufferPool } from "./buffer-pool.ts";
import { Readahead } from "./readahead.ts";

const WINDOW = LIMITS.fuseReadaheadBytes;

function file(sizeBytes: number) {
  const body = new Uint8Array(sizeBytes).map((_, i) => i % 251);
  const fetches: Array<[number, number, number]> = [];
  let generation = 1;
  const fetch = async (offset: number, length: number, gen: number, into?: Uint8Array) => {
    fetches.push([offset, length, gen]);
    if (gen !== generation) throw new FsError("ESTALE");
    const bytes = body.subarray(offset, Math.min(sizeBytes, offset + length));
    if (!into) return bytes;
    into.set(bytes);
    return into.subarray(0, bytes.byteLength);
  };
  return { body, fetches, fetch, bump: () => generation++, generation: () => generation };
}

/** A read's bytes as the test's own (a lent window is copied and given back at once). */
async function readBytes(ra: Readahead, offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
  return ownBytes(await ra.read(offsetBytes, lengthBytes));
}

describe("Readahead", () => {
  test("sequential reads fetch whole windows and keep the next ones in flight", async () => {
    const f = file(3 * WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation(), new BufferPool(WINDOW, 8 * WINDOW));
    const step = 128 * 1024;
    await readBytes(ra, 0, step);
    const ahead = LIMITS.fuseReadaheadWindows;
    // The first read starts its window and the ones after it at once, so they overlap.
    expect(f.fetches.map(([o, l]) => [o, l])).toEqual(Array.from({ length: ahead + 1 }, (_, k) => [k * WINDOW, WINDOW]));
    for (let at = step; at < 3 * WINDOW; at += step) {
      expect(await readBytes(ra, at, step)).toEqual(f.body.subarray(at, at + step));
    }
    // Every fetch is a whole window, each fetched once.
    const offsets = f.fetches.map(([o, l]) => (l === WINDOW ? o : -1));
    expect(offsets.every((o) => o >= 0 && o % WINDOW === 0)).toBe(true);
    expect(new Set(offsets).size).toBe(offsets.length);
  });

  test("random reads fetch only what they ask for", async () => {
    const far = (LIMITS.fuseReadaheadWindows + 2) * WINDOW;
    const f = file(far + WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation(), new BufferPool(WINDOW, 8 * WINDOW));
    await readBytes(ra, 0, 4096);
    f.fetches.length = 0;
    expect(await readBytes(ra, far + 100, 10)).toEqual(f.body.subarray(far + 100, far + 110));
    expect(f.fetches).toEqual([[far + 100, 10, 1]]);
  });

  test("a short read at the end of the file", async () => {
    const f = file(1000);
    const ra = new Readahead(f.fetch, 1, async () => f.generation(), new BufferPool(WINDOW, 8 * WINDOW));
    expect((await readBytes(ra, 0, 4096)).byteLength).toBe(1000);
    expect((await readBytes(ra, 4096, 4096)).byteLength).toBe(0);
  });

  test("when the body moves, windows are dropped and the read starts over on the new generation", async () => {
    const f = file(WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation(), new BufferPool(WINDOW, 8 * WINDOW));
    await readBytes(ra, 0, 4096);
    f.bump();
    ra.drop();
    expect(await readBytes(ra, 4096, 4096)).toEqual(f.body.subarray(4096, 8192));
    expect(f.fetches.at(-1)![2]).toBe(2);
  });

  test("an ESTALE from the store refreshes the generation and reads again", async () => {
    const far = (LIMITS.fuseReadaheadWindows + 2) * WINDOW;
    const f = file(far + WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation(), new BufferPool(WINDOW, 8 * WINDOW));
    await readBytes(ra, 0, 4096);
    f.bump();
    expect(await readBytes(ra, far + 10, 10)).toEqual(f.body.subarray(far + 10, far + 20));
    expect(f.fetches.slice(-2).map(([, , g]) => g)).toEqual([1, 2]);
  });

  test("a window's buffer is lent to the reply and refilled only after the reply is released", async () => {
    const f = file(8 * WINDOW);
    const pool = new BufferPool(WINDOW, 16 * WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation(), pool);
    const lent = (await ra.read(0, 4096)) as LentBytes;
    expect(lent.bytes).toEqual(f.body.subarray(0, 4096));
    // Every window dropped: those ahead go back once their fetches settle; the lent one stays out.
    ra.drop();
    await Bun.sleep(1);
    expect(pool.keptBuffers).toBe(LIMITS.fuseReadaheadWindows);
    // A new reader from another place takes the free buffers (and one more) and fills them.
    const other = new Readahead(f.fetch, 1, async () => f.generation(), pool);
    await readBytes(other, 4 * WINDOW, 4096);
    await Bun.sleep(1);
    expect(lent.bytes).toEqual(f.body.subarray(0, 4096));
    const free = pool.keptBuffers;
    lent.release();
    lent.release(); // a second release gives nothing back twice
    expect(pool.keptBuffers).toBe(free + 1);
    expect(pool.acquire().buffer).toBe(lent.bytes.buffer);
  });

  test("a read of a dropped window still answers; its buffer waits for the fetch and the reply", async () => {
    const f = file(2 * WINDOW);
    let finish: () => void = () => {};
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const slow = async (offset: number, length: number, gen: number, into?: Uint8Array) => {
      await gate;
      return f.fetch(offset, length, gen, into);
    };
    const pool = new BufferPool(WINDOW, 16 * WINDOW);
    const ra = new Readahead(slow, 1, async () => f.generation(), pool);
    const pending = ra.read(0, 4096);
    ra.drop();
    expect(pool.keptBuffers).toBe(0);
    finish();
    const lent = (await pending) as LentBytes;
    expect(lent.bytes).toEqual(f.body.subarray(0, 4096));
    expect(pool.keptBuffers).toBe(0);
    lent.release();
    expect(pool.keptBuffers).toBe(1);
  });
});
