import { Packr } from "msgpackr";
import { TYPE_CODE, TYPE_FROM_CODE } from "./ddl.ts";
import type { InodeValue, MetadataCommand, Mutation, Predicate, WatchEventDraft } from "./command.ts";
import { eventsFollowInserts, eventsOfInserts, predicatesFollowInserts, predicatesOfInserts } from "./command-derived.ts";

// The log's encoding of a command: msgpack, no records or shared structures (an entry decodes
// alone, in any language), bigints (nanosecond times) as int64 and back, results as bin.
//
// The common mutations, predicates and events travel as positional tuples instead of maps: a
// create's entry is 3x smaller and encodes about twice as fast, and an entry is written for
// every command. Anything else (a family this table does not know, a value with extra fields)
// travels as its map, so a new mutation kind needs no codec change to stay replayable.
//
// Format 2 (format 1 entries still decode): a create's predicates and events travel as a marker
// when they are exactly what its dentry inserts imply (command-derived.ts), and an inode whose
// three times are equal carries one. A 256-name create's entry is about 40% smaller.

const FORMAT = 2;
const FORMATS_READ: ReadonlySet<unknown> = new Set([1, FORMAT]);
/** In place of the predicates or events list: derived from the dentry inserts. */
const FROM_INSERTS = 1;

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  int64AsType: "bigint",
});

const OP = ["insert", "put", "delete", "trim"] as const;
type Op = (typeof OP)[number];
const opCode = (op: Op) => OP.indexOf(op);

const F_INODE = 1, F_DENTRY = 2, F_GC = 3, F_PIN = 4, F_SYSTEM = 5, F_HISTORY = 6, F_WATCH = 7, F_DEDUPE = 8;
const INODE_KEYS = 15;

// Inode tuples by length: 11 = one instant for all three times (a new inode), 12 = three times
// (logged before schema version 3: no rdev), 13 = three times and rdev, 14 = that and hole bytes.
// Hole bytes travel only when not 0 (a sparse file), so dense bodies log as they always did.
function inodeTuple(v: InodeValue): unknown[] | null {
  if (Object.keys(v).length !== INODE_KEYS || TYPE_CODE[v.type] === undefined) return null;
  // A new inode's times are one instant: 11 elements, the time once (an int64 is 9 bytes).
  if (v.holeBytes === 0 && v.atimeNs === v.mtimeNs && v.mtimeNs === v.ctimeNs && typeof v.atimeNs === "bigint") {
    return [TYPE_CODE[v.type], v.mode, v.uid, v.gid, v.sizeBytes, v.generation, v.nlink, v.parent, v.atimeNs, v.target, v.rdev];
  }
  const t = [TYPE_CODE[v.type], v.mode, v.uid, v.gid, v.sizeBytes, v.generation, v.nlink, v.parent, v.atimeNs, v.mtimeNs, v.ctimeNs, v.target, v.rdev];
  if (v.holeBytes !== 0) t.push(v.holeBytes);
  return t;
}

function inodeFromTuple(inode: number, t: unknown[]): InodeValue {
  const base = {
    inode, type: TYPE_FROM_CODE[t[0] as number]!, mode: t[1] as number, uid: t[2] as number, gid: t[3] as number,
    sizeBytes: t[4] as number, generation: t[5] as number, nlink: t[6] as number, parent: t[7] as number,
  };
  if (t.length === 11) return { ...base, atimeNs: t[8] as bigint, mtimeNs: t[8] as bigint, ctimeNs: t[8] as bigint, target: t[9] as string, rdev: t[10] as number, holeBytes: 0 };
  // Entries logged before schema version 3 carry 12 elements: they were never devices.
  return {
    ...base, atimeNs: t[8] as bigint, mtimeNs: t[9] as bigint, ctimeNs: t[10] as bigint, target: t[11] as string,
    rdev: (t[12] as number | undefined) ?? 0, holeBytes: (t[13] as number | undefined) ?? 0,
  };
}

function mutationTuple(m: Mutation): unknown {
  switch (m.family) {
    case "inode": {
      if (m.op === "delete") return [F_INODE, 2, m.key.mount, m.key.inode];
      const t = m.value.inode === m.key.inode ? inodeTuple(m.value) : null;
      return t ? [F_INODE, opCode(m.op), m.key.mount, m.key.inode, t] : m;
    }
    case "dentry":
      if (m.op === "delete") return [F_DENTRY, 2, m.key.mount, m.key.parent, m.key.name];
      if (TYPE_CODE[m.value.type] === undefined || Object.keys(m.value).length !== 2) return m;
      return [F_DENTRY, opCode(m.op), m.key.mount, m.key.parent, m.key.name, m.value.inode, TYPE_CODE[m.value.type]];
    case "gc":
      return m.op === "put" ? [F_GC, 1, m.key.mount, m.key.objectKey] : [F_GC, 2, m.key.mount, m.key.enqueueVersion, m.key.objectKey];
    case "pin":
      return m.op === "delete" ? [F_PIN, 2, m.key.mount, m.key.snapshotId] : [F_PIN, 1, m.key.mount, m.key.snapshotId, m.value.rootInode, m.value.readVersion];
    case "system":
      return m.op === "delete" ? [F_SYSTEM, 2, m.key.name] : [F_SYSTEM, 1, m.key.name, m.value.int ?? null, m.value.text ?? null];
    case "history": {
      const k = m.key;
      return [F_HISTORY, 2, k.family, k.mount, k.k1, k.k2, k.k3, k.name, k.version];
    }
    case "watch":
      return [F_WATCH, 3, m.key.mount, m.key.beforeVersion];
    case "dedupe":
      return m.op === "delete" ? [F_DEDUPE, 2, m.key.requestKey] : m;
    default:
      return m;
  }
}

function mutationFromTuple(t: unknown): Mutation {
  if (!Array.isArray(t)) return t as Mutation;
  const op = OP[t[1] as number] as never;
  switch (t[0]) {
    case F_INODE:
      return t[1] === 2
        ? { family: "inode", op: "delete", key: { mount: t[2], inode: t[3] } }
        : { family: "inode", op, key: { mount: t[2], inode: t[3] }, value: inodeFromTuple(t[3], t[4]) };
    case F_DENTRY:
      return t[1] === 2
        ? { family: "dentry", op: "delete", key: { mount: t[2], parent: t[3], name: t[4] } }
        : { family: "dentry", op, key: { mount: t[2], parent: t[3], name: t[4] }, value: { inode: t[5], type: TYPE_FROM_CODE[t[6]]! } };
    case F_GC:
      return t[1] === 1
        ? { family: "gc", op: "put", key: { mount: t[2], objectKey: t[3] } }
        : { family: "gc", op: "delete", key: { mount: t[2], enqueueVersion: t[3], objectKey: t[4] } };
    case F_PIN:
      return t[1] === 2
        ? { family: "pin", op: "delete", key: { mount: t[2], snapshotId: t[3] } }
        : { family: "pin", op: "put", key: { mount: t[2], snapshotId: t[3] }, value: { rootInode: t[4], readVersion: t[5] } };
    case F_SYSTEM: {
      if (t[1] === 2) return { family: "system", op: "delete", key: { name: t[2] } };
      const value: { int?: number; text?: string } = {};
      if (t[3] !== null) value.int = t[3];
      if (t[4] !== null) value.text = t[4];
      return { family: "system", op: "put", key: { name: t[2] }, value };
    }
    case F_HISTORY:
      return { family: "history", op: "delete", key: { family: t[2], mount: t[3], k1: t[4], k2: t[5], k3: t[6], name: t[7], version: t[8] } };
    case F_WATCH:
      return { family: "watch", op: "trim", key: { mount: t[2], beforeVersion: t[3] } };
    case F_DEDUPE:
      return { family: "dedupe", op: "delete", key: { requestKey: t[2] } };
  }
  throw new Error(`metadata corrupt: a command log entry holds mutation code ${String(t[0])}`);
}

const EVENT_KEYS = new Set(["mount", "kind", "scope", "name", "inode", "toScope", "toName", "generation"]);

const PREDICATE_KINDS = ["exists", "notExists", "prefixEmpty", "versionEquals"] as const;
const TARGET_FAMILIES = ["inode", "dentry", "dir"] as const;
/** A create's predicate detail, "'NAME' already exists", travels as this code instead of the text. */
const DETAIL_ALREADY_EXISTS = 1;

// A create of 256 names carries 256 predicates: as maps they were half of its entry's bytes and
// most of its decode time. Kept only while every field is one this tuple holds.
function predicateTuple(p: Predicate): unknown {
  const kind = PREDICATE_KINDS.indexOf(p.kind);
  const family = TARGET_FAMILIES.indexOf(p.target.family);
  const extra = Object.keys(p).length - (p.detail === undefined ? 3 : 4) - (p.kind === "versionEquals" ? 1 : 0);
  const key = p.target.key as { mount: number; inode?: number; parent?: number; name?: string };
  if (kind < 0 || family < 0 || extra !== 0 || Object.keys(key).length !== (p.target.family === "dentry" ? 3 : 2)) return p;
  const name = p.target.family === "dentry" ? (key.name as string) : null;
  const detail = p.detail === undefined ? null : name !== null && p.detail === `'${name}' already exists` ? DETAIL_ALREADY_EXISTS : p.detail;
  const version = p.kind === "versionEquals" ? p.version : null;
  return [kind, family, key.mount, p.target.family === "dentry" ? key.parent : key.inode, name, p.errno, detail, version];
}

function predicateFromTuple(t: unknown): Predicate {
  if (!Array.isArray(t)) return t as Predicate;
  const [kind, family, mount, k1, name, errno, detail, version] = t as [number, number, number, number, string | null, Predicate["errno"], string | number | null, number | null];
  const target = (family === 1 ? { family: "dentry", key: { mount, parent: k1, name } } : { family: TARGET_FAMILIES[family], key: { mount, inode: k1 } }) as Predicate["target"];
  const p = { kind: PREDICATE_KINDS[kind], target, errno } as Predicate;
  if (version !== null) (p as { version?: number }).version = version;
  if (detail !== null) p.detail = detail === DETAIL_ALREADY_EXISTS ? `'${name}' already exists` : (detail as string);
  return p;
}

function eventTuple(e: WatchEventDraft, shard: number): unknown {
  if (e.mount !== shard || Object.keys(e).some((k) => !EVENT_KEYS.has(k))) return e;
  return [e.kind, e.scope, e.name, e.inode, e.toScope ?? null, e.toName ?? null, e.generation ?? null];
}

function eventFromTuple(t: unknown, shard: number): WatchEventDraft {
  if (!Array.isArray(t)) return t as WatchEventDraft;
  const e: WatchEventDraft = { mount: shard, kind: t[0], scope: t[1], name: t[2], inode: t[3] };
  if (t[4] !== null) e.toScope = t[4];
  if (t[5] !== null) e.toName = t[5];
  if (t[6] !== null) e.generation = t[6];
  return e;
}

export function encodeCommand(c: MetadataCommand): Uint8Array {
  const predicates = predicatesFollowInserts(c) ? FROM_INSERTS : c.predicates.map(predicateTuple);
  const events = eventsFollowInserts(c) ? FROM_INSERTS : c.watchEvents.map((e) => eventTuple(e, c.shard));
  return packr.pack([
    FORMAT, c.shard, c.version, c.kind, c.requestKey ?? null, c.timestampMs, c.nextId, c.keepHistory,
    predicates, c.mutations.map(mutationTuple), events, c.result ?? null,
    c.dedupe ? c.dedupe.map((d) => [d.requestKey, d.result]) : null,
  ]);
}

export function decodeCommand(bytes: Uint8Array): MetadataCommand {
  const t = packr.unpack(bytes) as unknown[];
  if (!Array.isArray(t) || !FORMATS_READ.has(t[0]) || t.length !== 13) {
    throw new Error("metadata corrupt: a command log entry does not decode to a command");
  }
  const shard = t[1] as number;
  const mutations = (t[9] as unknown[]).map(mutationFromTuple);
  const command: MetadataCommand = {
    shard,
    version: t[2] as number,
    kind: t[3] as MetadataCommand["kind"],
    timestampMs: t[5] as number,
    nextId: t[6] as number,
    keepHistory: t[7] as boolean,
    predicates: t[8] === FROM_INSERTS ? predicatesOfInserts(mutations) : (t[8] as unknown[]).map(predicateFromTuple),
    mutations,
    watchEvents: t[10] === FROM_INSERTS ? eventsOfInserts(mutations, shard) : (t[10] as unknown[]).map((e) => eventFromTuple(e, shard)),
  };
  if (t[4] !== null) command.requestKey = t[4] as string;
  if (t[11] !== null) command.result = t[11] as Uint8Array;
  if (t[12] !== null) command.dedupe = (t[12] as Array<[string, Uint8Array]>).map(([requestKey, result]) => ({ requestKey, result }));
  return command;
}
