import {
  FsError,
  ROOT_INODE,
  nowNs,
  type Dentry,
  type InodeAttrs,
  type InodeId,
  type MountId,
  type Version,
  type WatchEvent,
} from "../types/index.ts";
import { decodeCommand, type CommitResult, type DentryKey, type InodeValue, type MetadataCommand, type MetadataStore, type StoredPin } from "../schema/index.ts";
import { RowCache } from "./row-cache.ts";

// State every service area shares: the store, the projections of applied commands (pins decide
// whether history is kept), and committed-event fan-out. No process-global state: one core per
// database, so a core can later become one replica of a shard.

export type EventListener = (mount: MountId, events: readonly WatchEvent[]) => void;

/** Fields every write op may carry. */
export interface WriteOptions {
  /** Exactly-once key: a retry with the same key returns the first result. */
  requestKey?: string;
  /** Set by a caller that has already looked the key up, so a request costs one dedupe read. */
  replayChecked?: boolean;
}

/** How results are encoded once for dedupe and the wire (the server passes the wire's codec). */
export interface ResultCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/** Something kept in step with applied commands: updated per command, rebuilt after a rollback. */
export interface Projection {
  applied(command: MetadataCommand): void;
  reload(): void;
}

export class ServiceCore {
  private readonly pins = new Map<MountId, Map<number, StoredPin>>();
  private readonly listeners = new Set<EventListener>();
  private readonly projections: Projection[] = [];
  /** Events of applied commands not yet handed to listeners (a group hands them out after its replies). */
  private outbox: Array<[MountId, WatchEvent[]]> = [];
  private groupDepth = 0;
  /** The encoded form of results built or replayed, so the wire sends those bytes instead of encoding again. */
  private readonly encoded = new WeakMap<object, Uint8Array>();

  constructor(
    readonly store: MetadataStore,
    private readonly codec: ResultCodec,
    readonly nowMs: () => number,
  ) {
    this.reloadPins();
    this.projections.push({ applied: (c) => this.applyPins(c), reload: () => this.reloadPins() }, this.rows);
  }

  /** Hot current rows in memory; see RowCache. */
  readonly rows = new RowCache();

  /** The current (or, with `at`, past) inode row; current reads come from the row cache. */
  readInode(mount: MountId, inode: InodeId, at?: Version): InodeAttrs | null {
    if (at !== undefined) return this.store.getInode({ mount, inode }, at);
    return this.rows.inode(mount, inode, () => this.store.getInode({ mount, inode }));
  }

  /** The current (or, with `at`, past) dentry; current reads come from the row cache. */
  readDentry(key: DentryKey, at?: Version): Dentry | null {
    if (at !== undefined) return this.store.getDentry(key, at);
    return this.rows.dentry(key, () => this.store.getDentry(key));
  }

  addProjection(projection: Projection): void {
    this.projections.push(projection);
  }

  private reloadPins(): void {
    this.pins.clear();
    for (const pin of this.store.listPins()) this.pinsOf(pin.mount).set(pin.snapshotId, pin);
  }

  private applyPins(command: MetadataCommand): void {
    for (const m of command.mutations) {
      if (m.family !== "pin") continue;
      if (m.op === "delete") this.pinsOf(m.key.mount).delete(m.key.snapshotId);
      else this.pinsOf(m.key.mount).set(m.key.snapshotId, { mount: m.key.mount, snapshotId: m.key.snapshotId, ...m.value, createdVersion: command.version });
    }
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

  /** A mount's pinned read versions, ascending. */
  pinnedVersions(mount: MountId): Version[] {
    return [...(this.pins.get(mount)?.values() ?? [])].map((p) => p.readVersion).sort((a, b) => a - b);
  }

  /** The newest committed version of a mount (its log position). */
  version(mount: MountId): Version {
    return this.store.shardState(mount).version;
  }

  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies a command; its events wait in the outbox (handed out at once outside a group). */
  commit(command: MetadataCommand): CommitResult {
    const result = this.store.commit(command);
    if (result.replayed) return result;
    for (const projection of this.projections) projection.applied(command);
    if (command.watchEvents.length > 0) this.outbox.push([command.shard, eventsOf(command)]);
    if (this.groupDepth === 0) this.publishEvents();
    return result;
  }

  /** Applies a command read from a log (replay, a follower). */
  applyLogged(bytes: Uint8Array): MetadataCommand {
    const command = decodeCommand(bytes);
    this.store.applyLogged(command, bytes);
    for (const projection of this.projections) projection.applied(command);
    if (command.watchEvents.length > 0) this.outbox.push([command.shard, eventsOf(command)]);
    if (this.groupDepth === 0) this.publishEvents();
    return command;
  }

  /**
   * Group commit: every command inside shares one transaction. Events stay in the outbox until the
   * caller has sent its replies and calls publishEvents(), so a watcher never hears of a commit
   * before the writer does, and never of one that rolled back.
   */
  group<T>(fn: () => T): T {
    this.groupDepth++;
    try {
      return this.store.group(fn);
    } catch (err) {
      // The whole transaction rolled back: projections that followed its commits follow it back.
      this.outbox = [];
      for (const projection of this.projections) projection.reload();
      throw err;
    } finally {
      this.groupDepth--;
    }
  }

  /** Hands committed events to the listeners. */
  publishEvents(): void {
    if (this.outbox.length === 0) return;
    const out = this.outbox;
    this.outbox = [];
    for (const [mount, events] of out) {
      for (const listener of this.listeners) {
        try {
          listener(mount, events);
        } catch (err) {
          console.error("nokv: watch listener failed:", err);
        }
      }
    }
  }

  /** The command skeleton every builder starts from: the shard's next version and allocator. */
  command(kind: MetadataCommand["kind"], mount: MountId, options: WriteOptions = {}): MetadataCommand {
    const state = this.store.shardState(mount);
    const command: MetadataCommand = {
      shard: mount,
      version: state.version + 1,
      kind,
      timestampMs: this.nowMs(),
      nextId: state.nextId,
      predicates: [],
      mutations: [],
      watchEvents: [],
      keepHistory: this.keepHistory(mount),
    };
    if (options.requestKey !== undefined) command.requestKey = options.requestKey;
    return command;
  }

  /** A fresh id from the command's shard: never handed out before, since apply persists the allocator. */
  allocateId(command: MetadataCommand): number {
    return command.nextId++;
  }

  /** Sets what the command returns, encoded once; returns the value for in-process callers. */
  result<T>(command: MetadataCommand, value: T): T {
    command.result = this.codec.encode(value);
    if (typeof value === "object" && value !== null) this.encoded.set(value, command.result);
    return value;
  }

  /** Encodes one of several results a command answers (see createEach); returns the value. */
  resultOf<T extends object>(value: T): T {
    this.encoded.set(value, this.codec.encode(value));
    return value;
  }

  /**
   * The encoded form of a value a read returns, encoded on its first read: row-cache values are
   * never changed in place (a change caches a new object), so a hot inode is encoded once, not
   * once per lookup.
   */
  encodedRead(value: object): Uint8Array {
    let bytes = this.encoded.get(value);
    if (!bytes) this.encoded.set(value, (bytes = this.codec.encode(value)));
    return bytes;
  }

  /** The bytes a result was encoded to, when it came from result() or a replay. */
  encodedOf(value: unknown): Uint8Array | null {
    return typeof value === "object" && value !== null ? (this.encoded.get(value) ?? null) : null;
  }

  /** A replay of an earlier command with this key, checked once, before any validation runs. */
  replayed<T>(options: WriteOptions): { value: T } | null {
    if (options.requestKey === undefined || options.replayChecked) return null;
    const earlier = this.store.replay(options.requestKey);
    if (!earlier) return null;
    if (earlier.result === null) return { value: undefined as T };
    const value = this.codec.decode(earlier.result) as T;
    if (typeof value === "object" && value !== null) this.encoded.set(value, earlier.result);
    return { value };
  }

  getInode(mount: MountId, inode: InodeId, at?: Version): InodeAttrs {
    const attrs = this.readInode(mount, inode, at);
    if (!attrs) throw new FsError("ENOENT", `no inode ${inode}`);
    return attrs;
  }

  getDir(mount: MountId, inode: InodeId, at?: Version): InodeAttrs {
    const attrs = this.getInode(mount, inode, at);
    if (attrs.type !== "dir") throw new FsError("ENOTDIR", `inode ${inode} is not a directory`);
    return attrs;
  }
}

function eventsOf(command: MetadataCommand): WatchEvent[] {
  return command.watchEvents.map((draft, ordinal) => {
    const { mount: _mount, ...rest } = draft;
    return { ...rest, version: command.version, ordinal };
  });
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
  rdev?: number;
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
    rdev: fields.rdev ?? 0,
    holeBytes: 0,
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
