import { expect, test } from "bun:test";
import type { InodeAttrs } from "../types/index.ts";
import { attrsFromWire, attrsToWire, resultFromWire, resultToWire, writeResultToWire } from "./results.ts";
import { codeOf } from "./testing.ts";

const base: InodeAttrs = {
  inode: 7, version: 9, type: "file", mode: 0o644, uid: 1, gid: 2, sizeBytes: 1 << 20, generation: 3, nlink: 1, parent: 1,
  atimeNs: 1n, mtimeNs: 2n, ctimeNs: 3n, target: "", rdev: 0, holeBytes: 0,
};

test("attribute tuples: 14 elements, 15 with rdev, 16 with hole bytes; each decodes to what was sent", () => {
  const dense = attrsToWire(base);
  expect(dense).toHaveLength(14);
  const device = { ...base, type: "chardev" as const, sizeBytes: 0, rdev: 259 };
  expect(attrsToWire(device)).toHaveLength(15);
  const sparse = { ...base, holeBytes: (1 << 20) - 4096 };
  const tuple = attrsToWire(sparse);
  expect(tuple).toHaveLength(16);
  expect(tuple.slice(14)).toEqual([0, (1 << 20) - 4096]);
  for (const attrs of [base, device, sparse]) expect(attrsFromWire(attrsToWire(attrs))).toEqual(attrs);
  expect(codeOf(() => attrsFromWire([...tuple, 0]))).toBe("EPROTO");
  expect(codeOf(() => attrsFromWire(dense.slice(0, 13)))).toBe("EPROTO");
});

test("a publish's result: the tuple alone, or {attrs, next} when it carries the next prepare; a replay's wire form passes through", () => {
  const next = { prepareId: "p", inode: 7, generation: 4 };
  expect(resultToWire("publish", base)).toEqual(attrsToWire(base));
  const withNext = resultToWire("publish", { ...base, next });
  expect(withNext).toEqual({ attrs: attrsToWire(base), next });
  expect(resultFromWire("publish", withNext)).toEqual({ ...base, next });
  expect(resultFromWire("publish", attrsToWire(base))).toEqual(base);
  // Encoded once for the dedupe record and the wire alike, then decoded by a replay: unchanged.
  expect(writeResultToWire({ ...base, next })).toEqual(withNext);
  expect(resultToWire("publish", withNext)).toBe(withNext);
  expect(codeOf(() => resultFromWire("publish", { next }))).toBe("EPROTO");
});
