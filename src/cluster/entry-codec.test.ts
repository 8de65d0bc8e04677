import { expect, test } from "bun:test";
import { pack } from "msgpackr";
import { decodeEntry, encodeEntry, needsFragments, splitIntoEntries } from "./entry-codec.ts";
import { LIMITS } from "../types/limits.ts";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

test("entries round-trip with their epoch and positions", () => {
  const entry = { epoch: 3, first: 10, last: 12, commands: [bytes(1), bytes(2), bytes(3)] };
  expect(decodeEntry(encodeEntry(entry), "k")).toEqual({ ...entry, fragments: null });
  const fragmented = decodeEntry(encodeEntry({ epoch: 3, first: 13, last: 13, commands: [] }, { count: 4, sizeBytes: 5_000_000 }), "k");
  expect(fragmented.fragments).toEqual({ count: 4, sizeBytes: 5_000_000 });
});

test("a malformed log value is EIO naming its key, never skipped", () => {
  const bad = [pack([9, 1, 1, 1, [bytes(1)]]), pack([1, 1, 2, 1, [bytes(1)]]), pack([1, 1, 1, 2, [bytes(1)]]), pack({ a: 1 })];
  for (const value of bad) expect(() => decodeEntry(value, "/c/shards/1/log/5")).toThrow(/EIO.*\/c\/shards\/1\/log\/5/);
});

test("packing keeps order, bounds bytes and count per entry, and isolates commands that need fragments", () => {
  const small = Array.from({ length: 10 }, (_, i) => bytes(400_000, i));
  const runs = splitIntoEntries(small);
  expect(runs.flat()).toEqual(small);
  for (const run of runs) expect(run.reduce((n, c) => n + c.byteLength, 0)).toBeLessThanOrEqual(LIMITS.shardEntryMaxBytes);
  const huge = bytes(LIMITS.shardEntryMaxBytes + 1);
  expect(needsFragments(huge)).toBe(true);
  expect(splitIntoEntries([bytes(1), huge, bytes(1)]).map((r) => r.length)).toEqual([1, 1, 1]);
});

test("large entries are deflated (format 2) and read back exactly; a corrupt one is EIO", () => {
  const commands = Array.from({ length: 64 }, (_, i) => new TextEncoder().encode(`{"kind":"create_files","names":["file-${i}-a","file-${i}-b"],"mode":420}`.repeat(8)));
  const entry = { epoch: 2, first: 5, last: 68, commands };
  const encoded = encodeEntry(entry);
  expect(encoded.byteLength).toBeLessThan(commands.reduce((n, c) => n + c.byteLength, 0) / 2);
  const decoded = decodeEntry(encoded, "k");
  expect({ ...decoded, commands: decoded.commands.map((c) => Buffer.from(c).toString()) }).toEqual({ ...entry, commands: commands.map((c) => Buffer.from(c).toString()), fragments: null });
  expect(() => decodeEntry(pack([2, 1, 1, 1, bytes(40, 7)]), "/c/shards/1/log/9")).toThrow(/EIO.*\/c\/shards\/1\/log\/9/);
});
