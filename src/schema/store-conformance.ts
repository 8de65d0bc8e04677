import { describe, expect, test, afterEach } from "bun:test";
import { FsError, ORDINAL_END, type InodeAttrs } from "../types/index.ts";
import type { InodeValue, MetadataCommand, Mutation, Predicate } from "./command.ts";
import type { MetadataStore } from "./store.ts";
import { STAGED_EXPIRY_MAX_MS, stagedPrepareId } from "./staged-id.ts";

// The definition of a metadata store engine: every engine runs this suite through one line,
// runStoreSuite("name", factory). Engines differ in storage; they agree on everything here.

export interface StoreHarness {
  store: MetadataStore;
  /** Closes and reopens the same data (file-backed engines); null when the engine cannot. */
  reopen: (() => MetadataStore) | null;
  cleanup: () => void;
}

const M = 1;

function attrs(inode: number, type: InodeAttrs["type"] = "file", extra: Partial<InodeValue> = {}): InodeValue {
  return {
    inode, type, mode: 0o644, uid: 0, gid: 0, sizeBytes: 0, generation: 0, nlink: 1, parent: 1,
    atimeNs: 1_732_430_000_123_456_789n, mtimeNs: 1_732_430_000_123_456_789n, ctimeNs: 1_732_430_000_123_456_789n,
    target: "", rdev: 0, holeBytes: 0, ...extra,
  };
}

/** A command in mount M's shard, next in its log. */
function cmd(s: MetadataStore, mutations: Mutation[], extra: Partial<MetadataCommand> = {}): MetadataCommand {
  const state = s.shardState(M);
  return {
    shard: M, version: state.version + 1, kind: "create_file", timestampMs: 1_000, nextId: state.nextId,
    predicates: [], mutations, watchEvents: [], keepHistory: true, ...extra,
  };
}

const putInode = (inode: number, type: InodeAttrs["type"] = "file", extra: Partial<InodeValue> = {}): Mutation =>
  ({ family: "inode", op: "put", key: { mount: M, inode }, value: attrs(inode, type, extra) });
const putDentry = (parent: number, name: string, inode: number, type: InodeAttrs["type"] = "file"): Mutation =>
  ({ family: "dentry", op: "put", key: { mount: M, parent, name }, value: { inode, type } });
const delDentry = (parent: number, name: string): Mutation => ({ family: "dentry", op: "delete", key: { mount: M, parent, name } });

export function runStoreSuite(engine: string, makeHarness: () => StoreHarness): void {
  describe(`metadata store conformance: ${engine}`, () => {
    let h: StoreHarness;
    const open = () => (h = makeHarness()).store;
    afterEach(() => h?.cleanup());

    test("a commit is visible at once with its version stamped", () => {
      const s = open();
      const r = s.commit(cmd(s, [putInode(1, "dir"), putInode(2), putDentry(1, "a", 2)]));
      expect(r.commitVersion).toBe(s.shardState(M).version);
      expect(s.getInode({ mount: M, inode: 2 })).toEqual({ ...attrs(2), version: r.commitVersion });
      expect(s.getDentry({ mount: M, parent: 1, name: "a" })).toEqual({ name: "a", inode: 2, type: "file", version: r.commitVersion });
      expect(s.getInode({ mount: 2, inode: 2 })).toBeNull();
    });

    test("versions increase strictly across commits", () => {
      const s = open();
      const a = s.commit(cmd(s, [putInode(1, "dir")])).commitVersion;
      const b = s.commit(cmd(s, [putInode(2)])).commitVersion;
      expect(b).toBeGreaterThan(a);
    });

    test("nanosecond times survive exactly", () => {
      const s = open();
      s.commit(cmd(s, [putInode(5, "file", { mtimeNs: 9_007_199_254_740_993_123n })]));
      expect(s.getInode({ mount: M, inode: 5 })!.mtimeNs).toBe(9_007_199_254_740_993_123n);
    });

    test("each predicate kind holds or fails with its errno, applying nothing", () => {
      const s = open();
      s.commit(cmd(s, [putInode(1, "dir"), putInode(2), putDentry(1, "a", 2)]));
      const v = s.shardState(M).version;
      const fails: Predicate[] = [
        { kind: "exists", target: { family: "dentry", key: { mount: M, parent: 1, name: "zz" } }, errno: "ENOENT" },
        { kind: "notExists", target: { family: "dentry", key: { mount: M, parent: 1, name: "a" } }, errno: "EEXIST" },
        { kind: "prefixEmpty", target: { family: "dir", key: { mount: M, inode: 1 } }, errno: "ENOTEMPTY" },
        { kind: "versionEquals", target: { family: "inode", key: { mount: M, inode: 2 } }, version: v - 1, errno: "ESTALE" },
        { kind: "exists", target: { family: "dir", key: { mount: M, inode: 2 } }, errno: "ENOTDIR" },
      ];
      for (const p of fails) {
        let caught: unknown;
        try {
          s.commit(cmd(s, [putInode(9)], { predicates: [p] }));
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(FsError);
        expect((caught as FsError).code).toBe(p.errno);
        expect(s.getInode({ mount: M, inode: 9 })).toBeNull();
      }
      expect(s.shardState(M).version).toBe(v);
      const holds: Predicate[] = [
        { kind: "exists", target: { family: "dentry", key: { mount: M, parent: 1, name: "a" } }, errno: "ENOENT" },
        { kind: "notExists", target: { family: "inode", key: { mount: M, inode: 9 } }, errno: "EEXIST" },
        { kind: "prefixEmpty", target: { family: "dir", key: { mount: M, inode: 2 } }, errno: "ENOTEMPTY" },
        { kind: "versionEquals", target: { family: "inode", key: { mount: M, inode: 2 } }, version: v, errno: "ESTALE" },
      ];
      s.commit(cmd(s, [putInode(9)], { predicates: holds }));
      expect(s.getInode({ mount: M, inode: 9 })).not.toBeNull();
      expect(s.counters.commandsRejected).toBe(fails.length);
    });

    test("a request key records the result bytes; the key is looked up, never applied twice", () => {
      const s = open();
      const result = new Uint8Array([1, 2, 3]);
      const first = s.commit(cmd(s, [putInode(3)], { requestKey: "client-1:7", result }));
      const again = s.replay("client-1:7")!;
      expect(again.replayed).toBe(true);
      expect(again.commitVersion).toBe(first.commitVersion);
      expect([...again.result!]).toEqual([1, 2, 3]);
      expect(s.replay("client-1:8")).toBeNull();
      // A builder that skipped the lookup cannot record the key twice: the command fails whole.
      expect(() => s.commit(cmd(s, [putInode(4)], { requestKey: "client-1:7" }))).toThrow();
      expect(s.getInode({ mount: M, inode: 4 })).toBeNull();
    });

    test("a command whose version is not the shard's next is refused", () => {
      const s = open();
      const c = cmd(s, [putInode(3)]);
      expect(() => s.commit({ ...c, version: c.version + 1 })).toThrow("version");
      expect(s.getInode({ mount: M, inode: 3 })).toBeNull();
      s.commit(c);
      expect(() => s.commit(c)).toThrow("version");
    });

    test("a command that throws mid-apply leaves no trace, inside or outside a group", () => {
      const s = open();
      s.commit(cmd(s, [putInode(1, "dir")]));
      // An insert of a key that exists breaks mid-apply, after the first mutation was written.
      const boom = () => cmd(s, [putInode(7), { family: "inode", op: "insert", key: { mount: M, inode: 1 }, value: attrs(1, "dir") }]);
      expect(() => s.commit(boom())).toThrow();
      expect(s.getInode({ mount: M, inode: 7 })).toBeNull();
      const before = s.shardState(M).version;
      s.group(() => {
        s.commit(cmd(s, [putInode(8)]));
        expect(() => s.commit(boom())).toThrow();
        s.commit(cmd(s, [putInode(10)]));
      });
      expect(s.shardState(M).version).toBe(before + 2);
      expect(s.getInode({ mount: M, inode: 7 })).toBeNull();
      expect(s.getInode({ mount: M, inode: 8 })).not.toBeNull();
      expect(s.getInode({ mount: M, inode: 10 })).not.toBeNull();
    });

    test("a group's first writer that throws mid-apply rolls back alone; the group goes on", () => {
      const s = open();
      s.commit(cmd(s, [putInode(1, "dir")]));
      const before = s.shardState(M).version;
      s.group(() => {
        const boom = cmd(s, [putInode(7), { family: "inode", op: "insert", key: { mount: M, inode: 1 }, value: attrs(1, "dir") }], { keepHistory: false });
        expect(() => s.commit(boom)).toThrow();
        s.commit(cmd(s, [putInode(8)], { keepHistory: false }));
      });
      expect(s.shardState(M).version).toBe(before + 1);
      expect(s.getInode({ mount: M, inode: 7 })).toBeNull();
      expect(s.getInode({ mount: M, inode: 8 })).not.toBeNull();
    });

    test("a group that throws rolls back every command in it", () => {
      const s = open();
      expect(() =>
        s.group(() => {
          s.commit(cmd(s, [putInode(11)]));
          throw new Error("group failed");
        }),
      ).toThrow("group failed");
      expect(s.getInode({ mount: M, inode: 11 })).toBeNull();
      s.commit(cmd(s, [putInode(12)]));
      expect(s.getInode({ mount: M, inode: 12 })).not.toBeNull();
    });

    test("reads at a version see replaced and deleted values from history", () => {
      const s = open();
      const v1 = s.commit(cmd(s, [putInode(1, "dir"), putInode(2, "file", { mode: 0o600 }), putDentry(1, "a", 2)])).commitVersion;
      const v2 = s.commit(cmd(s, [putInode(2, "file", { mode: 0o644 })])).commitVersion;
      const v3 = s.commit(cmd(s, [delDentry(1, "a"), { family: "inode", op: "delete", key: { mount: M, inode: 2 } }])).commitVersion;
      expect(s.getInode({ mount: M, inode: 2 }, v1)!.mode).toBe(0o600);
      expect(s.getInode({ mount: M, inode: 2 }, v1)!.version).toBe(v1);
      expect(s.getInode({ mount: M, inode: 2 }, v2)!.mode).toBe(0o644);
      expect(s.getInode({ mount: M, inode: 2 }, v3)).toBeNull();
      expect(s.getInode({ mount: M, inode: 2 }, v1 - 1)).toBeNull();
      expect(s.getDentry({ mount: M, parent: 1, name: "a" }, v2)!.inode).toBe(2);
      expect(s.getDentry({ mount: M, parent: 1, name: "a" }, v3)).toBeNull();
      expect(s.counters.historyWrites).toBe(3);
    });

    test("a deletion made without history never resurrects an older history value", () => {
      const s = open();
      s.commit(cmd(s, [putInode(1, "dir"), putDentry(1, "a", 2)]));
      s.commit(cmd(s, [putDentry(1, "a", 3)]));
      s.commit(cmd(s, [delDentry(1, "a")], { keepHistory: false }));
      const later = s.shardState(M).version;
      expect(s.getDentry({ mount: M, parent: 1, name: "a" }, later)).toBeNull();
      expect(s.scanDentries(M, 1, { limit: 10, at: later })).toEqual([]);
    });

    test("a listing at a version shows entries deleted since and hides entries created since", () => {
      const s = open();
      s.commit(cmd(s, [putInode(1, "dir"), putDentry(1, "b", 3), putDentry(1, "d", 5)]));
      const v = s.commit(cmd(s, [putDentry(1, "c", 4)])).commitVersion;
      s.commit(cmd(s, [delDentry(1, "b"), putDentry(1, "a", 6), putDentry(1, "c", 7)]));
      const names = (at?: number) => s.scanDentries(M, 1, { limit: 10, at }).map((d) => `${d.name}:${d.inode}`);
      expect(names(v)).toEqual(["b:3", "c:4", "d:5"]);
      expect(names()).toEqual(["a:6", "c:7", "d:5"]);
      expect(s.scanDentries(M, 1, { limit: 2, at: v, after: "b" }).map((d) => d.name)).toEqual(["c", "d"]);
      expect(s.scanDentries(M, 1, { limit: 1, at: v }).map((d) => d.name)).toEqual(["b"]);
    });

    test("readdir-plus joins each entry with its inode, in name order, paged", () => {
      const s = open();
      const muts: Mutation[] = [putInode(1, "dir")];
      for (let i = 0; i < 50; i++) muts.push(putInode(100 + i), putDentry(1, `f${String(i).padStart(2, "0")}`, 100 + i));
      s.commit(cmd(s, muts));
      const page = s.scanDentriesPlus(M, 1, { limit: 20, after: "f09" });
      expect(page.length).toBe(20);
      expect(page[0]!.name).toBe("f10");
      expect(page[0]!.attrs.inode).toBe(110);
      expect(page[0]!.attrs.mtimeNs).toBe(1_732_430_000_123_456_789n);
    });

    test("manifests are versioned like inodes", () => {
      const s = open();
      const key = { mount: M, inode: 2, generation: 1, chunkIndex: 0 };
      const chunk = { chunkIndex: 0, blocks: [{ key: "blocks/1/2/1/0/0", offsetInChunk: 0, lengthBytes: 10, objectOffset: 0 }] };
      const v1 = s.commit(cmd(s, [{ family: "manifest", op: "insert", key, value: { kind: "chunk", chunk } }])).commitVersion;
      s.commit(cmd(s, [{ family: "manifest", op: "delete", key }]));
      expect(s.getManifest(key)).toBeNull();
      expect(s.getManifest(key, v1)).toEqual({ kind: "chunk", chunk });
      expect(s.scanManifests(M, 2, 1, v1)).toEqual([{ chunkIndex: 0, value: { kind: "chunk", chunk } }]);
      expect(s.scanManifests(M, 2, 1)).toEqual([]);
    });

    test("watch events replay after a cursor in commit order", () => {
      const s = open();
      const v1 = s.commit(cmd(s, [], { watchEvents: [
        { mount: M, kind: "create", scope: 1, name: "a", inode: 2 },
        { mount: M, kind: "create", scope: 1, name: "b", inode: 3 },
      ] })).commitVersion;
      s.commit(cmd(s, [], { watchEvents: [{ mount: M, kind: "rename", scope: 1, name: "a", inode: 2, toScope: 1, toName: "z" }] }));
      const all = s.scanWatch(M, 1, { version: 0, ordinal: 0 }, 10);
      expect(all.events.map((e) => `${e.kind}:${e.name}`)).toEqual(["create:a", "create:b", "rename:a"]);
      expect(all.events[2]).toEqual({ kind: "rename", scope: 1, name: "a", inode: 2, toScope: 1, toName: "z", version: v1 + 1, ordinal: 0 });
      expect(all.more).toBe(false);
      expect(s.scanWatch(M, 1, { version: v1, ordinal: 0 }, 10).events.map((e) => e.name)).toEqual(["b", "a"]);
      const one = s.scanWatch(M, 1, { version: 0, ordinal: 0 }, 1);
      expect(one).toEqual({ events: [expect.objectContaining({ name: "a" })], through: { version: v1, ordinal: 0 }, more: true });
      expect(s.scanWatch(M, 1, one.through, 10).events.map((e) => e.name)).toEqual(["b", "a"]);
      // Another scope's events are read past, not returned; the page ends after what it read.
      expect(s.scanWatch(M, 2, { version: 0, ordinal: 0 }, 10)).toEqual({ events: [], through: { version: v1 + 1, ordinal: ORDINAL_END }, more: false });
    });

    test("a watch page reads at most its command budget, and its cursor resumes after what it read", () => {
      const s = open();
      const quiet = s.commit(cmd(s, [], { watchEvents: [{ mount: M, kind: "create", scope: 2, name: "first", inode: 5 }] })).commitVersion;
      for (let i = 0; i < 9; i++) s.commit(cmd(s, [], { watchEvents: [{ mount: M, kind: "create", scope: 1, name: `busy${i}`, inode: 10 + i }] }));
      const last = s.commit(cmd(s, [], { watchEvents: [{ mount: M, kind: "create", scope: 2, name: "second", inode: 6 }] })).commitVersion;
      const names: string[] = [];
      let cursor = { version: 0, ordinal: 0 };
      let pages = 0;
      for (let more = true; more; pages++) {
        const page = s.scanWatch(M, 2, cursor, 100, 4);
        names.push(...page.events.map((e) => e.name));
        expect(page.through.version).toBeGreaterThan(cursor.version);
        cursor = page.through;
        more = page.more;
      }
      expect(names).toEqual(["first", "second"]);
      // Versions quiet..last are 11 commands: pages of 4, 4 and 3 (a short page is the last).
      expect([quiet, last, pages]).toEqual([1, 11, 3]);
    });

    test("history GC keeps exactly what a pinned version can read", () => {
      const s = open();
      s.commit(cmd(s, [putInode(2, "file", { mode: 0o600 })]));
      const pinned = s.commit(cmd(s, [putInode(2, "file", { mode: 0o640 })])).commitVersion;
      s.commit(cmd(s, [putInode(2, "file", { mode: 0o644 })]));
      const doomed = (pins: number[]) => {
        const bands = [{ mount: M, replacedAfter: -1, replacedThrough: pins[0] ?? Number.MAX_SAFE_INTEGER, versionAbove: -1 }];
        if (pins.length > 0) bands.push({ mount: M, replacedAfter: pins[0]!, replacedThrough: Number.MAX_SAFE_INTEGER, versionAbove: pins[0]! });
        return bands.flatMap((b) => s.scanHistoryBand(b, 100));
      };
      const first = doomed([pinned]);
      expect(first.length).toBe(1);
      s.commit(cmd(s, first.map((key) => ({ family: "history", op: "delete", key }) as Mutation)));
      expect(s.getInode({ mount: M, inode: 2 }, pinned)!.mode).toBe(0o640);
      expect(doomed([]).length).toBe(1);
      expect(s.historyMounts(0, 10)).toEqual([M]);
    });

    test("a shard's allocator and clock survive a reopen", () => {
      const s = open();
      const c = cmd(s, [putInode(1, "dir")]);
      const firstId = c.nextId;
      c.nextId += 10;
      s.commit(c);
      expect(s.shardState(M).nextId).toBe(firstId + 10);
      const version = s.shardState(M).version;
      if (!h.reopen) return;
      const again = h.reopen();
      expect(again.shardState(M)).toMatchObject({ version, nextId: firstId + 10 });
      expect(again.shardState(M + 1).version).toBe(0);
      expect(again.shardState(M).version).toBeGreaterThanOrEqual(version);
      const next = again.commit(cmd(again, [putInode(3)])).commitVersion;
      expect(next).toBeGreaterThan(version);
      expect(again.getInode({ mount: M, inode: 1 })).not.toBeNull();
    });

    test("expired prepares are found in every mount, whatever the shape of their ids, and no unexpired one", () => {
      const s = open();
      const staged = (mount: number, prepareId: string, expiresAtMs: number): Mutation =>
        ({ family: "staged", op: "put", key: { mount, prepareId }, value: { inode: 9, generation: 1, keyPrefix: `blocks/${mount}/9/1`, expiresAtMs, freshInode: true } });
      const ids: Array<[number, string, number]> = [];
      for (const mount of [M, 2, 3]) {
        for (const expiresAtMs of [50, 150, 99, 101, 100]) ids.push([mount, stagedPrepareId(mount, expiresAtMs, expiresAtMs, `u${expiresAtMs}`), expiresAtMs]);
        // Shapes a version 5 store made, and any other: they sort below and above the ordered range.
        ids.push([mount, `${mount}.7.legacy`, 60], [mount, `${mount}.7.fresh`, 500], [mount, `z-${mount}`, 70], [mount, `z-${mount}-late`, 900]);
      }
      for (const mount of [M, 2, 3]) {
        const state = s.shardState(mount);
        s.commit({ ...cmd(s, ids.filter(([m]) => m === mount).map(([m, id, at]) => staged(m, id, at))), shard: mount, version: state.version + 1, nextId: state.nextId });
      }
      const expired = (now: number, limit = 1_000) => s.scanStagedExpired(now, limit).map((p) => p.prepareId).sort();
      const want = (now: number) => ids.filter(([, , at]) => at < now).map(([, id]) => id).sort();
      for (const now of [0, 50, 51, 100, 101, 151, 501, 1_000]) expect(expired(now)).toEqual(want(now));
      // A limit cuts the pass short; what it returns is still expired.
      const some = s.scanStagedExpired(101, 4);
      expect(some.length).toBe(4);
      for (const p of some) expect(p.expiresAtMs).toBeLessThan(101);
    });

    test("a prepare id's expiry must fit the digits that order it", () => {
      expect(() => stagedPrepareId(M, STAGED_EXPIRY_MAX_MS + 1, 1, "u")).toThrow(RangeError);
      expect(stagedPrepareId(M, 255, 4, "u")).toBe(`${M}.e0000000000ff.4.u`);
    });

    test("pins, staged entries and the GC queue round-trip", () => {
      const s = open();
      const v = s.commit(cmd(s, [
        { family: "pin", op: "put", key: { mount: M, snapshotId: 4 }, value: { rootInode: 1, readVersion: 2 } },
        { family: "staged", op: "put", key: { mount: M, prepareId: "p1" }, value: { inode: 9, generation: 1, keyPrefix: "blocks/1/9/1", expiresAtMs: 100, freshInode: true } },
        { family: "gc", op: "put", key: { mount: M, objectKey: "blocks/1/9/0/0/0" } },
      ])).commitVersion;
      expect(s.listPins(M)).toEqual([{ mount: M, snapshotId: 4, rootInode: 1, readVersion: 2, createdVersion: v }]);
      expect(s.getStaged(M, "p1")).toMatchObject({ keyPrefix: "blocks/1/9/1", freshInode: true });
      expect(s.scanStagedExpired(101, 10).length).toBe(1);
      expect(s.scanStagedExpired(100, 10).length).toBe(0);
      expect(s.scanGc(M, v, 10)).toEqual([{ mount: M, enqueueVersion: v, objectKey: "blocks/1/9/0/0/0" }]);
      expect(s.scanGc(M, v - 1, 10)).toEqual([]);
      expect(s.gcMounts(0, 10)).toEqual([M]);
      expect(s.readLog(M, v, 10).map((e) => e.version)).toEqual([v]);
    });

    test("staged puts among inserts apply in order: a later put of a prepare wins, a delete after a put removes it", () => {
      const s = open();
      const put = (prepareId: string, generation: number): Mutation =>
        ({ family: "staged", op: "put", key: { mount: M, prepareId }, value: { inode: 9, generation, keyPrefix: `blocks/1/9/${generation}`, expiresAtMs: 100, freshInode: false } });
      const insert = (inode: number): Mutation => ({ family: "inode", op: "insert", key: { mount: M, inode }, value: attrs(inode, "file") });
      const v = s.commit(cmd(s, [
        insert(20), put("a", 1), insert(21), put("b", 2), put("a", 3), insert(22),
        put("c", 4), { family: "staged", op: "delete", key: { mount: M, prepareId: "c" } }, put("d", 5),
      ])).commitVersion;
      expect(s.getStaged(M, "a")).toMatchObject({ generation: 3, keyPrefix: "blocks/1/9/3", createdVersion: v, freshInode: false });
      expect(s.getStaged(M, "b")).toMatchObject({ generation: 2 });
      expect(s.getStaged(M, "c")).toBeNull();
      expect(s.getStaged(M, "d")).toMatchObject({ generation: 5 });
      for (const inode of [20, 21, 22]) expect(s.getInode({ mount: M, inode })).not.toBeNull();
    });

    test("block references: 0 queues the key, back from 0 unqueues it, below 0 is corruption", () => {
      const s = open();
      const ref = (delta: number): Mutation => ({ family: "blockref", op: "add", key: { mount: M, objectKey: "blocks/1/9/1/0/0" }, value: { delta } });
      s.commit(cmd(s, [ref(1), ref(1)]));
      expect(s.blockRefCount(M, "blocks/1/9/1/0/0")).toBe(2);
      const dropped = s.commit(cmd(s, [ref(-2)])).commitVersion;
      expect(s.blockRefCount(M, "blocks/1/9/1/0/0")).toBe(0);
      expect(s.scanGc(M, dropped, 10)).toEqual([{ mount: M, enqueueVersion: dropped, objectKey: "blocks/1/9/1/0/0" }]);
      s.commit(cmd(s, [ref(1)]));
      expect(s.scanGc(M, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
      const version = s.shardState(M).version;
      expect(() => s.commit(cmd(s, [ref(-2)]))).toThrow(/references/);
      expect(s.shardState(M).version).toBe(version);
      expect(s.blockRefCount(M, "blocks/1/9/1/0/0")).toBe(1);
    });

    test("a clone entry copies the inode, its dentry and its body (current or as of a version), counting blocks", () => {
      const s = open();
      const chunk = { kind: "chunk" as const, chunk: { chunkIndex: 0, blocks: [{ key: "blocks/1/5/7/0/0", offsetInChunk: 0, lengthBytes: 10, objectOffset: 0 }] } };
      const summary = { kind: "summary" as const, summary: { sizeBytes: 10, chunkSizeBytes: 64, blockSizeBytes: 16, chunkCount: 1, digest: "", producer: "", contentType: "" } };
      const body = (inode: number, generation: number): Mutation[] => [
        { family: "manifest", op: "insert", key: { mount: M, inode, generation, chunkIndex: 0 }, value: chunk },
        { family: "manifest", op: "insert", key: { mount: M, inode, generation, chunkIndex: Number.MAX_SAFE_INTEGER }, value: summary },
        { family: "blockref", op: "add", key: { mount: M, objectKey: "blocks/1/5/7/0/0" }, value: { delta: 1 } },
      ];
      const before = s.commit(cmd(s, [putInode(5, "file", { generation: 7, sizeBytes: 10 }), ...body(5, 7)])).commitVersion;
      const cloneOf = (inode: number, name: string, at?: number): Mutation => ({
        family: "clone", op: "insert", key: { mount: M, parent: 1, name },
        value: { inode: attrs(inode, "file", { generation: 7, sizeBytes: 10 }), source: 5, ...(at === undefined ? {} : { at }) },
      });
      s.commit(cmd(s, [cloneOf(6, "copy")]));
      expect(s.getDentry({ mount: M, parent: 1, name: "copy" })).toMatchObject({ inode: 6, type: "file" });
      expect(s.getInode({ mount: M, inode: 6 })).toMatchObject({ generation: 7, sizeBytes: 10 });
      expect(s.scanManifests(M, 6, 7).map((r) => r.value)).toEqual([chunk, summary]);
      expect(s.blockRefCount(M, "blocks/1/5/7/0/0")).toBe(2);
      // The source's body goes (history kept), then a copy as of `before` brings it back.
      s.commit(cmd(s, [
        { family: "manifest", op: "delete", key: { mount: M, inode: 5, generation: 7, chunkIndex: 0 } },
        { family: "manifest", op: "delete", key: { mount: M, inode: 5, generation: 7, chunkIndex: Number.MAX_SAFE_INTEGER } },
        { family: "blockref", op: "add", key: { mount: M, objectKey: "blocks/1/5/7/0/0" }, value: { delta: -1 } },
      ]));
      s.commit(cmd(s, [cloneOf(8, "old", before)]));
      expect(s.scanManifests(M, 8, 7).map((r) => r.value)).toEqual([chunk, summary]);
      expect(s.blockRefCount(M, "blocks/1/5/7/0/0")).toBe(2);
      s.commit(cmd(s, [{ family: "body", op: "copy", key: { mount: M, inode: 5, generation: 7 }, value: { source: 5, at: before } }]));
      expect(s.scanManifests(M, 5, 7).map((r) => r.value)).toEqual([chunk, summary]);
      expect(s.blockRefCount(M, "blocks/1/5/7/0/0")).toBe(3);
    });
  });
}
