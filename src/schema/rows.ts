import type { BodySummary, ChunkManifest, Dentry, InodeAttrs, Version, WatchEvent } from "../types/index.ts";
import { TYPE_FROM_CODE } from "./ddl.ts";
import type { ManifestValue, WatchEventDraft } from "./command.ts";

// Row <-> value codecs. Rows come back as arrays from statements in safe-integer mode, so times are
// exact bigints and every other integer is converted once here, right after it is read.

/** Column order every inode read selects, so one decoder serves current rows and joins. */
export const INODE_COLUMNS =
  "inode, version, type, mode, uid, gid, size, generation, nlink, parent, atime_ns, mtime_ns, ctime_ns, target, rdev, hole_bytes";

/** The history encoding of an inode: a JSON array built by SQLite inside the copy statement. */
export const INODE_HISTORY_JSON =
  "json_array(type, mode, uid, gid, size, generation, nlink, parent, CAST(atime_ns AS TEXT), CAST(mtime_ns AS TEXT), CAST(ctime_ns AS TEXT), target, rdev, hole_bytes)";

type Row = readonly unknown[];

function typeFromCode(code: unknown): InodeAttrs["type"] {
  const type = TYPE_FROM_CODE[Number(code)];
  if (!type) throw new Error(`metadata corrupt: inode type code ${String(code)}`);
  return type;
}

/** Decodes INODE_COLUMNS starting at `offset` of a safe-integer row. */
export function inodeFromRow(row: Row, offset = 0): InodeAttrs {
  return {
    inode: Number(row[offset]),
    version: Number(row[offset + 1]),
    type: typeFromCode(row[offset + 2]),
    mode: Number(row[offset + 3]),
    uid: Number(row[offset + 4]),
    gid: Number(row[offset + 5]),
    sizeBytes: Number(row[offset + 6]),
    generation: Number(row[offset + 7]),
    nlink: Number(row[offset + 8]),
    parent: Number(row[offset + 9]),
    atimeNs: row[offset + 10] as bigint,
    mtimeNs: row[offset + 11] as bigint,
    ctimeNs: row[offset + 12] as bigint,
    target: (row[offset + 13] as string | null) ?? "",
    rdev: Number(row[offset + 14]),
    holeBytes: Number(row[offset + 15]),
  };
}

export function inodeFromHistory(inode: number, version: number, json: string): InodeAttrs {
  const v = JSON.parse(json) as [number, number, number, number, number, number, number, number, string, string, string, string | null, number?, number?];
  return {
    inode,
    version,
    type: typeFromCode(v[0]),
    mode: v[1],
    uid: v[2],
    gid: v[3],
    sizeBytes: v[4],
    generation: v[5],
    nlink: v[6],
    parent: v[7],
    atimeNs: BigInt(v[8]),
    mtimeNs: BigInt(v[9]),
    ctimeNs: BigInt(v[10]),
    target: v[11] ?? "",
    // Rows copied before schema version 3 have no rdev: they were never devices.
    rdev: v[12] ?? 0,
    // Rows copied before schema version 7 have no hole count: bodies read as dense, as they did.
    holeBytes: v[13] ?? 0,
  };
}

export const DENTRY_HISTORY_JSON = "json_array(child, type)";

export function dentryFromRow(row: Row): Dentry {
  return {
    name: row[0] as string,
    version: Number(row[1]),
    inode: Number(row[2]),
    type: typeFromCode(row[3]),
  };
}

export function dentryFromHistory(name: string, version: number, json: string): Dentry {
  const v = JSON.parse(json) as [number, number];
  return { name, version, inode: v[0], type: typeFromCode(v[1]) };
}

export function encodeManifest(value: ManifestValue): string {
  return JSON.stringify(value.kind === "summary" ? { s: value.summary } : { c: value.chunk });
}

export function decodeManifest(text: string): ManifestValue {
  const parsed = JSON.parse(text) as { s?: BodySummary; c?: ChunkManifest };
  if (parsed.s) return { kind: "summary", summary: parsed.s };
  if (parsed.c) return { kind: "chunk", chunk: parsed.c };
  throw new Error("metadata corrupt: manifest value is neither summary nor chunk");
}

/** The event a command's draft becomes at its position in the log (the same in live pushes and replay). */
export function watchEventOf(draft: WatchEventDraft, version: Version, ordinal: number): WatchEvent {
  const event: WatchEvent = { kind: draft.kind, scope: draft.scope, version, ordinal, name: draft.name, inode: draft.inode };
  if (draft.toScope !== undefined) event.toScope = draft.toScope;
  if (draft.toName !== undefined) event.toName = draft.toName;
  if (draft.generation !== undefined) event.generation = draft.generation;
  return event;
}
