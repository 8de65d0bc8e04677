import { describe, expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import { WriteBuffer } from "./write-buffer.ts";

const PAGE = LIMITS.fuseMaxWriteBytes;

async function collect(body: Uint8Array | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  const parts: Uint8Array[] = [];
  for await (const piece of body) parts.push(piece);
  return new Uint8Array(Buffer.concat(parts));
}

describe("WriteBuffer", () => {
  test("writes across pages read back, holes read as zeros", async () => {
    const buffer = new WriteBuffer();
    buffer.write(PAGE - 2, new Uint8Array([1, 2, 3, 4]));
    buffer.write(3 * PAGE, new Uint8Array([9]));
    expect(buffer.sizeBytes).toBe(3 * PAGE + 1);
    expect([...buffer.read(PAGE - 3, 6)]).toEqual([0, 1, 2, 3, 4, 0]);
    expect([...buffer.read(2 * PAGE + 5, 2)]).toEqual([0, 0]);
    const whole = await collect(buffer.body());
    expect(whole.byteLength).toBe(3 * PAGE + 1);
    expect(whole[PAGE]).toBe(3);
    expect(whole[3 * PAGE]).toBe(9);
  });

  test("reads clip at the end", () => {
    const buffer = WriteBuffer.of(new TextEncoder().encode("hello"));
    expect(new TextDecoder().decode(buffer.read(3, 100))).toBe("lo");
    expect(buffer.read(10, 5).byteLength).toBe(0);
  });

  test("truncate shrinks and a later extension reads zeros, not the old bytes", () => {
    const buffer = WriteBuffer.of(new Uint8Array([1, 2, 3, 4, 5]));
    buffer.truncate(2);
    buffer.truncate(5);
    expect([...buffer.read(0, 5)]).toEqual([1, 2, 0, 0, 0]);
  });

  test("a small file stays small in memory and comes back as one array", () => {
    const buffer = new WriteBuffer();
    buffer.write(0, new Uint8Array(100).fill(7));
    const body = buffer.body();
    expect(body).toBeInstanceOf(Uint8Array);
    expect((body as Uint8Array).byteLength).toBe(100);
  });

  test("past the limit a write is EFBIG", () => {
    expect(() => new WriteBuffer().write(LIMITS.fuseWriteBufferMaxBytes, new Uint8Array(1))).toThrow(expect.objectContaining({ code: "EFBIG" }));
  });

  test("past its memory budget a buffer spills full pages to disk and reads, rewrites and truncates them there", async () => {
    const buffer = new WriteBuffer();
    const pages = Math.floor(LIMITS.fuseWriteBufferMemoryBytes / PAGE) + 6;
    const page = (i: number) => new Uint8Array(PAGE).fill(i % 251);
    for (let i = 0; i < pages; i++) buffer.write(i * PAGE, page(i));
    expect(buffer.pagesSpilled).toBeGreaterThanOrEqual(6);
    expect(buffer.pagesInMemory * PAGE).toBeLessThanOrEqual(LIMITS.fuseWriteBufferMemoryBytes);
    // A spilled page reads from disk, and a write into it brings it back.
    expect([...buffer.read(PAGE - 1, 2)]).toEqual([0, 1]);
    buffer.write(PAGE + 10, new Uint8Array([200]));
    expect(buffer.read(PAGE + 9, 3)).toEqual(new Uint8Array([1, 200, 1]));
    const whole = await collect(buffer.body());
    expect(whole.byteLength).toBe(pages * PAGE);
    expect(whole[2 * PAGE]).toBe(2);
    expect(whole[PAGE + 10]).toBe(200);
    // Truncating into a spilled page cuts it; growing again reads zeros past the cut.
    buffer.truncate(2 * PAGE + 5);
    buffer.truncate(3 * PAGE);
    expect([...buffer.read(2 * PAGE + 3, 4)]).toEqual([2, 2, 0, 0]);
    buffer.dispose();
  });
});
