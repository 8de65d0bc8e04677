import { blocks512, statMode, type InodeAttrs } from "../types/index.ts";

// node:fs-shaped results, so code written against fs/promises reads NoKV without changes.

const NS_PER_MS = 1_000_000n;

/** The type predicates fs.Stats and fs.Dirent share. */
abstract class TypedEntry {
  abstract readonly type: InodeAttrs["type"];
  isFile(): boolean { return this.type === "file"; }
  isDirectory(): boolean { return this.type === "dir"; }
  isSymbolicLink(): boolean { return this.type === "symlink"; }
  isBlockDevice(): boolean { return this.type === "blockdev"; }
  isCharacterDevice(): boolean { return this.type === "chardev"; }
  isFIFO(): boolean { return this.type === "fifo"; }
  isSocket(): boolean { return this.type === "socket"; }
}

/** Like fs.Stats, plus NoKV's own `generation` and `version`. */
export class NoKVStats extends TypedEntry {
  readonly dev = 0;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly size: number;
  readonly blksize = 4096;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly generation: number;
  /** Bytes of the file's size that no block holds (read as zeros); `blocks` leaves them out. */
  readonly holeBytes: number;
  readonly version: number;
  readonly type: InodeAttrs["type"];

  constructor(attrs: InodeAttrs) {
    super();
    this.ino = attrs.inode;
    this.mode = statMode(attrs);
    this.nlink = attrs.nlink;
    this.uid = attrs.uid;
    this.gid = attrs.gid;
    this.rdev = attrs.rdev;
    this.size = attrs.sizeBytes;
    this.blocks = blocks512(attrs);
    this.holeBytes = attrs.holeBytes;
    this.atimeNs = BigInt(attrs.atimeNs);
    this.mtimeNs = BigInt(attrs.mtimeNs);
    this.ctimeNs = BigInt(attrs.ctimeNs);
    this.atimeMs = nsToMs(this.atimeNs);
    this.mtimeMs = nsToMs(this.mtimeNs);
    this.ctimeMs = nsToMs(this.ctimeNs);
    this.birthtimeMs = this.ctimeMs;
    this.generation = attrs.generation;
    this.version = attrs.version;
    this.type = attrs.type;
  }

  get atime(): Date { return new Date(this.atimeMs); }
  get mtime(): Date { return new Date(this.mtimeMs); }
  get ctime(): Date { return new Date(this.ctimeMs); }
  get birthtime(): Date { return new Date(this.birthtimeMs); }
}

/** Like fs.Dirent. */
export class NoKVDirent extends TypedEntry {
  constructor(
    readonly name: string,
    readonly parentPath: string,
    readonly type: InodeAttrs["type"],
  ) {
    super();
  }
  get path(): string { return this.parentPath; }
}

function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
}

/** A time argument as fs.utimes takes it (seconds, Date, or numeric string) in nanoseconds. */
export function timeToNs(time: number | string | Date): bigint {
  if (time instanceof Date) return BigInt(time.getTime()) * NS_PER_MS;
  const seconds = typeof time === "string" ? Number(time) : time;
  if (!Number.isFinite(seconds)) throw new TypeError(`invalid time ${String(time)}`);
  const whole = Math.floor(seconds);
  return BigInt(whole) * 1_000_000_000n + BigInt(Math.round((seconds - whole) * 1e9));
}
