import { FsError, LIMITS, type InodeAttrs } from "../../types/index.ts";
import { FUSE_ROOT_ID } from "../kernel/index.ts";

// The kernel's view of our inodes: which node ids it holds references to (lookup counts, dropped
// by FORGET), and under which (directory, name) each was last seen. Publishing a file body goes
// by directory and name, and a snapshot view resolves paths, so both come from here.

export interface Node {
  readonly nodeid: number;
  readonly inode: number;
  readonly type: InodeAttrs["type"];
  /** References the kernel holds: +1 per entry reply, -n per FORGET. */
  lookups: number;
  /** Open file or directory handles; a node with handles outlives its last FORGET. */
  handles: number;
  /** The newest (parent, name) this node is known under (a linkKey). */
  primary: string | null;
  /**
   * Its other names, only for a file with several hard links: tens of thousands of nodes live at
   * once (the kernel's dentry cache), so the common single name costs no Set.
   */
  otherLinks: Set<string> | null;
  /** The newest attributes seen in a reply; the version and generation filter our own events. */
  attrs: InodeAttrs;
  /**
   * What LocalAnswers knows about this inode, kept here rather than in maps by node id (a map
   * entry costs more than the fact): its attributes came from metad and nothing changed them
   * since; its whole list of extended attribute names (null: not known).
   */
  attrsFresh: boolean;
  xattrNames: ReadonlySet<string> | null;
  /**
   * The generation a publish of ours in flight will commit (its prepare's): its event may come
   * before its reply, and is our own change all the same.
   */
  publishingGeneration?: number;
}

export function linkKey(parent: number, name: string): string {
  return `${parent}\0${name}`;
}

export function splitLinkKey(key: string): { parent: number; name: string } {
  const cut = key.indexOf("\0");
  return { parent: Number(key.slice(0, cut)), name: key.slice(cut + 1) };
}

export class NodeTable {
  private readonly nodes = new Map<number, Node>();
  private readonly children = new Map<string, number>();
  /** Called when a node is dropped (its last reference and handle gone). */
  onDrop: (node: Node) => void = () => {};
  /**
   * (inode, version) of this mount's own commands, from their replies: their watch events are an
   * echo even when the node is gone by the time they arrive (a journal made, written and removed
   * within milliseconds). Two generations of fuseOwnCommitsKept / 2, the older dropped whole.
   */
  private ownRecent = new Set<string>();
  private ownOlder = new Set<string>();

  /** `rootInode` is the NoKV directory shown as the mount root (a snapshot's may not be 1). */
  constructor(readonly rootInode: number, rootAttrs: InodeAttrs) {
    this.nodes.set(FUSE_ROOT_ID, { nodeid: FUSE_ROOT_ID, inode: rootInode, type: "dir", lookups: 1, handles: 0, primary: null, otherLinks: null, attrs: rootAttrs, attrsFresh: false, xattrNames: null });
  }

  /** FUSE node ids equal NoKV inode numbers, except that the mount root is always node 1. */
  nodeidOf(inode: number): number {
    return inode === this.rootInode ? FUSE_ROOT_ID : inode;
  }

  inodeOf(nodeid: number): number {
    return nodeid === FUSE_ROOT_ID ? this.rootInode : nodeid;
  }

  /** A reply to our own command: `attrs` are the inode as that command left it. */
  ownCommit(attrs: InodeAttrs): void {
    this.ownRecent.add(`${attrs.inode}:${attrs.version}`);
    if (this.ownRecent.size < LIMITS.fuseOwnCommitsKept / 2) return;
    this.ownOlder = this.ownRecent;
    this.ownRecent = new Set();
  }

  isOwnCommit(inode: number, version: number): boolean {
    const key = `${inode}:${version}`;
    return this.ownRecent.has(key) || this.ownOlder.has(key);
  }

  get(nodeid: number): Node | undefined {
    return this.nodes.get(nodeid);
  }

  /** The node, or ESTALE: the kernel named a node id it had already forgotten (a bug somewhere). */
  require(nodeid: number): Node {
    const node = this.nodes.get(nodeid);
    if (!node) throw new FsError("ESTALE", `node ${nodeid} is not known`);
    return node;
  }

  get size(): number {
    return this.nodes.size;
  }

  childOf(parent: number, name: string): number | undefined {
    return this.children.get(linkKey(parent, name));
  }

  /** Records an entry reply: one more kernel reference, and `name` in `parent` as its newest link. */
  remember(parent: number, name: string, attrs: InodeAttrs): Node {
    const node = this.know(parent, name, attrs);
    node.lookups++;
    return node;
  }

  /** Records what a reply said about `name` in `parent`, without a kernel reference. */
  know(parent: number, name: string, attrs: InodeAttrs): Node {
    const nodeid = this.nodeidOf(attrs.inode);
    let node = this.nodes.get(nodeid);
    if (!node) {
      node = { nodeid, inode: attrs.inode, type: attrs.type, lookups: 0, handles: 0, primary: null, otherLinks: null, attrs, attrsFresh: false, xattrNames: null };
      this.nodes.set(nodeid, node);
    }
    this.update(node, attrs);
    const key = linkKey(parent, name);
    const previous = this.children.get(key);
    if (previous !== undefined && previous !== nodeid) {
      const other = this.nodes.get(previous);
      if (other) unlink(other, key);
    }
    this.children.set(key, nodeid);
    makePrimary(node, key);
    return node;
  }

  /** Keeps the newest attributes (by commit version) of a node. */
  update(node: Node, attrs: InodeAttrs): void {
    if (attrs.version >= node.attrs.version) node.attrs = attrs;
  }

  forget(nodeid: number, count: number): void {
    const node = this.nodes.get(nodeid);
    if (!node || nodeid === FUSE_ROOT_ID) return;
    node.lookups = Math.max(0, node.lookups - count);
    this.dropIfUnused(node);
  }

  release(node: Node): void {
    node.handles = Math.max(0, node.handles - 1);
    this.dropIfUnused(node);
  }

  private dropIfUnused(node: Node): void {
    if (node.lookups > 0 || node.handles > 0 || node.nodeid === FUSE_ROOT_ID) return;
    this.nodes.delete(node.nodeid);
    for (const key of linksOf(node)) if (this.children.get(key) === node.nodeid) this.children.delete(key);
    this.onDrop(node);
  }

  /** `name` left `parent` (unlink, rmdir, or a remove seen in a watch event). */
  removed(parent: number, name: string): Node | undefined {
    const key = linkKey(parent, name);
    const nodeid = this.children.get(key);
    if (nodeid === undefined) return undefined;
    this.children.delete(key);
    const node = this.nodes.get(nodeid);
    if (node) unlink(node, key);
    return node;
  }

  /** A rename (or one half of an exchange): whatever was at the target is replaced. */
  moved(from: { parent: number; name: string }, to: { parent: number; name: string }): void {
    const fromKey = linkKey(from.parent, from.name);
    const toKey = linkKey(to.parent, to.name);
    if (fromKey === toKey) return;
    const nodeid = this.children.get(fromKey);
    this.removed(to.parent, to.name);
    if (nodeid === undefined) return;
    this.children.delete(fromKey);
    this.children.set(toKey, nodeid);
    const node = this.nodes.get(nodeid);
    if (!node) return;
    if (node.primary === null) node.primary = toKey;
    else relink(node, fromKey, toKey);
  }

  exchanged(a: { parent: number; name: string }, b: { parent: number; name: string }): void {
    const aKey = linkKey(a.parent, a.name);
    const bKey = linkKey(b.parent, b.name);
    const aId = this.children.get(aKey);
    const bId = this.children.get(bKey);
    this.children.delete(aKey);
    this.children.delete(bKey);
    for (const [id, oldKey, newKey] of [[aId, aKey, bKey], [bId, bKey, aKey]] as const) {
      if (id === undefined) continue;
      this.children.set(newKey, id);
      const node = this.nodes.get(id);
      if (!node) continue;
      relink(node, oldKey, newKey);
    }
  }

  /** The directory and name to publish a file's body under, or null once it has no known name. */
  linkOf(node: Node): { parent: number; name: string } | null {
    return node.primary === null ? null : splitLinkKey(node.primary);
  }

  /** The node's path from the mount root through primary links; null if a link is unknown. */
  pathOf(nodeid: number): string | null {
    const parts: string[] = [];
    let at = nodeid;
    for (let depth = 0; at !== FUSE_ROOT_ID; depth++) {
      const node = this.nodes.get(at);
      if (!node || node.primary === null || depth > 4096) return null;
      const { parent, name } = splitLinkKey(node.primary);
      parts.push(name);
      at = parent;
    }
    return `/${parts.reverse().join("/")}`;
  }

  /** Names known in directory `parent` (for invalidating them all after a lost watch). */
  namesIn(parent: number): string[] {
    const out: string[] = [];
    const prefix = `${parent}\0`;
    for (const key of this.children.keys()) if (key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out;
  }
}

function linksOf(node: Node): string[] {
  const links = node.otherLinks ? [...node.otherLinks] : [];
  if (node.primary !== null) links.push(node.primary);
  return links;
}

/** `key` becomes the node's newest name; the one it had stays among the others. */
function makePrimary(node: Node, key: string): void {
  if (node.primary === key) return;
  if (node.primary !== null) (node.otherLinks ??= new Set()).add(node.primary);
  node.otherLinks?.delete(key);
  node.primary = key;
}

/** The node lost the name `key`; the primary falls to another name it has, if any. */
function unlink(node: Node, key: string): void {
  if (node.primary !== key) {
    node.otherLinks?.delete(key);
    return;
  }
  const next = node.otherLinks?.values().next().value;
  node.primary = next ?? null;
  if (next !== undefined) node.otherLinks!.delete(next);
  if (node.otherLinks?.size === 0) node.otherLinks = null;
}

/** The name `from` is now `to` (a rename): the primary stays the primary. */
function relink(node: Node, from: string, to: string): void {
  if (node.primary === from) {
    node.primary = to;
    node.otherLinks?.delete(to);
    return;
  }
  node.otherLinks?.delete(from);
  if (node.primary !== to) (node.otherLinks ??= new Set()).add(to);
}
