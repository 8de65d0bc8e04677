import { describe, expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import type { Node } from "./node-table.ts";
import { PublishedBodies } from "./published-bodies.ts";

const node = (nodeid: number, generation: number) => ({ nodeid, attrs: { generation } }) as unknown as Node;

describe("PublishedBodies", () => {
  test("answers reads of the kept generation only, and forgets a body read to its end", () => {
    const kept = new PublishedBodies();
    kept.remember(node(2, 7), 7, new Uint8Array([1, 2, 3, 4]));
    expect(Array.from(kept.take(node(2, 7), 1, 2)!)).toEqual([2, 3]);
    expect(Array.from(kept.take(node(2, 7), 2, 100)!)).toEqual([3, 4]);
    expect(kept.take(node(2, 7), 0, 4)).toBeNull();
    kept.remember(node(3, 1), 1, new Uint8Array([9]));
    // The node moved on to another generation: nothing is answered and the entry goes.
    expect(kept.take(node(3, 2), 0, 1)).toBeNull();
    expect(kept.bytes).toBe(0);
    expect(kept.counts).toEqual({ kept: 2, served: 2 });
  });

  test(`keeps at most fusePublishedKeptMaxBytes (${LIMITS.fusePublishedKeptMaxBytes}), oldest out first; larger files not at all`, () => {
    const kept = new PublishedBodies();
    const fileBytes = LIMITS.fusePublishedKeptFileMaxBytes;
    const fit = LIMITS.fusePublishedKeptMaxBytes / fileBytes;
    for (let i = 0; i <= fit; i++) kept.remember(node(10 + i, 1), 1, new Uint8Array(fileBytes));
    expect(kept.bytes).toBe(LIMITS.fusePublishedKeptMaxBytes);
    expect(kept.take(node(10, 1), 0, 1)).toBeNull();
    expect(kept.take(node(11, 1), 0, 1)).not.toBeNull();
    kept.remember(node(99, 1), 1, new Uint8Array(fileBytes + 1));
    expect(kept.take(node(99, 1), 0, 1)).toBeNull();
    kept.forget(11);
    expect(kept.bytes).toBe(LIMITS.fusePublishedKeptMaxBytes - fileBytes);
  });
});
