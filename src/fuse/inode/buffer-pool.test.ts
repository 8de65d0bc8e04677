import { describe, expect, test } from "bun:test";
import { BufferPool } from "./buffer-pool.ts";

describe("BufferPool", () => {
  test("reuses what is given back, keeps at most keptMaxBytes of free buffers, and refuses other sizes", () => {
    const pool = new BufferPool(8, 16);
    const [a, b, c] = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(a.byteLength).toBe(8);
    pool.release(a);
    pool.release(b);
    pool.release(c); // a third would pass 16 bytes kept: left to the garbage collector
    expect(pool.keptBuffers).toBe(2);
    pool.release(new Uint8Array(4));
    expect(pool.keptBuffers).toBe(2);
    expect(pool.acquire()).toBe(b);
    expect(pool.acquire()).toBe(a);
    expect(pool.acquire()).not.toBe(c);
    expect(() => new BufferPool(0, 16)).toThrow("not a positive byte count");
  });
});
