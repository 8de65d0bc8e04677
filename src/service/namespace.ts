import {
  FsError,
  LIMITS,
  SPECIAL_TYPES,
  isSpecialType,
  nowNs,
  utf8Length,
  validateName,
  type AttrChanges,
  type MetaChanges,
  type Dentry,
  type DirEntryPlus,
  type DirPage,
  type InodeAttrs,
  type InodeId,
  type InodeType,
  type MountId,
  type Version,
} from "../types/index.ts";
import type { InodeValue, MetadataCommand, Mutation } from "../schema/index.ts";
import { newInode, valueOf, type ServiceCore, type WriteOptions } from "./core.ts";
import { dropBodyMutations, loadBody } from "./body.ts";
import { truncateMutations } from "./truncate.ts";

// Inode-first namespace operations: every rule of the filesystem tree. Each write reads what it
// needs, decides, and commits one command whose predicates re-check what the decision relied on.

export interface EntryArgs {
  mount: MountId;
  parent: InodeId;
  name: string;
}

export interface NewEntryArgs extends EntryArgs, WriteOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  /** The parent's attributes when the caller read them in this same turn (a path walk): not read again. */
  parentAttrs?: InodeAttrs;
}

export interface ReaddirArgs {
  mount: MountId;
  inode: InodeId;
  after?: string;
  limit?: number;
  at?: Version;
}

export interface RenameArgs extends EntryArgs, WriteOptions {
  newParent: InodeId;
  newName: string;
  /** Fail with EEXIST instead of replacing an existing target. */
  noReplace?: boolean;
  /** Swap source and target atomically; both must exist. */
  exchange?: boolean;
}

export class Namespace {
  constructor(private readonly core: ServiceCore) {}

  lookup(args: EntryArgs & { at?: Version }): InodeAttrs {
    validateName(args.name);
    const dentry = this.core.readDentry(args, args.at);
    // Only a miss needs the parent: to tell ENOENT in a directory from ENOTDIR or a gone parent.
    if (!dentry) {
      this.core.getDir(args.mount, args.parent, args.at);
      throw new FsError("ENOENT", `'${args.name}' not found`);
    }
    return this.core.getInode(args.mount, dentry.inode, args.at);
  }

  getattr(args: { mount: MountId; inode: InodeId; at?: Version }): InodeAttrs {
    return this.core.getInode(args.mount, args.inode, args.at);
  }

  readdir(args: ReaddirArgs): DirPage<Dentry> {
    const limit = pageLimit(args.limit);
    this.core.getDir(args.mount, args.inode, args.at);
    const scan = { limit: limit + 1, ...(args.after === undefined ? {} : { after: args.after }), ...(args.at === undefined ? {} : { at: args.at }) };
    return page(this.core.store.scanDentries(args.mount, args.inode, scan), limit, (d) => d.name);
  }

  readdirPlus(args: ReaddirArgs): DirPage<DirEntryPlus> {
    const limit = pageLimit(args.limit);
    this.core.getDir(args.mount, args.inode, args.at);
    const after = args.after ?? "";
    if (args.at === undefined) {
      return page(this.core.store.scanDentriesPlus(args.mount, args.inode, { after, limit: limit + 1 }), limit, (e) => e.name);
    }
    const at = args.at;
    const dentries = this.core.store.scanDentries(args.mount, args.inode, { after, limit: limit + 1, at });
    const entries = dentries.map((d) => ({ name: d.name, attrs: this.core.getInode(args.mount, d.inode, at) }));
    return page(entries, limit, (e) => e.name);
  }

  readlink(args: { mount: MountId; inode: InodeId; at?: Version }): string {
    const attrs = this.core.getInode(args.mount, args.inode, args.at);
    if (attrs.type !== "symlink") throw new FsError("EINVAL", `inode ${args.inode} is not a symlink`);
    return attrs.target;
  }

  mkdir(args: NewEntryArgs): InodeAttrs {
    return this.createEntry(args, "dir", "create_dir", "");
  }

  create(args: NewEntryArgs): InodeAttrs {
    return this.createEntry(args, "file", "create_file", "");
  }

  symlink(args: NewEntryArgs & { target: string }): InodeAttrs {
    const { target } = args;
    if (typeof target !== "string" || target.length === 0) throw new FsError("EINVAL", "symlink target is empty");
    if (target.includes("\0")) throw new FsError("EINVAL", "symlink target contains NUL");
    if (utf8Length(target) > LIMITS.symlinkTargetMaxBytes) {
      throw new FsError("ENAMETOOLONG", `symlink target over ${LIMITS.symlinkTargetMaxBytes} bytes`);
    }
    return this.createEntry(args, "symlink", "create_symlink", target);
  }

  /**
   * A special file: a fifo or socket (a name with attributes; the kernel of each client serves
   * the pipe or socket itself), or a character or block device with its number (Linux encoding).
   */
  mknod(args: NewEntryArgs & { type: InodeType; rdev?: number }): InodeAttrs {
    if (!isSpecialType(args.type)) throw new FsError("EINVAL", `mknod makes ${SPECIAL_TYPES.join(", ")}; got '${String(args.type)}'`);
    const device = args.type === "chardev" || args.type === "blockdev";
    const rdev = device ? checkUint(args.rdev ?? 0, "rdev", 0xffff_ffff) : 0;
    if (!device && args.rdev !== undefined && args.rdev !== 0) throw new FsError("EINVAL", `a ${args.type} has no device number`);
    return this.createEntry(args, args.type, "create_node", "", rdev);
  }

  private createEntry(args: NewEntryArgs, type: InodeAttrs["type"], kind: MetadataCommand["kind"], target: string, rdev = 0): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    return this.createMany({ ...args, names: [args.name] }, type, kind, target, true, rdev) as InodeAttrs;
  }

  /** Creates many empty files in one directory as one command: all of them or none (EEXIST). */
  createFiles(args: Omit<NewEntryArgs, "name"> & { names: string[] }): InodeAttrs[] {
    const replay = this.core.replayed<InodeAttrs[]>(args);
    if (replay) return replay.value;
    if (!Array.isArray(args.names) || args.names.length === 0) throw new FsError("EINVAL", "names must be a non-empty array");
    if (args.names.length > LIMITS.createManyMaxNames) {
      throw new FsError("EINVAL", `${args.names.length} names in one create, limit ${LIMITS.createManyMaxNames}`);
    }
    return this.createMany(args, "file", "create_files", "", false) as InodeAttrs[];
  }

  private createMany(
    args: Omit<NewEntryArgs, "name"> & { names: string[] },
    type: InodeAttrs["type"],
    kind: MetadataCommand["kind"],
    target: string,
    single: boolean,
    rdev = 0,
  ): InodeAttrs[] | InodeAttrs {
    const { mount, parent, names } = args;
    const seen = new Set<string>();
    for (const name of names) {
      validateName(name);
      if (seen.has(name)) throw new FsError("EINVAL", `name '${name}' appears twice in one create`);
      seen.add(name);
    }
    const dir = args.parentAttrs?.inode === parent && args.parentAttrs.type === "dir" ? args.parentAttrs : this.core.getDir(mount, parent);
    const now = nowNs();
    const command = this.core.command(kind, mount, args);
    const values: InodeValue[] = [];
    for (const name of names) {
      const key = { mount, parent, name };
      // The store checks this predicate before any write; a read here first would do it twice.
      command.predicates.push({ kind: "notExists", target: { family: "dentry", key }, errno: "EEXIST", detail: `'${name}' already exists` });
      const inode = this.core.allocateId(command);
      const value = newInode({
        inode, type, parent, now, target, rdev,
        mode: args.mode ?? (type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
        uid: args.uid ?? 0,
        gid: args.gid ?? 0,
      });
      values.push(value);
      command.mutations.push(
        { family: "inode", op: "insert", key: { mount, inode }, value },
        { family: "dentry", op: "insert", key, value: { inode, type } },
      );
      command.watchEvents.push({ mount, kind: "create", scope: parent, name, inode });
    }
    // No predicate on the parent: it was read above in this same synchronous turn, and touchDir
    // rewrites it; the name predicates are the only reads the store makes.
    const subdirs = type === "dir" ? names.length : 0;
    command.mutations.push(touchDir(mount, dir, now, subdirs));
    const { version } = command;
    const result = this.core.result(command, single ? { ...values[0]!, version } : values.map((v) => ({ ...v, version })));
    this.core.commit(command);
    return result;
  }

  link(args: { mount: MountId; inode: InodeId; newParent: InodeId; newName: string } & WriteOptions): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    const { mount, inode, newParent, newName } = args;
    validateName(newName);
    const attrs = this.core.getInode(mount, inode);
    if (attrs.type === "dir") throw new FsError("EPERM", "cannot hard-link a directory");
    // A nameless inode may be named again only while it is an orphan (O_TMPFILE + linkat, or an
    // unlinked file relinked through /proc/self/fd): it stops being one.
    const orphan = attrs.nlink === 0 ? this.core.store.getOrphan(mount, inode) : null;
    if (attrs.nlink === 0 && !orphan) throw new FsError("ENOENT", "the file was unlinked");
    if (attrs.nlink >= LIMITS.nlinkMax) throw new FsError("EMLINK", `inode ${inode} has ${attrs.nlink} links`);
    const dir = this.core.getDir(mount, newParent);
    const key = { mount, parent: newParent, name: newName };
    if (this.core.readDentry(key)) throw new FsError("EEXIST", `'${newName}' already exists`);
    const now = nowNs();
    const command = this.core.command("link", mount, args);
    command.predicates.push(
      { kind: "notExists", target: { family: "dentry", key }, errno: "EEXIST" },
      { kind: "versionEquals", target: { family: "inode", key: { mount, inode } }, version: attrs.version, errno: "ESTALE" },
    );
    const value = { ...valueOf(attrs), nlink: attrs.nlink + 1, ctimeNs: now };
    if (orphan) command.mutations.push({ family: "orphan", op: "delete", key: { mount, inode } });
    command.mutations.push(
      { family: "dentry", op: "insert", key, value: { inode, type: attrs.type } },
      { family: "inode", op: "put", key: { mount, inode }, value },
      touchDir(mount, dir, now, 0),
    );
    command.watchEvents.push({ mount, kind: "create", scope: newParent, name: newName, inode });
    const result = this.core.result(command, { ...value, version: command.version });
    this.core.commit(command);
    return result;
  }

  /**
   * `keepOpen` names the mount session that holds the file open: if this was its last link, the
   * inode and its body stay as an orphan of that session instead of going now.
   */
  unlink(args: EntryArgs & WriteOptions & KeepOpen & ReturnParent): InodeAttrs | undefined {
    return this.remove(args, false);
  }

  rmdir(args: EntryArgs & WriteOptions & ReturnParent): InodeAttrs | undefined {
    return this.remove(args, true);
  }

  /**
   * Removes many names from one directory as one command, all of them or none (ENOENT, EISDIR:
   * none is a directory). Two names of one file here cost it two links, as two unlinks would.
   */
  removeFiles(args: { mount: MountId; parent: InodeId; names: string[] } & WriteOptions): void {
    if (this.core.replayed(args)) return;
    const { mount, parent, names } = args;
    if (!Array.isArray(names) || names.length === 0) throw new FsError("EINVAL", "names must be a non-empty array");
    if (names.length > LIMITS.removeManyMaxNames) throw new FsError("EINVAL", `${names.length} names in one remove, limit ${LIMITS.removeManyMaxNames}`);
    const dir = this.core.getDir(mount, parent);
    const command = this.core.command("remove_files", mount, args);
    const now = nowNs();
    const seen = new Set<string>();
    /** Links each inode loses here, in the order first named. */
    const linksLost = new Map<InodeId, number>();
    for (const name of names) {
      validateName(name);
      if (seen.has(name)) throw new FsError("EINVAL", `name '${name}' appears twice in one remove`);
      seen.add(name);
      const key = { mount, parent, name };
      const dentry = this.core.readDentry(key);
      if (!dentry) throw new FsError("ENOENT", `'${name}' not found`);
      if (dentry.type === "dir") throw new FsError("EISDIR", `'${name}' is a directory`);
      command.predicates.push({ kind: "versionEquals", target: { family: "dentry", key }, version: dentry.version, errno: "ESTALE" });
      command.mutations.push({ family: "dentry", op: "delete", key });
      command.watchEvents.push({ mount, kind: "remove", scope: parent, name, inode: dentry.inode });
      linksLost.set(dentry.inode, (linksLost.get(dentry.inode) ?? 0) + 1);
    }
    for (const [inode, lost] of linksLost) command.mutations.push(...this.unlinkInode(command, mount, inode, now, undefined, lost));
    command.mutations.push(touchDir(mount, dir, now, 0));
    this.core.commit(command);
  }

  private remove(args: EntryArgs & WriteOptions & KeepOpen & ReturnParent, wantDir: boolean): InodeAttrs | undefined {
    const replay = this.core.replayed<InodeAttrs | undefined>(args);
    if (replay) return replay.value;
    const { mount, parent, name } = args;
    validateName(name);
    const dir = this.core.getDir(mount, parent);
    const key = { mount, parent, name };
    const dentry = this.core.readDentry(key);
    if (!dentry) throw new FsError("ENOENT", `'${name}' not found`);
    if (wantDir && dentry.type !== "dir") throw new FsError("ENOTDIR", `'${name}' is not a directory`);
    if (!wantDir && dentry.type === "dir") throw new FsError("EISDIR", `'${name}' is a directory`);
    const command = this.core.command(wantDir ? "remove_dir" : "remove_file", mount, args);
    const now = nowNs();
    command.predicates.push({ kind: "versionEquals", target: { family: "dentry", key }, version: dentry.version, errno: "ESTALE" });
    command.mutations.push({ family: "dentry", op: "delete", key });
    command.mutations.push(...this.unlinkInode(command, mount, dentry.inode, now, args.keepOpen));
    const touched = touchDir(mount, dir, now, wantDir ? -1 : 0);
    command.mutations.push(touched);
    command.watchEvents.push({ mount, kind: "remove", scope: parent, name, inode: dentry.inode });
    const result = args.returnParent ? this.core.result(command, { ...touched.value, version: command.version }) : undefined;
    this.core.commit(command);
    return result;
  }

  /**
   * Drops `links` links to `inode`: the inode and its body go with the last link, unless a session
   * holds the file open (`keepOpen`): then it stays, nameless with nlink 0, as that session's
   * orphan until released (see orphans.ts).
   */
  private unlinkInode(command: MetadataCommand, mount: MountId, inode: InodeId, now: bigint, keepOpen?: string, links = 1): Mutation[] {
    const attrs = this.core.getInode(mount, inode);
    const key = { mount, inode };
    if (attrs.type === "dir") {
      if (this.core.store.scanDentries(mount, inode, { limit: 1 }).length > 0) {
        throw new FsError("ENOTEMPTY", "directory is not empty");
      }
      command.predicates.push({ kind: "prefixEmpty", target: { family: "dir", key }, errno: "ENOTEMPTY", detail: "directory is not empty" });
      return [{ family: "inode", op: "delete", key }, { family: "xattr", op: "deleteAll", key }];
    }
    if (attrs.nlink > links) {
      return [{ family: "inode", op: "put", key, value: { ...valueOf(attrs), nlink: attrs.nlink - links, ctimeNs: now } }];
    }
    if (keepOpen !== undefined && attrs.type === "file" && canOrphan(this.core, mount, keepOpen)) {
      return [
        { family: "inode", op: "put", key, value: { ...valueOf(attrs), nlink: 0, ctimeNs: now } },
        { family: "orphan", op: "put", key, value: { session: keepOpen, expiresAtMs: command.timestampMs + LIMITS.orphanLeaseMs } },
      ];
    }
    return deleteInodeMutations(this.core, mount, attrs);
  }

  rename(args: RenameArgs & KeepOpen): void {
    if (this.core.replayed(args)) return;
    const { mount, parent, name, newParent, newName } = args;
    validateName(name);
    validateName(newName);
    if (args.exchange && args.noReplace) throw new FsError("EINVAL", "exchange and noReplace are exclusive");
    const fromDir = this.core.getDir(mount, parent);
    const toDir = newParent === parent ? fromDir : this.core.getDir(mount, newParent);
    const fromKey = { mount, parent, name };
    const toKey = { mount, parent: newParent, name: newName };
    const source = this.core.readDentry(fromKey);
    if (!source) throw new FsError("ENOENT", `'${name}' not found`);
    const target = this.core.readDentry(toKey);
    if (parent === newParent && name === newName) return;
    if (source.type === "dir") this.assertNotAncestor(mount, source.inode, newParent);
    if (target && args.exchange && target.type === "dir") this.assertNotAncestor(mount, target.inode, parent);
    const command = this.core.command("rename", mount, args);
    const now = nowNs();
    command.predicates.push({ kind: "versionEquals", target: { family: "dentry", key: fromKey }, version: source.version, errno: "ESTALE" });
    if (target) {
      command.predicates.push({ kind: "versionEquals", target: { family: "dentry", key: toKey }, version: target.version, errno: "ESTALE" });
    } else {
      if (args.exchange) throw new FsError("ENOENT", `'${newName}' not found (exchange needs both names)`);
      command.predicates.push({ kind: "notExists", target: { family: "dentry", key: toKey }, errno: "EEXIST" });
    }
    let nlinkFrom = 0;
    let nlinkTo = 0;
    if (args.exchange && target) {
      command.mutations.push(
        { family: "dentry", op: "put", key: toKey, value: { inode: source.inode, type: source.type } },
        { family: "dentry", op: "put", key: fromKey, value: { inode: target.inode, type: target.type } },
      );
      if (source.type === "dir") [nlinkFrom, nlinkTo] = [nlinkFrom - 1, nlinkTo + 1];
      if (target.type === "dir") [nlinkFrom, nlinkTo] = [nlinkFrom + 1, nlinkTo - 1];
      command.mutations.push(this.reparent(mount, target.inode, parent, now));
    } else {
      if (target) {
        if (args.noReplace) throw new FsError("EEXIST", `'${newName}' already exists`);
        if (target.inode === source.inode) return;
        if (source.type === "dir" && target.type !== "dir") throw new FsError("ENOTDIR", `'${newName}' is not a directory`);
        if (source.type !== "dir" && target.type === "dir") throw new FsError("EISDIR", `'${newName}' is a directory`);
        command.mutations.push(...this.unlinkInode(command, mount, target.inode, now, args.keepOpen));
        if (target.type === "dir") nlinkTo -= 1;
      }
      const moved = { inode: source.inode, type: source.type };
      command.mutations.push(
        { family: "dentry", op: "delete", key: fromKey },
        target ? { family: "dentry", op: "put", key: toKey, value: moved } : { family: "dentry", op: "insert", key: toKey, value: moved },
      );
      if (source.type === "dir") [nlinkFrom, nlinkTo] = [nlinkFrom - 1, nlinkTo + 1];
    }
    command.mutations.push(this.reparent(mount, source.inode, newParent, now));
    if (newParent === parent) command.mutations.push(touchDir(mount, fromDir, now, nlinkFrom + nlinkTo));
    else command.mutations.push(touchDir(mount, fromDir, now, nlinkFrom), touchDir(mount, toDir, now, nlinkTo));
    const event = { mount, kind: "rename" as const, name, inode: source.inode, toScope: newParent, toName: newName };
    command.watchEvents.push({ ...event, scope: parent });
    if (newParent !== parent) command.watchEvents.push({ ...event, scope: newParent });
    this.core.commit(command);
  }

  /** A moved inode records its new parent (directories: their one parent) and a new ctime. */
  private reparent(mount: MountId, inode: InodeId, parent: InodeId, now: bigint): Mutation {
    const attrs = this.core.getInode(mount, inode);
    return { family: "inode", op: "put", key: { mount, inode }, value: { ...valueOf(attrs), parent, ctimeNs: now } };
  }

  /**
   * EINVAL when `dir` is `inode` or lies beneath it: a directory cannot move into itself. Walks
   * the parent chain to the root at any depth (directories can nest deeper than PATH_MAX through
   * the inode API, and fsck accepts them); only a chain that loops is corrupt.
   */
  private assertNotAncestor(mount: MountId, inode: InodeId, dir: InodeId): void {
    const seen = new Set<InodeId>();
    for (let cursor = dir; ; ) {
      if (cursor === inode) throw new FsError("EINVAL", `cannot move a directory into its own subtree`);
      const attrs = this.core.getInode(mount, cursor);
      if (attrs.parent === cursor) return;
      if (seen.has(cursor)) throw new Error(`metadata corrupt: parent chain from ${dir} loops at ${cursor}`);
      seen.add(cursor);
      cursor = attrs.parent;
    }
  }

  setattr(args: { mount: MountId; inode: InodeId; changes: AttrChanges } & WriteOptions): InodeAttrs {
    const replay = this.core.replayed<InodeAttrs>(args);
    if (replay) return replay.value;
    const { mount, inode, changes } = args;
    const attrs = this.core.getInode(mount, inode);
    const now = nowNs();
    const value = applyAttrChanges({ ...valueOf(attrs), ctimeNs: now }, changes);
    const command = this.core.command("update_attrs", mount, args);
    command.predicates.push({ kind: "versionEquals", target: { family: "inode", key: { mount, inode } }, version: attrs.version, errno: "ESTALE" });
    if (changes.sizeBytes !== undefined && changes.sizeBytes !== attrs.sizeBytes) {
      if (attrs.type === "dir") throw new FsError("EISDIR", "cannot truncate a directory");
      if (attrs.type !== "file") throw new FsError("EINVAL", `cannot truncate ${attrs.type} ${inode}`);
      const truncated = truncateMutations(this.core.store, mount, attrs, changes.sizeBytes, () => this.core.allocateId(command));
      value.sizeBytes = changes.sizeBytes;
      value.generation = truncated.generation;
      value.holeBytes = truncated.holeBytes;
      if (changes.mtimeNs === undefined) value.mtimeNs = now;
      command.mutations.push(...truncated.mutations);
    }
    command.mutations.push({ family: "inode", op: "put", key: { mount, inode }, value });
    command.watchEvents.push({ mount, kind: "update_attr", scope: attrs.parent, name: "", inode });
    const result = this.core.result(command, { ...value, version: command.version });
    this.core.commit(command);
    return result;
  }
}

/**
 * `returnParent`: answer with the directory's attributes as the remove left them (its new mtime,
 * ctime and version), so a client that caches them (a mount) needs no getattr after each unlink.
 */
export interface ReturnParent {
  returnParent?: boolean;
}

/** What `keepOpen` carries: the mount session holding the file that may lose its last link. */
export interface KeepOpen {
  keepOpen?: string;
}

/** A session may hold orphansPerSessionMax orphans; past it, unlinked open files go at once. */
function canOrphan(core: ServiceCore, mount: MountId, session: string): boolean {
  validateSession(session);
  return core.store.scanOrphansOfSession(mount, session, LIMITS.orphansPerSessionMax).length < LIMITS.orphansPerSessionMax;
}

export function validateSession(session: string): void {
  if (typeof session !== "string" || session.length === 0 || utf8Length(session) > LIMITS.sessionIdMaxBytes) {
    throw new FsError("EINVAL", `a mount session id is 1..${LIMITS.sessionIdMaxBytes} bytes`);
  }
}

/** An inode going for good: its row, its extended attributes and its body (blocks to GC). */
export function deleteInodeMutations(core: ServiceCore, mount: MountId, attrs: InodeAttrs): Mutation[] {
  const key = { mount, inode: attrs.inode };
  const body = attrs.type === "dir" ? null : loadBody(core.store, mount, attrs.inode, attrs.generation);
  return [
    { family: "inode", op: "delete", key },
    { family: "xattr", op: "deleteAll", key },
    ...(body ? dropBodyMutations(mount, attrs.inode, attrs.generation, body) : []),
  ];
}

/** The parent directory's new attributes when a child comes or goes. */
export function touchDir(mount: MountId, dir: InodeAttrs, now: bigint, nlinkDelta: number): Mutation & { family: "inode"; op: "put"; value: InodeValue } {
  return {
    family: "inode",
    op: "put",
    key: { mount, inode: dir.inode },
    value: { ...valueOf(dir), nlink: dir.nlink + nlinkDelta, mtimeNs: now, ctimeNs: now },
  };
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return LIMITS.readdirPageDefaultEntries;
  if (!Number.isInteger(limit) || limit < 1) throw new FsError("EINVAL", `readdir limit must be a positive integer, got ${limit}`);
  return Math.min(limit, LIMITS.readdirPageMaxEntries);
}

function page<T>(rows: T[], limit: number, nameOf: (row: T) => string): DirPage<T> {
  if (rows.length <= limit) return { entries: rows, nextAfter: null };
  const entries = rows.slice(0, limit);
  return { entries, nextAfter: nameOf(entries[entries.length - 1]!) };
}

/**
 * `value` with the mode, owner and times of `changes` (checked; size is the caller's): one rule
 * for a setattr and for a publish that carries the setattrs its writer made meanwhile.
 */
export function applyAttrChanges(value: InodeValue, changes: MetaChanges): InodeValue {
  if (changes.mode !== undefined) value.mode = checkUint(changes.mode, "mode", 0o7777);
  if (changes.uid !== undefined) value.uid = checkUint(changes.uid, "uid", 0xffff_ffff);
  if (changes.gid !== undefined) value.gid = checkUint(changes.gid, "gid", 0xffff_ffff);
  if (changes.atimeNs !== undefined) value.atimeNs = checkTime(changes.atimeNs, "atimeNs");
  if (changes.mtimeNs !== undefined) value.mtimeNs = checkTime(changes.mtimeNs, "mtimeNs");
  return value;
}

function checkUint(value: number, field: string, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new FsError("EINVAL", `${field} must be an integer in 0..${max}, got ${value}`);
  return value;
}

function checkTime(value: bigint, field: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value >= 2n ** 63n) throw new FsError("EINVAL", `${field} must be nanoseconds as a non-negative 64-bit bigint`);
  return value;
}
