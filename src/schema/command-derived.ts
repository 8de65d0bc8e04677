import type { DentryKey, MetadataCommand, Mutation, Predicate, WatchEventDraft } from "./command.ts";

// Parts of a create's command that follow from its dentry inserts: one "the name is free"
// predicate and one create event per new name. A 256-name create repeats the name three times
// (insert, predicate, event); the log stores the predicates and events as a marker instead when
// they are exactly what the inserts imply, and decoding rebuilds them field for field, so a
// replayed command is the command that was applied.

type DentryInsert = Extract<Mutation, { family: "dentry" }> & { op: "insert"; value: { inode: number } };

function isDentryInsert(m: Mutation): m is DentryInsert {
  return m.family === "dentry" && m.op === "insert";
}

const freeNameDetail = (name: string) => `'${name}' already exists`;

function sameKey(a: DentryKey, b: DentryKey): boolean {
  return a.name === b.name && a.parent === b.parent && a.mount === b.mount && Object.keys(a).length === 3;
}

/** Whether `predicates` are exactly one free-name predicate per dentry insert, in insert order. */
export function predicatesFollowInserts(command: MetadataCommand): boolean {
  const { predicates } = command;
  let next = 0;
  for (const m of command.mutations) {
    if (!isDentryInsert(m)) continue;
    const p = predicates[next++];
    if (p === undefined || p.kind !== "notExists" || p.errno !== "EEXIST" || p.target.family !== "dentry") return false;
    if (!sameKey(p.target.key, m.key) || p.detail !== freeNameDetail(m.key.name)) return false;
    if (Object.keys(p).length !== 4 || Object.keys(p.target).length !== 2) return false;
  }
  return next > 0 && next === predicates.length;
}

export function predicatesOfInserts(mutations: readonly Mutation[]): Predicate[] {
  const out: Predicate[] = [];
  for (const m of mutations) {
    if (!isDentryInsert(m)) continue;
    const { mount, parent, name } = m.key;
    out.push({ kind: "notExists", target: { family: "dentry", key: { mount, parent, name } }, errno: "EEXIST", detail: freeNameDetail(name) });
  }
  return out;
}

/** Whether `watchEvents` are exactly one create event per dentry insert, in insert order. */
export function eventsFollowInserts(command: MetadataCommand): boolean {
  const { watchEvents, shard } = command;
  let next = 0;
  for (const m of command.mutations) {
    if (!isDentryInsert(m)) continue;
    const e = watchEvents[next++];
    if (e === undefined || e.kind !== "create" || e.mount !== shard || m.key.mount !== shard) return false;
    if (e.scope !== m.key.parent || e.name !== m.key.name || e.inode !== m.value.inode || Object.keys(e).length !== 5) return false;
  }
  return next > 0 && next === watchEvents.length;
}

export function eventsOfInserts(mutations: readonly Mutation[], shard: number): WatchEventDraft[] {
  const out: WatchEventDraft[] = [];
  for (const m of mutations) {
    if (isDentryInsert(m)) out.push({ mount: shard, kind: "create", scope: m.key.parent, name: m.key.name, inode: m.value.inode });
  }
  return out;
}
