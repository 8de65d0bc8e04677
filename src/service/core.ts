import {
  FsError,
  ROOT_INODE,
  nowNs,
  type InodeAttrs,
  type InodeId,
  type MountId,
  type Version,
  type WatchEvent,
} from "../types/index.ts";
import type { CommitResult, InodeValue, MetadataCommand, MetadataStore, StoredPin } from "../schema/index.ts";

// State every service area shares: the store, the pins that decide whether history is kept,
// per-mount topology epochs for the path index, and committed-event fan-out. No process-global
// state: one core per database, so a core can later become one replica of a shard.

export type EventListener = (mount: MountId, events: readonly WatchEvent[]) => void;

/** Fields every write op may carry. */
export interface WriteOptions {
  /** Exactly-once key: a retry with the same key returns the first result. */
  requestKey?: string;
}

export class ServiceCore {
  private readonly pins = new Map<MountId, Map<number, StoredPin>>();
  private readonly listeners = new Set<EventListener>();
  /** Events of commits inside an open group, published once the group's transaction commits. */
  private pendingEvents: Array<[MountId, WatchEvent[]]> | null = null;

  constructor(readonly store: MetadataStore) {
    this.reloadPins();
  }

  reloadPins(): void {
    this.pins.clear();
    for (const pin of this.store.listPins()) this.pinsOf(pin.mount).set(pin.snapshotId, pin);
  }

  pinsOf(mount: MountId): Map<number, StoredPin> {
    let pins = this.pins.get(mount);
    if (!pins) this.pins.set(mount, (pins = new Map()));
    return pins;
  }

  /** History is written only while a snapshot could read it; pins created later read newer values. */
  keepHistory(mount: MountId): boolean {
    return (this.pins.get(mount)?.size ?? 0) > 0;
  }

  pinnedVersions(): Map<MountId, Version[]> {
    const out = new Map<MountId, Version[]>();
    for (const [mount, pins] of this.pins) out.set(mount, [...pins.values()].map((p) => p.readVersion));
    return out;
  }

  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Commits and fans the command's watch events out once they are durable in SQLite. */
  commit(command: MetadataCommand): CommitResult {
    const result = this.store.commit(command);
    if (!result.replayed && command.watchEvents.length > 0 && this.listeners.size > 0) {
      const byMount = new Map<MountId, WatchEvent[]>();
      command.watchEvents.forEach((draft, ordinal) => {
        const { mount, ...rest } = draft;
        let list = byMount.get(mount);
        if (!list) byMount.set(mount, (list = []));
        list.push({ ...rest, version: result.commitVersion, ordinal });
      });
      for (const entry of byMount) {
        if (this.pendingEvents) this.pendingEvents.push(entry);
        else this.emit(entry[0], entry[1]);
      }
    }
    return result;
  }

  /** Group commit: every command inside shares one transaction; events go out after it commits. */
  group<T>(fn: () => T): T {
    if (this.pendingEvents) return fn();
    this.pendingEvents = [];
    let pending: Array<[MountId, WatchEvent[]]> = [];
    try {
      const out = this.store.group(fn);
      pending = this.pendingEvents;
      return out;
    } catch (err) {
      // The whole transaction rolled back: caches that followed its commits must follow it back.
      this.reloadPins();
      throw err;
    } finally {
      this.pendingEvents = null;
      for (const [mount, events] of pending) this.emit(mount, events);
    }
  }

  private emit(mount: MountId, events: WatchEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(mount, events);
      } catch (err) {
        console.error("nokv: watch listener failed:", err);
      }
    }
  }

  /** The command skeleton every builder starts from. */
  command(kind: MetadataCommand["kind"], mount: MountId, options: WriteOptions = {}): MetadataCommand {
    const command: MetadataCommand = {
      kind,
      readVersion: this.store.currentVersion(),
      predicates: [],
      mutations: [],
      watchEvents: [],
      keepHistory: this.keepHistory(mount),
    };
    if (options.requestKey !== undefined) command.requestKey = options.requestKey;
    return command;
  }

  /** A replay of an earlier command with this key, checked before any validation runs. */
  replayed<T>(options: WriteOptions): { value: T } | null {
    if (options.requestKey === undefined) return null;
    const earlier = this.store.replay(options.requestKey);
    return earlier ? { value: earlier.result as T } : null;
  }

  getInode(mount: MountId, inode: InodeId, at?: Version): InodeAttrs {
    const attrs = this.store.getInode({ mount, inode }, at);
    if (!attrs) throw new FsError("ENOENT", `no inode ${inode}`);
    return attrs;
  }

  getDir(mount: MountId, inode: InodeId, at?: Version): InodeAttrs {
    const attrs = this.getInode(mount, inode, at);
    if (attrs.type !== "dir") throw new FsError("ENOTDIR", `inode ${inode} is not a directory`);
    return attrs;
  }
}

/** A fresh inode's attributes; times all `now`. */
export function newInode(fields: {
  inode: InodeId;
  type: InodeAttrs["type"];
  mode: number;
  uid: number;
  gid: number;
  parent: InodeId;
  target?: string;
  now?: bigint;
}): InodeValue {
  const now = fields.now ?? nowNs();
  return {
    inode: fields.inode,
    type: fields.type,
    mode: fields.mode & 0o7777,
    uid: fields.uid,
    gid: fields.gid,
    sizeBytes: fields.type === "symlink" ? Buffer.byteLength(fields.target ?? "") : 0,
    generation: 0,
    nlink: fields.type === "dir" ? 2 : 1,
    parent: fields.parent,
    atimeNs: now,
    mtimeNs: now,
    ctimeNs: now,
    target: fields.target ?? "",
  };
}

/** The attributes a command writes back for an inode it changes (version is the store's). */
export function valueOf(attrs: InodeAttrs): InodeValue {
  const { version: _version, ...value } = attrs;
  return value;
}

export function isRoot(inode: InodeId): boolean {
  return inode === ROOT_INODE;
}
