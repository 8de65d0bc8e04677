import { expect, test } from "bun:test";
import { Packr } from "msgpackr";
import type { MetadataCommand, Predicate } from "./command.ts";
import { decodeCommand, encodeCommand } from "./command-codec.ts";

const base = (predicates: Predicate[]): MetadataCommand => ({
  shard: 3, version: 41, kind: "create_files", requestKey: "k-1", timestampMs: 1_700_000_000_000, nextId: 900, keepHistory: false,
  predicates, mutations: [], watchEvents: [],
});

const every: Predicate[] = [
  { kind: "notExists", target: { family: "dentry", key: { mount: 3, parent: 7, name: "a.txt" } }, errno: "EEXIST", detail: "'a.txt' already exists" },
  { kind: "notExists", target: { family: "dentry", key: { mount: 3, parent: 7, name: "b" } }, errno: "EEXIST", detail: "something else" },
  { kind: "exists", target: { family: "inode", key: { mount: 3, inode: 12 } }, errno: "ENOENT" },
  { kind: "prefixEmpty", target: { family: "dir", key: { mount: 3, inode: 7 } }, errno: "ENOTEMPTY", detail: "not empty" },
  { kind: "versionEquals", target: { family: "dentry", key: { mount: 3, parent: 1, name: "x" } }, version: 40, errno: "ESTALE" },
];

test("every predicate kind survives the log's encoding", () => {
  expect(decodeCommand(encodeCommand(base(every))).predicates).toEqual(every);
});

test("a create's predicates travel as tuples: the entry is much smaller than with maps", () => {
  const many = Array.from({ length: 256 }, (_, i): Predicate => ({
    kind: "notExists", target: { family: "dentry", key: { mount: 3, parent: 7, name: `f${i}` } }, errno: "EEXIST", detail: `'f${i}' already exists`,
  }));
  const asMaps = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false, structuredClone: false, bundleStrings: false }).pack(many);
  const entry = encodeCommand(base(many));
  expect(entry.byteLength).toBeLessThan(asMaps.byteLength / 2);
  expect(decodeCommand(entry).predicates).toEqual(many);
});

test("a predicate with a field the tuple does not hold travels as its map", () => {
  const odd = { kind: "exists", target: { family: "inode", key: { mount: 3, inode: 12, extra: 1 } }, errno: "ENOENT" } as unknown as Predicate;
  expect(decodeCommand(encodeCommand(base([odd]))).predicates).toEqual([odd]);
});

test("entries written with predicates as maps still decode", () => {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false, structuredClone: false, bundleStrings: false, int64AsType: "bigint" });
  const old = packr.pack([1, 3, 41, "create_files", "k-1", 1_700_000_000_000, 900, false, every, [], [], null, null]);
  expect(decodeCommand(old).predicates).toEqual(every);
});
