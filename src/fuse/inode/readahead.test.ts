import { describe, expect, test } from "bun:test";
import { FsError, LIMITS } from "../../types/index.ts";
import { Readahead } from "./readahead.ts";

const WINDOW = LIMITS.fuseReadaheadBytes;

function file(sizeBytes: number) {
  const body = new Uint8Array(sizeBytes).map((_, i) => i % 251);
  const fetches: Array<[number, number, number]> = [];
  let generation = 1;
  const fetch = async (offset: number, length: number, gen: number) => {
    fetches.push([offset, length, gen]);
    if (gen !== generation) throw new FsError("ESTALE");
    return body.subarray(offset, Math.min(sizeBytes, offset + length));
  };
  return { body, fetches, fetch, bump: () => generation++, generation: () => generation };
}

describe("Readahead", () => {
  test("sequential reads fetch whole windows and keep the next ones in flight", async () => {
    const f = file(3 * WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation());
    const step = 128 * 1024;
    await ra.read(0, step);
    const ahead = LIMITS.fuseReadaheadWindows;
    // The first read starts its window and the ones after it at once, so they overlap.
    expect(f.fetches.map(([o, l]) => [o, l])).toEqual(Array.from({ length: ahead + 1 }, (_, k) => [k * WINDOW, WINDOW]));
    for (let at = step; at < 3 * WINDOW; at += step) {
      expect(await ra.read(at, step)).toEqual(f.body.subarray(at, at + step));
    }
    // Every fetch is a whole window, each fetched once.
    const offsets = f.fetches.map(([o, l]) => (l === WINDOW ? o : -1));
    expect(offsets.every((o) => o >= 0 && o % WINDOW === 0)).toBe(true);
    expect(new Set(offsets).size).toBe(offsets.length);
  });

  test("random reads fetch only what they ask for", async () => {
    const far = (LIMITS.fuseReadaheadWindows + 2) * WINDOW;
    const f = file(far + WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation());
    await ra.read(0, 4096);
    f.fetches.length = 0;
    expect(await ra.read(far + 100, 10)).toEqual(f.body.subarray(far + 100, far + 110));
    expect(f.fetches).toEqual([[far + 100, 10, 1]]);
  });

  test("a short read at the end of the file", async () => {
    const f = file(1000);
    const ra = new Readahead(f.fetch, 1, async () => f.generation());
    expect((await ra.read(0, 4096)).byteLength).toBe(1000);
    expect((await ra.read(4096, 4096)).byteLength).toBe(0);
  });

  test("when the body moves, windows are dropped and the read starts over on the new generation", async () => {
    const f = file(WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation());
    await ra.read(0, 4096);
    f.bump();
    ra.drop();
    expect(await ra.read(4096, 4096)).toEqual(f.body.subarray(4096, 8192));
    expect(f.fetches.at(-1)![2]).toBe(2);
  });

  test("an ESTALE from the store refreshes the generation and reads again", async () => {
    const far = (LIMITS.fuseReadaheadWindows + 2) * WINDOW;
    const f = file(far + WINDOW);
    const ra = new Readahead(f.fetch, 1, async () => f.generation());
    await ra.read(0, 4096);
    f.bump();
    expect(await ra.read(far + 10, 10)).toEqual(f.body.subarray(far + 10, far + 20));
    expect(f.fetches.slice(-2).map(([, , g]) => g)).toEqual([1, 2]);
  });
});
