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
  /** Every (parent, name) this node is known under; the newest is `primary`. */
  links: Set<string>;
  primary: string | null;
  /** The newest attributes seen in a reply; the version and generation filter our own events. */
  attrs: InodeAttrs;
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
    this.nodes.set(FUSE_ROOT_ID, { nodeid: FUSE_ROOT_ID, inode: rootInode, type: "dir", lookups: 1, handles: 0, links: new Set(), primary: null, attrs: rootAttrs });
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
      node = { nodeid, inode: attrs.inode, type: attrs.type, lookups: 0, handles: 0, links: new Set(), primary: null, attrs };
      this.nodes.set(nodeid, node);
    }
    this.update(node, attrs);
    const key = linkKey(parent, name);
    const previous = this.children.get(key);
    if (previous !== undefined && previous !== nodeid) this.nodes.get(previous)?.links.delete(key);
    this.children.set(key, nodeid);
    node.links.add(key);
    node.primary = key;
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
    for (const key of node.links) if (this.children.get(key) === node.nodeid) this.children.delete(key);
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
    node.links.delete(fromKey);
    node.links.add(toKey);
    if (node.primary === fromKey || node.primary === null) node.primary = toKey;
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
      node.links.delete(oldKey);
      node.links.add(newKey);
      if (node.primary === oldKey) node.primary = newKey;
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

function unlink(node: Node, key: string): void {
  node.links.delete(key);
  if (node.primary === key) node.primary = node.links.values().next().value ?? null;
}
