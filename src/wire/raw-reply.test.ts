import { expect, test } from "bun:test";
import { decodePayload, encodePayload } from "./codec.ts";
import { arrayItems, encodeOkArray, encodeRawMap } from "./raw-reply.ts";

test("an encoded array splits into its items' bytes, and items frame back into {ok, value} replies", () => {
  const values: unknown[] = [
    [1, 2, 0, 0o644, 0, 0, 0, 0, 1, 1, 1_700_000_000_123_456_789n, 2n ** 63n + 5n, -7n, ""],
    { a: [1, { b: "x".repeat(300) }], c: null, d: true },
    "s".repeat(70_000),
    new Uint8Array([1, 2, 3]),
    -1, 2 ** 40, 0.5, null, [],
  ];
  // Array headers of each size: fixarray, array16, array32 (the long string only in the short lists).
  for (const count of [values.length, 20, 70_000]) {
    const pool = count > 1000 ? values.filter((v) => typeof v !== "string") : values;
    const list = Array.from({ length: count }, (_, i) => pool[i % pool.length]);
    const items = arrayItems(encodePayload(list))!;
    expect(items.map((b) => decodePayload(b))).toEqual(list.map((v) => decodePayload(encodePayload(v))));
    expect(decodePayload(encodeOkArray(items))).toEqual(list.map((v) => ({ ok: true, value: decodePayload(encodePayload(v)) })));
  }
  expect(arrayItems(encodePayload({ not: "an array" }))).toBeNull();
  expect(arrayItems(new Uint8Array([0x92, 0x01]))).toBeNull();
});

test("a map of already-encoded values decodes as the map encoded whole", () => {
  const attrs = [9, 3, 0, 0o644, 0, 0, 0, 0, 1, 2, 1_700_000_000_123_456_789n, 1n, 2n, ""];
  const prepared = { prepareId: "1.e00000000012c.10.u", mount: 1, inode: 9, keyPrefix: "blocks/1/9/10", expiresAtMs: 300 };
  const raw = encodeRawMap([["attrs", encodePayload(attrs)], ["prepared", encodePayload(prepared)]]);
  expect(decodePayload(raw)).toEqual(decodePayload(encodePayload({ attrs, prepared })));
  expect(decodePayload(encodeRawMap([]))).toEqual({});
  expect(() => encodeRawMap([["k".repeat(32), encodePayload(1)]])).toThrow();
  expect(() => encodeRawMap([["é", encodePayload(1)]])).toThrow();
});
