import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { FsError, LIMITS, type ErrnoCode } from "../types/index.ts";
import { getInto, type ObjectStore } from "./object-store.ts";

// The definition of an object store backend: every backend runs this suite through one line,
// runObjectStoreSuite("name", factory). It also runs under Node (node:test through a bun:test
// shim, see s3/testing), so it sticks to describe/test/beforeEach/afterEach and toBe/toEqual/toBeNull.

export interface StoreHarness {
  /** An empty store: each test gets its own, so listings see only that test's keys. */
  store: ObjectStore;
  cleanup: () => Promise<void>;
}

const MiB = 1024 * 1024;

/** Deterministic bytes that are not a repeating pattern, so an offset error cannot go unseen. */
export function patternBytes(lengthBytes: number, seed = 1): Uint8Array {
  const out = new Uint8Array(lengthBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < lengthBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual instanceof Uint8Array).toBe(true);
  expect(actual.byteLength).toBe(expected.byteLength);
  let firstDiff = -1;
  for (let i = 0; i < expected.byteLength; i++) {
    if (actual[i] !== expected[i]) {
      firstDiff = i;
      break;
    }
  }
  expect(firstDiff).toBe(-1);
}

async function expectFsError(promise: Promise<unknown>, code: ErrnoCode): Promise<FsError> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught instanceof FsError ? caught.code : `not an FsError: ${String(caught)}`).toBe(code);
  return caught as FsError;
}

async function listAll(store: ObjectStore, prefix: string, limit: number): Promise<string[]> {
  const keys: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1_000; pages++) {
    const page = await store.list(prefix, { after, limit });
    expect(page.keys.length <= limit).toBe(true);
    keys.push(...page.keys);
    if (page.nextAfter === null) return keys;
    after = page.nextAfter;
  }
  throw new Error("list never reached its last page");
}

const text = (s: string) => new TextEncoder().encode(s);

export function runObjectStoreSuite(backend: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`object store conformance: ${backend}`, () => {
    let h: StoreHarness | null = null;
    let s: ObjectStore;
    beforeEach(async () => {
      h = await makeStore();
      s = h.store;
    });
    afterEach(async () => {
      await h?.cleanup();
      h = null;
    });

    test("put then get returns the bytes; head gives the size", async () => {
      await s.put("a/b/c.bin", text("hello, object"));
      expectBytes(await s.get("a/b/c.bin"), text("hello, object"));
      expect(await s.head("a/b/c.bin")).toEqual({ sizeBytes: 13 });
    });

    test("empty and 1-byte objects", async () => {
      await s.put("empty", new Uint8Array(0));
      await s.put("one", new Uint8Array([0xa5]));
      expectBytes(await s.get("empty"), new Uint8Array(0));
      expectBytes(await s.get("one"), new Uint8Array([0xa5]));
      expect(await s.head("empty")).toEqual({ sizeBytes: 0 });
      expect(await s.head("one")).toEqual({ sizeBytes: 1 });
    });

    test("a multi-MiB object round trips exactly", async () => {
      const bytes = patternBytes(9 * MiB + 7, 42);
      await s.put("big/object", bytes);
      expect(await s.head("big/object")).toEqual({ sizeBytes: bytes.byteLength });
      expectBytes(await s.get("big/object"), bytes);
      const tail = await s.get("big/object", { offsetBytes: 8 * MiB + 3, lengthBytes: 2 * MiB });
      expectBytes(tail, bytes.subarray(8 * MiB + 3));
    });

    test("every byte value survives, and only the view of a larger buffer is stored", async () => {
      const all = new Uint8Array(1024);
      for (let i = 0; i < all.length; i++) all[i] = i % 256;
      await s.put("binary", all);
      expectBytes(await s.get("binary"), all);
      const backing = patternBytes(4096, 7);
      const view = backing.subarray(100, 300);
      await s.put("view", view);
      expectBytes(await s.get("view"), backing.slice(100, 300));
    });

    test("keys with spaces, punctuation and non-ASCII characters", async () => {
      const keys = ["dir/ü ñ/name with spaces+(1)&x=y%20.bin", "emoji/😀/é", "q/what?#frag", "t/~tilde'quote\"", "dots/a..b/.hidden"];
      for (const [i, key] of keys.entries()) await s.put(key, text(`v${i}`));
      for (const [i, key] of keys.entries()) expectBytes(await s.get(key), text(`v${i}`));
      expect((await s.list("")).keys).toEqual([...keys].sort());
    });

    test("range reads: start, middle, end, across the end, past the end, zero length", async () => {
      const bytes = patternBytes(1000, 3);
      await s.put("r", bytes);
      const read = (offsetBytes: number, lengthBytes: number) => s.get("r", { offsetBytes, lengthBytes });
      expectBytes(await read(0, 10), bytes.subarray(0, 10));
      expectBytes(await read(500, 123), bytes.subarray(500, 623));
      expectBytes(await read(990, 10), bytes.subarray(990));
      expectBytes(await read(995, 100), bytes.subarray(995));
      expectBytes(await read(0, 5000), bytes);
      expectBytes(await read(1000, 10), new Uint8Array(0));
      expectBytes(await read(5000, 10), new Uint8Array(0));
      expectBytes(await read(10, 0), new Uint8Array(0));
    });

    test("getInto reads a range into the caller's buffer, clipped at the end; a missing key is ENOENT", async () => {
      const bytes = patternBytes(1000, 5);
      await s.put("ri", bytes);
      const into = new Uint8Array(300).fill(0xee);
      expect(await getInto(s, "ri", { offsetBytes: 100, lengthBytes: 200 }, into.subarray(50))).toBe(200);
      expectBytes(into.subarray(50, 250), bytes.subarray(100, 300));
      expect(into[49]).toBe(0xee);
      expect(into[250]).toBe(0xee);
      expect(await getInto(s, "ri", { offsetBytes: 900, lengthBytes: 200 }, into)).toBe(100);
      expectBytes(into.subarray(0, 100), bytes.subarray(900));
      expect(await getInto(s, "ri", { offsetBytes: 1000, lengthBytes: 10 }, into)).toBe(0);
      const err = await expectFsError(getInto(s, "no/such/key", { offsetBytes: 0, lengthBytes: 10 }, into), "ENOENT");
      expect(err.path).toBe("no/such/key");
    });

    test("range reads of an empty object are empty", async () => {
      await s.put("e", new Uint8Array(0));
      expectBytes(await s.get("e", { offsetBytes: 0, lengthBytes: 10 }), new Uint8Array(0));
      expectBytes(await s.get("e", { offsetBytes: 0, lengthBytes: 0 }), new Uint8Array(0));
    });

    test("bad ranges are EINVAL", async () => {
      await s.put("r", patternBytes(10));
      await expectFsError(s.get("r", { offsetBytes: -1, lengthBytes: 1 }), "EINVAL");
      await expectFsError(s.get("r", { offsetBytes: 0, lengthBytes: -1 }), "EINVAL");
      await expectFsError(s.get("r", { offsetBytes: 1.5, lengthBytes: 1 }), "EINVAL");
      await expectFsError(s.get("r", { offsetBytes: Number.NaN, lengthBytes: 1 }), "EINVAL");
    });

    test("put replaces an object whole, longer or shorter", async () => {
      await s.put("o", patternBytes(5000, 1));
      await s.put("o", patternBytes(10, 2));
      expectBytes(await s.get("o"), patternBytes(10, 2));
      expect(await s.head("o")).toEqual({ sizeBytes: 10 });
      await s.put("o", patternBytes(7000, 3));
      expectBytes(await s.get("o"), patternBytes(7000, 3));
      expect((await s.list("")).keys).toEqual(["o"]);
    });

    test("a missing key: get is ENOENT naming the key, head is null", async () => {
      const err = await expectFsError(s.get("no/such/key"), "ENOENT");
      expect(err.path).toBe("no/such/key");
      await expectFsError(s.get("no/such/key", { offsetBytes: 0, lengthBytes: 10 }), "ENOENT");
      await expectFsError(s.get("no/such/key", { offsetBytes: 0, lengthBytes: 0 }), "ENOENT");
      expect(await s.head("no/such/key")).toBeNull();
    });

    test("a key that is only a directory of other keys has no object", async () => {
      await s.put("d/inner", text("x"));
      await expectFsError(s.get("d"), "ENOENT");
      expect(await s.head("d")).toBeNull();
      await s.delete("d");
      expectBytes(await s.get("d/inner"), text("x"));
    });

    test("delete removes the object and is idempotent", async () => {
      await s.put("x/y", text("1"));
      await s.put("x/z", text("2"));
      await s.delete("x/y");
      await expectFsError(s.get("x/y"), "ENOENT");
      expect(await s.head("x/y")).toBeNull();
      await s.delete("x/y");
      await s.delete("never/was/here");
      expect((await s.list("")).keys).toEqual(["x/z"]);
      await s.delete("x/z");
      expect((await s.list("")).keys).toEqual([]);
      await s.put("x/y", text("3"));
      expectBytes(await s.get("x/y"), text("3"));
    });

    test("invalid keys are EINVAL naming the key, for every operation", async () => {
      const bad = [
        "", "/abs", "a/../b", "..", "../x", "a/..", ".", "a/./b", "a//b", "a/", "a\\b", "a\0b", "x/\ud800",
        ".nokv-tmp-1", "d/.nokv-tmp-x/y", "k".repeat(LIMITS.objectKeyMaxBytes + 1),
        `c/${"n".repeat(LIMITS.objectKeyComponentMaxBytes + 1)}`,
      ];
      for (const key of bad) {
        const err = await expectFsError(s.put(key, text("x")), "EINVAL");
        expect(err.message.includes(JSON.stringify(key.slice(0, 20)).slice(0, -1))).toBe(true);
        await expectFsError(s.get(key), "EINVAL");
        await expectFsError(s.head(key), "EINVAL");
        await expectFsError(s.delete(key), "EINVAL");
      }
      const component = "k".repeat(LIMITS.objectKeyComponentMaxBytes);
      const longest = `${component}/${component}/${component}/${"z".repeat(LIMITS.objectKeyMaxBytes - 3 * component.length - 3)}`;
      await s.put(longest, text("max"));
      expectBytes(await s.get(longest), text("max"));
    });

    test("list: prefix, UTF-8 byte order, after, and a partial last component", async () => {
      const keys = ["l/a-c", "l/a/b", "l/a/c/d", "l/ab", "l/b", "l/k1", "l/k10", "l/k2", "m/x", "u/\ue000", "u/😀"];
      for (const key of [...keys].reverse()) await s.put(key, text(key));
      expect((await s.list("")).keys).toEqual(keys);
      expect((await s.list("l/")).keys).toEqual(keys.slice(0, 8));
      expect((await s.list("l/a")).keys).toEqual(["l/a-c", "l/a/b", "l/a/c/d", "l/ab"]);
      expect((await s.list("l/a/")).keys).toEqual(["l/a/b", "l/a/c/d"]);
      expect((await s.list("l/k1")).keys).toEqual(["l/k1", "l/k10"]);
      expect((await s.list("l/a/c/d")).keys).toEqual(["l/a/c/d"]);
      expect((await s.list("u/")).keys).toEqual(["u/\ue000", "u/😀"]);
      expect((await s.list("nothing/")).keys).toEqual([]);
      expect((await s.list("l/b/c/")).keys).toEqual([]);
      expect((await s.list("l/", { after: "l/a/b" })).keys).toEqual(["l/a/c/d", "l/ab", "l/b", "l/k1", "l/k10", "l/k2"]);
      expect((await s.list("l/", { after: "l/a/" })).keys).toEqual(["l/a/b", "l/a/c/d", "l/ab", "l/b", "l/k1", "l/k10", "l/k2"]);
      expect((await s.list("l/", { after: "l/zzz" })).keys).toEqual([]);
      expect((await s.list("l/", { after: "a" })).keys).toEqual(keys.slice(0, 8));
    });

    test("list pages: limit, nextAfter, every key exactly once", async () => {
      const keys = Array.from({ length: 23 }, (_, i) => `p/${String(i).padStart(3, "0")}`);
      await Promise.all(keys.map((key) => s.put(key, text(key))));
      await s.put("q/outside", text("q"));
      const first = await s.list("p/", { limit: 10 });
      expect(first).toEqual({ keys: keys.slice(0, 10), nextAfter: keys[9]! });
      const last = await s.list("p/", { after: keys[19], limit: 10 });
      expect(last).toEqual({ keys: keys.slice(20), nextAfter: null });
      const exact = await s.list("p/", { after: keys[12], limit: 10 });
      expect(exact).toEqual({ keys: keys.slice(13), nextAfter: null });
      for (const limit of [1, 2, 7, 23, 1000]) expect(await listAll(s, "p/", limit)).toEqual(keys);
    });

    test("bad list arguments are EINVAL", async () => {
      for (const limit of [0, -1, 1.5, LIMITS.objectListPageMaxKeys + 1]) await expectFsError(s.list("", { limit }), "EINVAL");
      for (const prefix of ["/x", "a/../", "a//b", "a\0", "a\\b"]) await expectFsError(s.list(prefix), "EINVAL");
      await expectFsError(s.list("", { after: "a\0" }), "EINVAL");
    });

    test("64 concurrent puts of different keys all land", async () => {
      const keys = Array.from({ length: 64 }, (_, i) => `c/${i % 4}/${String(i).padStart(2, "0")}`);
      await Promise.all(keys.map((key, i) => s.put(key, patternBytes(1000 + i, i + 1))));
      expect(await listAll(s, "c/", 1000)).toEqual([...keys].sort());
      const got = await Promise.all(keys.map((key) => s.get(key)));
      got.forEach((bytes, i) => expectBytes(bytes, patternBytes(1000 + i, i + 1)));
    });

    test("url names the backend and carries no secrets", () => {
      expect(/^(file|s3):\/\//.test(s.url)).toBe(true);
      expect(/secret|token|signature|@/i.test(s.url)).toBe(false);
    });
  });
}
