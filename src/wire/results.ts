import { FsError, type InodeAttrs, type InodeType } from "../types/index.ts";

// Inode attributes are the bulk of what metad sends (every stat, lookup and readdir-plus entry),
// so they travel as a fixed-order array instead of a map: a 1,000-entry readdir-plus reply is
// 2.75x smaller and encodes plus decodes 4.3x faster than with per-entry keys (bench:micro,
// "readdir-plus reply x1000"). Which ops return attributes, and in what shape, is this table;
// both ends convert through it.

//
// Special files (type codes 3-6) add a 15th element, rdev. Files, directories and symlinks keep the
// 14-element tuple, so a client that predates special files reads every namespace without them
// exactly as before, and meets an unknown type code (not a malformed tuple) when one exists.
// A sparse file (hole bytes not 0) adds a 16th, holeBytes, after an rdev of 0.

export type AttrsTuple = [
  inode: number, version: number, type: number, mode: number, uid: number, gid: number, sizeBytes: number,
  generation: number, nlink: number, parent: number, atimeNs: bigint, mtimeNs: bigint, ctimeNs: bigint, target: string,
  rdev?: number, holeBytes?: number,
];

const TYPES: readonly InodeType[] = ["file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket"];
/** Type codes from here on carry rdev. */
const FIRST_SPECIAL_CODE = 3;

export function attrsToWire(a: InodeAttrs): AttrsTuple {
  const code = TYPES.indexOf(a.type);
  const tuple: AttrsTuple = [
    a.inode, a.version, code, a.mode, a.uid, a.gid, a.sizeBytes, a.generation, a.nlink, a.parent,
    a.atimeNs, a.mtimeNs, a.ctimeNs, a.target,
  ];
  if (a.holeBytes > 0) tuple.push(a.rdev, a.holeBytes);
  else if (code >= FIRST_SPECIAL_CODE) tuple.push(a.rdev);
  return tuple;
}

export function attrsFromWire(value: unknown): InodeAttrs {
  if (!Array.isArray(value) || value.length < 14 || value.length > 16) {
    throw new FsError("EPROTO", "inode attributes must be a 14-element array (15 with rdev, 16 with hole bytes)");
  }
  const type = TYPES[value[2] as number];
  if (!type) throw new FsError("EPROTO", `unknown inode type code ${String(value[2])}`);
  const ns = (v: unknown) => (typeof v === "bigint" ? v : BigInt(v as number));
  return {
    inode: value[0], version: value[1], type, mode: value[3], uid: value[4], gid: value[5], sizeBytes: value[6],
    generation: value[7], nlink: value[8], parent: value[9], atimeNs: ns(value[10]), mtimeNs: ns(value[11]),
    ctimeNs: ns(value[12]), target: value[13], rdev: value[14] ?? 0, holeBytes: value[15] ?? 0,
  };
}

type Shape = "attrs" | "attrsOrNull" | "attrsList" | "plusPage" | "attrsAndMore" | "attrsOrWithNext";

/** Ops whose result carries attributes; every other op's result travels as it is. */
export const RESULT_SHAPES: Readonly<Record<string, Shape>> = {
  lookup: "attrs", getattr: "attrs", mkdir: "attrs", create: "attrs", mknod: "attrs", symlink: "attrs", link: "attrs", setattr: "attrs",
  stat_path: "attrs", lstat_path: "attrs", create_file_path: "attrs", symlink_path: "attrs", link_path: "attrs",
  setattr_path: "attrs", publish: "attrsOrWithNext", mkdir_path: "attrsOrNull", create_files: "attrsList",
  readdir_plus: "plusPage", readdir_path: "plusPage", create_prepared: "attrsAndMore",
  // With `returnParent` the directory's attributes after the remove; nil without it.
  unlink: "attrsOrNull", rmdir: "attrsOrNull",
};

type PlusPage = { entries: Array<{ name: string; attrs: InodeAttrs } | { name: string; type: string }>; nextAfter: string | null };

/** A map whose `attrs` field is attributes (create_prepared: `{attrs, prepared}`). */
type WithAttrs = { attrs: unknown } & Record<string, unknown>;

/**
 * A publish asked for the prepare of the file's next body answers `{attrs, next}`; any other
 * publish answers the attributes alone, as it always has (so clients that never ask see no change).
 */
function publishToWire(value: unknown): unknown {
  return isAttrs(value) ? attrsMaybeNextToWire(value) : value; // else already wire form (a replay's dedupe record)
}

/** attrsToWire reads only the attributes' own fields: `next` is carried beside them, not copied out. */
function attrsMaybeNextToWire(value: InodeAttrs): unknown {
  const next = (value as { next?: unknown }).next;
  return next === undefined ? attrsToWire(value) : { attrs: attrsToWire(value), next };
}

function publishFromWire(value: unknown): unknown {
  if (Array.isArray(value)) return attrsFromWire(value);
  const { attrs, next } = value as WithAttrs;
  return { ...attrsFromWire(attrs), next };
}

export function resultToWire(op: string, value: unknown): unknown {
  switch (RESULT_SHAPES[op]) {
    case "attrsAndMore": {
      // A replayed create_prepared's attributes come back from its dedupe record already in wire form.
      const attrs = (value as WithAttrs).attrs;
      return { ...(value as WithAttrs), attrs: Array.isArray(attrs) ? attrs : attrsToWire(attrs as InodeAttrs) };
    }
    case "attrs":
      return attrsToWire(value as InodeAttrs);
    case "attrsOrWithNext":
      return publishToWire(value);
    case "attrsOrNull":
      return value === null || value === undefined ? null : attrsToWire(value as InodeAttrs);
    case "attrsList":
      return (value as InodeAttrs[]).map(attrsToWire);
    case "plusPage": {
      const page = value as PlusPage;
      // readdir_path without `plus` returns plain dentries: nothing to convert.
      if (page.entries.length === 0 || !("attrs" in page.entries[0]!)) return value;
      return { plus: page.entries.map((e) => [e.name, attrsToWire((e as { attrs: InodeAttrs }).attrs)]), nextAfter: page.nextAfter };
    }
    default:
      return value;
  }
}

export function resultFromWire(op: string, value: unknown): unknown {
  switch (RESULT_SHAPES[op]) {
    case "attrsAndMore":
      return { ...(value as WithAttrs), attrs: attrsFromWire((value as WithAttrs).attrs) };
    case "attrs":
      return attrsFromWire(value);
    case "attrsOrWithNext":
      return publishFromWire(value);
    case "attrsOrNull":
      return value === null || value === undefined ? null : attrsFromWire(value);
    case "attrsList":
      return (value as unknown[]).map(attrsFromWire);
    case "plusPage": {
      const page = value as { plus?: Array<[string, unknown]>; entries?: unknown[]; nextAfter: string | null };
      if (!page.plus) return value;
      return { entries: page.plus.map(([name, attrs]) => ({ name, attrs: attrsFromWire(attrs) })), nextAfter: page.nextAfter };
    }
    default:
      return value;
  }
}

function isAttrs(value: unknown): value is InodeAttrs {
  return typeof value === "object" && value !== null && typeof (value as InodeAttrs).atimeNs === "bigint" && typeof (value as InodeAttrs).inode === "number";
}

/**
 * The wire shape of a write's result, by the value's own shape (attributes and lists of them
 * become tuples): how metad encodes a result once, before it knows which op will send it.
 */
export function writeResultToWire(value: unknown): unknown {
  if (isAttrs(value)) return attrsMaybeNextToWire(value);
  if (Array.isArray(value) && value.length > 0 && isAttrs(value[0])) return value.map((v) => attrsToWire(v as InodeAttrs));
  return value;
}
