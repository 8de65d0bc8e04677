import { expect, test } from "bun:test";
import { Packr } from "msgpackr";
import type { MetadataCommand, Mutation, Predicate } from "./command.ts";
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

/** A create of `names` in directory 7 as the namespace builds it: inserts, free-name predicates, create events. */
function create(names: string[], now = 1_700_000_000_123_456_789n): MetadataCommand {
  const c = base([]);
  names.forEach((name, i) => {
    const inode = 900 + i;
    const key = { mount: 3, parent: 7, name };
    c.predicates.push({ kind: "notExists", target: { family: "dentry", key }, errno: "EEXIST", detail: `'${name}' already exists` });
    c.mutations.push(
      { family: "inode", op: "insert", key: { mount: 3, inode }, value: { inode, type: "file", mode: 0o644, uid: 1, gid: 2, sizeBytes: 0, generation: 0, nlink: 1, parent: 7, atimeNs: now, mtimeNs: now, ctimeNs: now, target: "", rdev: 0, holeBytes: 0 } },
      { family: "dentry", op: "insert", key, value: { inode, type: "file" } },
    );
    c.watchEvents.push({ mount: 3, kind: "create", scope: 7, name, inode });
  });
  c.mutations.push({ family: "inode", op: "put", key: { mount: 3, inode: 7 }, value: { inode: 7, type: "dir", mode: 0o755, uid: 0, gid: 0, sizeBytes: 0, generation: 0, nlink: 2, parent: 1, atimeNs: 5n, mtimeNs: now, ctimeNs: now, target: "", rdev: 0, holeBytes: 0 } });
  return c;
}

test("a create's predicates and events follow from its inserts: the entry stores neither, decoding rebuilds both", () => {
  const c = create(Array.from({ length: 64 }, (_, i) => `file-${i}`));
  const entry = encodeCommand(c);
  expect(decodeCommand(entry)).toEqual(c);
  const spelled = encodeCommand({ ...c, predicates: [...c.predicates, every[2]!], watchEvents: [...c.watchEvents, { mount: 3, kind: "remove", scope: 7, name: "x", inode: 5 }] });
  expect(entry.byteLength).toBeLessThan(spelled.byteLength * 0.7);
});

test("merged creates with their files' staged prepares (create_prepared) round-trip, dedupe records and all", () => {
  const c = create(["a", "b"]);
  c.predicates = [];
  c.mutations.push(
    { family: "staged", op: "put", key: { mount: 3, prepareId: "3.e018bcfe56800.902.u1" }, value: { inode: 900, generation: 902, keyPrefix: "blocks/3/900/902", expiresAtMs: 1_700_000_600_000, freshInode: false } },
    { family: "staged", op: "put", key: { mount: 3, prepareId: "3.e018bcfe56800.903.u2" }, value: { inode: 901, generation: 903, keyPrefix: "blocks/3/901/903", expiresAtMs: 1_700_000_600_000, freshInode: false } },
  );
  c.dedupe = [{ requestKey: "c1:5", result: new Uint8Array([0x91, 0x01]) }];
  delete c.requestKey;
  expect(decodeCommand(encodeCommand(c))).toEqual(c);
});

test("predicates or events that differ from what the inserts imply travel as they are", () => {
  const c = create(["a", "b", "c"]);
  const variants: MetadataCommand[] = [
    { ...c, predicates: c.predicates.slice(0, 2) },
    { ...c, predicates: [c.predicates[0]!, { ...c.predicates[1]!, detail: "taken" }, c.predicates[2]!] },
    { ...c, predicates: [c.predicates[1]!, c.predicates[0]!, c.predicates[2]!] },
    { ...c, predicates: [...c.predicates, every[4]!] },
    { ...c, watchEvents: c.watchEvents.slice(1) },
    { ...c, watchEvents: [c.watchEvents[0]!, { ...c.watchEvents[1]!, inode: 1 }, c.watchEvents[2]!] },
    { ...c, watchEvents: [c.watchEvents[0]!, { ...c.watchEvents[1]!, generation: 3 }, c.watchEvents[2]!] },
    { ...c, shard: 4 },
  ];
  for (const v of variants) expect(decodeCommand(encodeCommand(v))).toEqual(v);
});

test("an inode's times travel once when they are one instant, and each when they differ", () => {
  const c = create(["a"]);
  const decoded = decodeCommand(encodeCommand(c));
  expect(decoded.mutations).toEqual(c.mutations);
  const sameTimes = encodeCommand(c).byteLength;
  const m = c.mutations[0] as Extract<Mutation, { family: "inode"; value: unknown }>;
  const later = { ...c, mutations: [{ ...m, value: { ...m.value, mtimeNs: m.value.mtimeNs + 1n } }, ...c.mutations.slice(1)] };
  expect(decodeCommand(encodeCommand(later))).toEqual(later);
  expect(encodeCommand(later).byteLength).toBe(sameTimes + 18);
});

test("a sparse file's hole bytes travel after rdev, whether its times are one instant or not", () => {
  const c = create(["a"]);
  const m = c.mutations[0] as Extract<Mutation, { family: "inode"; value: unknown }>;
  const sparse = { ...c, mutations: [{ ...m, value: { ...m.value, sizeBytes: 1 << 20, holeBytes: (1 << 20) - 10 } }, ...c.mutations.slice(1)] };
  expect(decodeCommand(encodeCommand(sparse))).toEqual(sparse);
  // Three times, rdev and the count: 18 bytes for the two extra times, 5 for the count.
  expect(encodeCommand(sparse).byteLength).toBe(encodeCommand({ ...c, mutations: [{ ...m, value: { ...m.value, sizeBytes: 1 << 20 } }, ...c.mutations.slice(1)] }).byteLength + 18 + 5);
});

test("format 1 entries, with inode tuples of 13 elements and events spelled out, still decode", () => {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false, structuredClone: false, bundleStrings: false, int64AsType: "bigint" });
  const t = 1_700_000_000_123_456_789n;
  const old = packr.pack([1, 3, 41, "create_file", null, 1_700_000_000_000, 901, false, [], [[1, 0, 3, 900, [0, 0o644, 0, 0, 0, 0, 1, 7, t, t, t, "", 0]]], [["create", 7, "a", 900, null, null, null]], null, null]);
  const c = decodeCommand(old);
  expect(c.mutations[0]).toEqual({ family: "inode", op: "insert", key: { mount: 3, inode: 900 }, value: { inode: 900, type: "file", mode: 0o644, uid: 0, gid: 0, sizeBytes: 0, generation: 0, nlink: 1, parent: 7, atimeNs: t, mtimeNs: t, ctimeNs: t, target: "", rdev: 0, holeBytes: 0 } });
  expect(c.watchEvents).toEqual([{ mount: 3, kind: "create", scope: 7, name: "a", inode: 900 }]);
});
