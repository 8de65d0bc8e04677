import { FsError, LIMITS, nowNs, type RollbackResult, type InodeAttrs, type InodeId, type MountId, type Version } from "../types/index.ts";
import type { InodeValue, MetadataCommand, Mutation, WatchEventDraft } from "../schema/index.ts";
import { dropBodyMutations, loadBody } from "./body.ts";
import { ClonePlan, type Resolver } from "./clone.ts";
import { valueOf, type ServiceCore, type WriteOptions } from "./core.ts";
import { children, isWithin, mergeWalk, type TreeView, type Visit } from "./tree.ts";

// Rollback: a live directory becomes what a snapshot saw of it, in one command. The snapshot's
// state and the live state are walked side by side (as diff does); an entry that is the same
// inode on both sides gets its old attributes and, when its generation moved, its old body back
// (the rows as the snapshot read them, blocks counted again); anything else live is removed and
// a file moved inside the directory since goes back under its own number; anything else the
// snapshot held is copied back from it as a clone (new inode numbers: a number once freed is
// never handed out again). Each change is a watch event in its directory.

export interface RollbackArgs extends WriteOptions {
  mount: MountId;
  path: string;
  snapshotId: number;
}


export class Rollbacks {
  constructor(
    private readonly core: ServiceCore,
    private readonly resolve: Resolver,
  ) {}

  rollback(args: RollbackArgs): RollbackResult {
    const replay = this.core.replayed<RollbackResult>(args);
    if (replay) return replay.value;
    const { mount, snapshotId } = args;
    const pin = this.core.pinsOf(mount).get(snapshotId);
    if (!pin) throw new FsError("ENOENT", `no snapshot ${snapshotId} in this mount`);
    const live = this.resolve({ mount }, args.path, true);
    if (live.type !== "dir") throw new FsError("ENOTDIR", `'${args.path}' is not a directory; rollback restores directories`);
    const at = pin.readVersion;
    const old = this.core.store.getInode({ mount, inode: live.inode }, at);
    if (!old || old.type !== "dir" || !this.seenBy(mount, at, pin.rootInode, live.inode)) {
      throw new FsError("ENOENT", `'${args.path}' is not a directory snapshot ${snapshotId} saw (made later, or outside its root)`);
    }
    const command = this.core.command("rollback_subtree", mount, args);
    const builder = new RollbackBuilder(this.core, command, mount, at);
    builder.walk(old, live);
    const changed = builder.finish(nowNs());
    if (command.mutations.length > LIMITS.commandMaxMutations) {
      throw new FsError("EFBIG", `rollback of '${args.path}' needs ${command.mutations.length} changes, over the ${LIMITS.commandMaxMutations} one command holds`);
    }
    command.predicates.push({ kind: "versionEquals", target: { family: "inode", key: { mount, inode: live.inode } }, version: live.version, errno: "ESTALE" });
    const result = this.core.result(command, { changed, version: command.version });
    this.core.commit(command);
    return result;
  }

  /** Whether the snapshot's root held `inode` at its version (the root itself or beneath it). */
  private seenBy(mount: MountId, at: Version, root: InodeId, inode: InodeId): boolean {
    const seen = new Set<InodeId>();
    for (let cursor = inode; ; ) {
      if (cursor === root) return true;
      const attrs = this.core.store.getInode({ mount, inode: cursor }, at);
      if (!attrs || attrs.parent === cursor || seen.has(cursor)) return false;
      seen.add(cursor);
      cursor = attrs.parent;
    }
  }
}

/** Collects a rollback's mutations: removals first, then copies back, then restored inodes. */
class RollbackBuilder {
  private readonly removals: Mutation[] = [];
  private readonly bodies: Mutation[] = [];
  private readonly puts = new Map<InodeId, InodeValue>();
  /** Live inodes losing links: how many, with their attributes. */
  private readonly unlinked = new Map<InodeId, { attrs: InodeAttrs; links: number }>();
  private readonly events: WatchEventDraft[] = [];
  private readonly restored = new Set<InodeId>();
  /** Snapshot entries that go back to a live inode moved inside the directory: dentries, and links gained. */
  private readonly relinks: Mutation[] = [];
  private readonly relinked = new Map<InodeId, { attrs: InodeAttrs; links: number }>();
  private liveRoot: InodeId = 0;
  private readonly plan: ClonePlan;
  private readonly snapshotView: TreeView;
  private readonly liveView: TreeView;

  constructor(
    private readonly core: ServiceCore,
    private readonly command: MetadataCommand,
    private readonly mount: MountId,
    private readonly at: Version,
  ) {
    this.snapshotView = { mount, at };
    this.liveView = { mount };
    this.plan = new ClonePlan(core, command, this.snapshotView, LIMITS.cloneMaxEntries);
  }

  walk(old: InodeAttrs, live: InodeAttrs): void {
    this.liveRoot = live.inode;
    if (attrsDiffer(old, live)) this.puts.set(live.inode, { ...valueOf(old), parent: live.parent });
    // A directory that is another inode than the snapshot's is removed whole and copied back
    // (visit): walking into it as well would drop its entries twice and copy into a directory
    // that is going away.
    const sameInode = (a: InodeAttrs, b: InodeAttrs) => a.inode === b.inode;
    for (const visit of mergeWalk(this.core, { a: this.snapshotView, b: this.liveView }, old.inode, live.inode, [], [], sameInode)) this.visit(visit);
  }

  private visit({ names, dirB, a, b }: Visit): void {
    const name = names[names.length - 1]!;
    const { mount } = this;
    if (a && b && a.inode === b.inode && a.type === b.type) {
      const event = this.restore(a, b, b.parent);
      if (event === "publish") this.events.push({ mount, kind: "publish", scope: dirB, name, inode: b.inode, generation: a.generation });
      else if (event === "attrs" && a.type !== "dir") this.events.push({ mount, kind: "update_attr", scope: dirB, name: "", inode: b.inode });
      return;
    }
    if (b) {
      this.removals.push({ family: "dentry", op: "delete", key: { mount, parent: dirB, name } });
      this.dropLive(b);
      this.events.push({ mount, kind: "remove", scope: dirB, name, inode: b.inode });
    }
    if (!a) return;
    const moved = this.movedWithin(a);
    if (moved) {
      // A file or symlink moved inside the directory since the snapshot goes back by its own
      // number (its other name goes in this same rollback); it is not copied.
      this.relinks.push({ family: "dentry", op: "insert", key: { mount, parent: dirB, name }, value: { inode: a.inode, type: a.type } });
      const entry = this.relinked.get(a.inode) ?? { attrs: moved, links: 0 };
      entry.links++;
      this.relinked.set(a.inode, entry);
      this.restore(a, moved, dirB);
      this.events.push({ mount, kind: "create", scope: dirB, name, inode: a.inode });
      return;
    }
    const inode = this.plan.add(a, dirB, name);
    this.events.push({ mount, kind: "create", scope: dirB, name, inode });
  }

  /** The live attributes of a snapshot file or symlink that still lives, singly linked, below the rolled-back directory. */
  private movedWithin(a: InodeAttrs): InodeAttrs | null {
    if (a.type === "dir") return null;
    const live = this.core.store.getInode({ mount: this.mount, inode: a.inode });
    if (!live || live.type !== a.type || live.nlink !== 1) return null;
    return isWithin(this.core, this.mount, live.parent, this.liveRoot) ? live : null;
  }

  /** Gives a live inode its snapshot attributes and, when its generation moved, its snapshot body. */
  private restore(a: InodeAttrs, live: InodeAttrs, parent: InodeId): "publish" | "attrs" | null {
    const { mount } = this;
    let event: "publish" | "attrs" | null = null;
    if (a.type === "file" && a.generation !== live.generation) {
      event = "publish";
      // A file linked twice below the directory is visited twice; its body comes back once.
      if (!this.restored.has(live.inode)) {
        this.restored.add(live.inode);
        this.bodies.push(...dropBodyMutations(mount, live.inode, live.generation, loadBody(this.core.store, mount, live.inode, live.generation)));
        if (a.generation !== 0) this.bodies.push({ family: "body", op: "copy", key: { mount, inode: a.inode, generation: a.generation }, value: { source: a.inode, at: this.at } });
      }
    } else if (attrsDiffer(a, live)) event = "attrs";
    if (event !== null || parent !== live.parent) this.puts.set(live.inode, { ...valueOf(a), nlink: a.type === "dir" ? a.nlink : live.nlink, parent });
    return event;
  }

  /** A live entry leaves: a directory with everything below it, a file or symlink by one link. */
  private dropLive(attrs: InodeAttrs): void {
    if (attrs.type !== "dir") {
      const entry = this.unlinked.get(attrs.inode) ?? { attrs, links: 0 };
      entry.links++;
      this.unlinked.set(attrs.inode, entry);
      return;
    }
    this.removals.push({ family: "inode", op: "delete", key: { mount: this.mount, inode: attrs.inode } });
    for (const child of children(this.core, this.liveView, attrs.inode)) {
      this.removals.push({ family: "dentry", op: "delete", key: { mount: this.mount, parent: attrs.inode, name: child.name } });
      this.dropLive(child.attrs);
    }
  }

  /** Puts the collected mutations and events into the command; returns how many entries changed. */
  finish(now: bigint): number {
    const { mount } = this;
    // A live inode's links: minus those removed, plus those a moved entry gets back.
    for (const inode of new Set([...this.unlinked.keys(), ...this.relinked.keys()])) {
      const attrs = (this.unlinked.get(inode) ?? this.relinked.get(inode))!.attrs;
      const nlink = attrs.nlink - (this.unlinked.get(inode)?.links ?? 0) + (this.relinked.get(inode)?.links ?? 0);
      if (nlink > 0) {
        this.puts.set(inode, { ...(this.puts.get(inode) ?? valueOf(attrs)), nlink, ctimeNs: now });
        continue;
      }
      this.puts.delete(inode);
      this.removals.push({ family: "inode", op: "delete", key: { mount, inode } });
      if (attrs.type === "file") this.removals.push(...dropBodyMutations(mount, inode, attrs.generation, loadBody(this.core.store, mount, inode, attrs.generation)));
    }
    if (this.plan.size + this.removals.length > LIMITS.cloneMaxEntries * 2) {
      throw new FsError("EFBIG", `rollback changes more than ${LIMITS.cloneMaxEntries} entries, the limit of one rollback (cloneMaxEntries)`);
    }
    this.command.mutations.push(...this.removals, ...this.relinks, ...this.plan.mutations(now), ...this.bodies);
    for (const [inode, value] of this.puts) this.command.mutations.push({ family: "inode", op: "put", key: { mount, inode }, value });
    this.command.watchEvents.push(...this.events);
    return this.events.length;
  }
}

/** What a rollback restores of an inode: everything but the version and ctime. */
function attrsDiffer(a: InodeAttrs, b: InodeAttrs): boolean {
  return a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.sizeBytes !== b.sizeBytes || a.generation !== b.generation ||
    a.nlink !== b.nlink || a.mtimeNs !== b.mtimeNs || a.atimeNs !== b.atimeNs || a.target !== b.target;
}
