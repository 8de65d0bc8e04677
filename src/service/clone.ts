import { FsError, LIMITS, nowNs, type CloneResult, type InodeAttrs, type InodeId, type MountId, type Version } from "../types/index.ts";
import type { MetadataCommand, Mutation } from "../schema/index.ts";
import { valueOf, type ServiceCore, type WriteOptions } from "./core.ts";
import { touchDir } from "./namespace.ts";
import { children, isWithin, parentOfPath, type TreeView } from "./tree.ts";

// Writable clones: a copy of a subtree (live, or as a snapshot saw it) made of metadata only.
// Every copied inode gets a fresh number from the shard's allocator; a file's body rows are
// copied by the store under the new number with the same generation (so diff can tell an
// untouched copy by its generation alone) and each block it names gains a reference, so no
// object is copied and none is collected while either side still names it. One command: the
// copy appears whole or not at all. Blocks are keyed per mount, so a clone stays in its mount.

export interface CloneArgs extends WriteOptions {
  mount: MountId;
  /** What to copy: a path, live or (with `at` and `root`) as a snapshot saw it. */
  source: { path: string; at?: Version; root?: InodeId };
  /** Where the copy goes (live; must not exist). */
  target: string;
}


/** Path resolution the clone needs (Paths provides it). */
export type Resolver = (view: { mount: MountId; at?: Version; root?: InodeId }, path: string, follow: boolean) => InodeAttrs;

/**
 * The entries of one or more copies, collected before any mutation is made: a file linked twice
 * inside what is copied stays one inode with two links in the copy, and its link count is only
 * known once everything is walked.
 */
export class ClonePlan {
  private readonly entries: Array<{ parent: InodeId; name: string; source: InodeAttrs; inode: InodeId }> = [];
  private readonly copies = new Map<InodeId, { inode: InodeId; links: number }>();

  constructor(
    private readonly core: ServiceCore,
    private readonly command: MetadataCommand,
    private readonly view: TreeView,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** Adds a copy of `root` (and everything below it) as `name` in live directory `parent`; returns its new inode. */
  add(root: InodeAttrs, parent: InodeId, name: string): InodeId {
    const top = this.entry(root, parent, name);
    if (root.type !== "dir") return top;
    const queue: Array<[InodeId, InodeId]> = [[root.inode, top]];
    for (let next = 0; next < queue.length; next++) {
      const [from, to] = queue[next]!;
      for (const child of children(this.core, this.view, from)) {
        const copy = this.entry(child.attrs, to, child.name);
        if (child.attrs.type === "dir") queue.push([child.attrs.inode, copy]);
      }
    }
    return top;
  }

  private entry(source: InodeAttrs, parent: InodeId, name: string): InodeId {
    if (this.entries.length >= this.maxEntries) {
      throw new FsError("EFBIG", `the subtree has more than ${this.maxEntries} entries, the limit of one clone or rollback (cloneMaxEntries)`);
    }
    const known = source.type === "file" ? this.copies.get(source.inode) : undefined;
    const copy = known ?? { inode: this.core.allocateId(this.command), links: 0 };
    copy.links++;
    if (!known) this.copies.set(source.inode, copy);
    this.entries.push({ parent, name, source, inode: copy.inode });
    return copy.inode;
  }

  /** One mutation per entry: the first link of an inode copies it, later links are dentries. */
  mutations(now: bigint): Mutation[] {
    const out: Mutation[] = [];
    const made = new Set<InodeId>();
    const { mount, at } = this.view;
    for (const e of this.entries) {
      const key = { mount, parent: e.parent, name: e.name };
      if (made.has(e.inode)) {
        out.push({ family: "dentry", op: "insert", key, value: { inode: e.inode, type: e.source.type } });
        continue;
      }
      made.add(e.inode);
      const nlink = e.source.type === "dir" ? e.source.nlink : this.copies.get(e.source.inode)?.links ?? 1;
      const inode = { ...valueOf(e.source), inode: e.inode, parent: e.parent, nlink, ctimeNs: now };
      out.push({ family: "clone", op: "insert", key, value: at === undefined ? { inode, source: e.source.inode } : { inode, source: e.source.inode, at } });
    }
    return out;
  }
}

export class Clones {
  constructor(
    private readonly core: ServiceCore,
    private readonly resolve: Resolver,
  ) {}

  clone(args: CloneArgs): CloneResult {
    const replay = this.core.replayed<CloneResult>(args);
    if (replay) return replay.value;
    const { mount, source } = args;
    const view: TreeView = source.at === undefined ? { mount } : { mount, at: source.at };
    const root = this.resolve({ ...view, ...(source.root === undefined ? {} : { root: source.root }) }, source.path, false);
    const { dir, name } = parentOfPath((path) => this.resolve({ mount }, path, true), args.target);
    if (this.core.store.getDentry({ mount, parent: dir.inode, name })) throw new FsError("EEXIST", `'${args.target}' exists`);
    if (root.type === "dir" && source.at === undefined && isWithin(this.core, mount, dir.inode, root.inode)) {
      throw new FsError("EINVAL", `cannot clone '${source.path}' into itself ('${args.target}')`);
    }
    const command = this.core.command("clone_subtree", mount, args);
    const plan = new ClonePlan(this.core, command, view, LIMITS.cloneMaxEntries);
    const inode = plan.add(root, dir.inode, name);
    const now = nowNs();
    const key = { mount, parent: dir.inode, name };
    command.predicates.push({ kind: "notExists", target: { family: "dentry", key }, errno: "EEXIST", detail: `'${args.target}' exists` });
    command.mutations.push(...plan.mutations(now), touchDir(mount, dir, now, root.type === "dir" ? 1 : 0));
    command.watchEvents.push({ mount, kind: "create", scope: dir.inode, name, inode });
    const result = this.core.result(command, { inode, entries: plan.size, version: command.version });
    this.core.commit(command);
    return result;
  }
}
