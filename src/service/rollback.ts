import { FsError, LIMITS, nowNs, type RollbackResult, type InodeAttrs, type InodeId, type MountId, type Version } from "../types/index.ts";
import type { InodeValue, MetadataCommand, Mutation, WatchEventDraft } from "../schema/index.ts";
import { dropBodyMutations, loadBody } from "./body.ts";
import { ClonePlan, type Resolver } from "./clone.ts";
import { valueOf, type ServiceCore, type WriteOptions } from "./core.ts";
import { children, mergeWalk, type TreeView, type Visit } from "./tree.ts";

// Rollback: a live directory becomes what a snapshot saw of it, in one command. The snapshot's
// state and the live state are walked side by side (as diff does); an entry that is the same
// inode on both sides gets its old attributes and, when its generation moved, its old body back
// (the rows as the snapshot read them, blocks counted again); anything else live is removed and
// anything else the snapshot held is copied back from it as a clone (new inode numbers: a number
// once freed is never handed out again). Each change is a watch event in its directory.

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
    if (attrsDiffer(old, live)) this.puts.set(live.inode, { ...valueOf(old), parent: live.parent });
    for (const visit of mergeWalk(this.core, { a: this.snapshotView, b: this.liveView }, old.inode, live.inode, [], [])) this.visit(visit);
  }

  private visit({ names, dirB, a, b }: Visit): void {
    const name = names[names.length - 1]!;
    const { mount } = this;
    if (a && b && a.inode === b.inode && a.type === b.type) {
      if (a.type === "file" && a.generation !== b.generation && !this.restored.has(b.inode)) {
        // A file linked twice below the directory is visited twice; its body comes back once.
        this.restored.add(b.inode);
        this.bodies.push(...dropBodyMutations(mount, b.inode, b.generation, loadBody(this.core.store, mount, b.inode, b.generation)));
        if (a.generation !== 0) this.bodies.push({ family: "body", op: "copy", key: { mount, inode: a.inode, generation: a.generation }, value: { source: a.inode, at: this.at } });
        this.events.push({ mount, kind: "publish", scope: dirB, name, inode: b.inode, generation: a.generation });
      } else if (attrsDiffer(a, b) && a.type !== "dir") {
        this.events.push({ mount, kind: "update_attr", scope: dirB, name: "", inode: b.inode });
      }
      if (attrsDiffer(a, b) || a.generation !== b.generation) this.puts.set(b.inode, { ...valueOf(a), nlink: a.type === "dir" ? a.nlink : b.nlink, parent: b.parent });
      return;
    }
    if (b) {
      this.removals.push({ family: "dentry", op: "delete", key: { mount, parent: dirB, name } });
      this.dropLive(b);
      this.events.push({ mount, kind: "remove", scope: dirB, name, inode: b.inode });
    }
    if (a) {
      const inode = this.plan.add(a, dirB, name);
      this.events.push({ mount, kind: "create", scope: dirB, name, inode });
    }
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
    for (const { attrs, links } of this.unlinked.values()) {
      const kept = this.puts.get(attrs.inode);
      const nlink = (kept?.nlink ?? attrs.nlink) - links;
      if (nlink > 0) {
        this.puts.set(attrs.inode, { ...(kept ?? valueOf(attrs)), nlink, ctimeNs: now });
        continue;
      }
      this.puts.delete(attrs.inode);
      this.removals.push({ family: "inode", op: "delete", key: { mount, inode: attrs.inode } });
      if (attrs.type === "file") this.removals.push(...dropBodyMutations(mount, attrs.inode, attrs.generation, loadBody(this.core.store, mount, attrs.inode, attrs.generation)));
    }
    if (this.plan.size + this.removals.length > LIMITS.cloneMaxEntries * 2) {
      throw new FsError("EFBIG", `rollback changes more than ${LIMITS.cloneMaxEntries} entries, the limit of one rollback (cloneMaxEntries)`);
    }
    this.command.mutations.push(...this.removals, ...this.plan.mutations(now), ...this.bodies);
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
