import { ROOT_INODE, validateName, type InodeId, type MountId } from "../types/index.ts";
import type { FullScan, MetadataStore, ScannedDentry, ScannedInode } from "../schema/index.ts";
import type { ViolationSink } from "./fsck.ts";

// Namespace invariants: dentries point at inodes of their type under directories, link counts
// match the dentries, directories form one tree per mount (one name each, parent pointer agrees,
// no cycle), and every inode is reachable from its mount's root.

const MOUNT_PREFIX = "mount:";

export interface NamespaceFacts {
  mounts: Map<MountId, string>;
  /** Keyed by `${mount}:${inode}`. */
  inodes: Map<string, ScannedInode>;
  dentryCount: number;
  /** Dentries naming each inode. */
  linksTo: Map<string, ScannedDentry[]>;
  /** Dentries inside each directory. */
  children: Map<string, ScannedDentry[]>;
  /** Inodes kept nameless for a session that holds them open (see orphans.ts). */
  orphans: Set<string>;
}

export const inodeKey = (mount: MountId, inode: InodeId): string => `${mount}:${inode}`;

export function loadNamespace(store: MetadataStore, scan: FullScan, sink: ViolationSink): NamespaceFacts {
  const facts: NamespaceFacts = { mounts: new Map(), inodes: new Map(), dentryCount: 0, linksTo: new Map(), children: new Map(), orphans: new Set() };
  for (const o of scan.orphans()) facts.orphans.add(inodeKey(o.mount, o.inode));
  for (const row of store.scanSystem(MOUNT_PREFIX)) facts.mounts.set(row.int!, row.name.slice(MOUNT_PREFIX.length));
  for (const inode of scan.inodes()) {
    facts.inodes.set(inodeKey(inode.mount, inode.inode), inode);
    if (!facts.mounts.has(inode.mount)) sink.add("unknown-mount", `inode ${inode.inode} is in mount ${inode.mount}, which no mount record names`, { mount: inode.mount, inode: inode.inode });
    if (inode.type === null) sink.add("bad-inode-type", `inode ${inode.inode} has an unknown type code`, { mount: inode.mount, inode: inode.inode });
  }
  for (const d of scan.dentries()) {
    facts.dentryCount++;
    push(facts.linksTo, inodeKey(d.mount, d.child), d);
    push(facts.children, inodeKey(d.mount, d.parent), d);
  }
  return facts;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function checkNamespace(facts: NamespaceFacts, sink: ViolationSink): void {
  for (const [mount, name] of facts.mounts) {
    const root = facts.inodes.get(inodeKey(mount, ROOT_INODE));
    if (!root || root.type !== "dir" || root.parent !== ROOT_INODE) {
      sink.add("missing-root", `mount '${name}' has no root directory (inode ${ROOT_INODE} whose parent is itself)`, { mount, inode: ROOT_INODE });
    }
  }
  for (const list of facts.children.values()) for (const d of list) checkDentry(facts, d, sink);
  for (const inode of facts.inodes.values()) checkLinks(facts, inode, sink);
  checkParentChains(facts, sink);
  checkReachable(facts, sink);
}

function dentryKeys(d: ScannedDentry): Record<string, string | number> {
  return { mount: d.mount, parent: d.parent, name: d.name, child: d.child };
}

function checkDentry(facts: NamespaceFacts, d: ScannedDentry, sink: ViolationSink): void {
  try {
    validateName(d.name);
  } catch (err) {
    sink.add("dentry-bad-name", `entry name is invalid: ${(err as Error).message}`, dentryKeys(d));
  }
  const parent = facts.inodes.get(inodeKey(d.mount, d.parent));
  if (!parent) sink.add("dentry-parent-missing", `entry '${d.name}' is in directory ${d.parent}, which has no inode`, dentryKeys(d));
  else if (parent.type !== "dir") sink.add("dentry-parent-not-dir", `entry '${d.name}' is in inode ${d.parent}, a ${parent.type}`, dentryKeys(d));
  const child = facts.inodes.get(inodeKey(d.mount, d.child));
  if (!child) sink.add("dentry-dangling", `entry '${d.name}' in directory ${d.parent} names inode ${d.child}, which does not exist`, dentryKeys(d));
  else if (child.type !== d.type) {
    sink.add("dentry-type-mismatch", `entry '${d.name}' says ${d.type ?? "unknown"}, inode ${d.child} is a ${child.type ?? "unknown"}`, dentryKeys(d));
  }
}

/** Files and symlinks: one link per dentry. Directories: 2 + subdirectories, and exactly one name (the root none). */
function checkLinks(facts: NamespaceFacts, inode: ScannedInode, sink: ViolationSink): void {
  const key = inodeKey(inode.mount, inode.inode);
  const links = facts.linksTo.get(key) ?? [];
  const keys = { mount: inode.mount, inode: inode.inode };
  if (inode.type !== "dir") {
    if (links.length > 0 && inode.nlink !== links.length) {
      sink.add("nlink-mismatch", `inode ${inode.inode} has nlink ${inode.nlink}, ${links.length} entries name it`, { ...keys, nlink: inode.nlink, expected: links.length });
    }
    return;
  }
  const subdirs = (facts.children.get(key) ?? []).filter((d) => d.type === "dir").length;
  if (inode.nlink !== 2 + subdirs) {
    sink.add("nlink-mismatch", `directory ${inode.inode} has nlink ${inode.nlink}, expected 2 + ${subdirs} subdirectories`, { ...keys, nlink: inode.nlink, expected: 2 + subdirs });
  }
  const isRoot = inode.inode === ROOT_INODE;
  // A directory without a name is reported as unreachable; more than one name is a hard link.
  if (isRoot ? links.length > 0 : links.length > 1) {
    sink.add("dir-links", `directory ${inode.inode} is named by ${links.length} entries`, { ...keys, entries: links.length });
  }
  if (links.length === 1 && links[0]!.parent !== inode.parent) {
    sink.add("dir-parent-mismatch", `directory ${inode.inode} records parent ${inode.parent}, its entry is in ${links[0]!.parent}`, { ...keys, parent: inode.parent, entryParent: links[0]!.parent });
  }
}

/** Follows each directory's parent pointers; a chain that loops before a root is a cycle. */
function checkParentChains(facts: NamespaceFacts, sink: ViolationSink): void {
  const settled = new Set<string>();
  for (const start of facts.inodes.values()) {
    if (start.type !== "dir") continue;
    const path: string[] = [];
    const onPath = new Set<string>();
    let cur: ScannedInode | undefined = start;
    while (cur && cur.inode !== ROOT_INODE) {
      const key = inodeKey(cur.mount, cur.inode);
      if (settled.has(key)) break;
      if (onPath.has(key)) {
        const loop = path.slice(path.indexOf(key)).map((k) => Number(k.split(":")[1]));
        sink.add("dir-cycle", `directories ${loop.join(" -> ")} are each other's parents`, { mount: cur.mount, inode: cur.inode, cycle: loop.join(",") });
        break;
      }
      onPath.add(key);
      path.push(key);
      cur = facts.inodes.get(inodeKey(cur.mount, cur.parent));
    }
    for (const key of path) settled.add(key);
  }
}

function checkReachable(facts: NamespaceFacts, sink: ViolationSink): void {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const mount of facts.mounts.keys()) queue.push(inodeKey(mount, ROOT_INODE));
  for (const key of queue) seen.add(key);
  while (queue.length > 0) {
    const key = queue.pop()!;
    for (const d of facts.children.get(key) ?? []) {
      const child = inodeKey(d.mount, d.child);
      if (seen.has(child) || !facts.inodes.has(child)) continue;
      seen.add(child);
      if (d.type === "dir") queue.push(child);
    }
  }
  for (const [key, inode] of facts.inodes) {
    if (seen.has(key) || (facts.orphans.has(key) && inode.nlink === 0)) continue;
    sink.add("unreachable-inode", `${inode.type ?? "inode"} ${inode.inode} cannot be reached from its mount root (orphan)`, { mount: inode.mount, inode: inode.inode });
  }
}
