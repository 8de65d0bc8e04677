import { LIMITS, utf8Length, type InodeAttrs } from "../../types/index.ts";
import type { Invalidation } from "./event-rules.ts";
import type { Node } from "./node-table.ts";

// Questions a live mount can answer without asking metad, because what it knows is kept current
// by its own replies and by watch events (anything changed elsewhere arrives as an invalidation,
// which forgets the answer):
// - "is `name` in directory D?" when D's whole listing is known (a directory this mount made)
//   and D is watched: an absent name is a negative entry with no round trip. A listing is kept for
//   as long as D stays watched, with no expiry: any change from elsewhere in D forgets it, and so
//   does a lost watch (the invalidator sends D's inode invalidation), so it is exactly as current
//   as the watch. (An expiry only sent a long run of creates back to asking metad about each new
//   name once the listing was 10 s old.) Directories that existed
//   before are not listed ahead: a name another client just made there must show at once, not
//   once its watch event arrives. What this mount itself removed from a watched directory is
//   known absent there too, on the same terms: SQLite deletes its journal at the end of each
//   transaction and checks for it at the start of the next (the kernel forgets the name at the
//   unlink, so each check came to metad).
// - a directory's attributes after this mount's own change inside it: create, mkdir and publish
//   return the child's attributes, and the parent's new mtime, ctime and version are the child's
//   (one command stamps both), so the kernel's GETATTR after every create costs nothing.
// - a file's attributes read from metad (lookup, listing, getattr) or returned by our own
//   setattr, until a request of ours or an event may have changed them: tar's fstat after each
//   read (the kernel drops atime after a read and asks again) costs nothing. Only named files
//   with one link: another link's directory may not be watched.
// - "does this inode have extended attributes?" for inodes this mount created or listed empty:
//   the kernel asks for security.capability before writes, and the answer is no.

export class LocalAnswers {
  private readonly listings = new Map<number, Set<string>>();
  private listedNames = 0;
  /** Names this mount removed from watched directories it holds no listing of, each with its expiry. */
  private readonly removedNames = new Map<number, Map<string, number>>();
  private removedCount = 0;
  private readonly freshDirs = new Set<number>();
  /** Answers given without a round trip; for stats and tests. */
  readonly counts = { negativeLookups: 0, dirGetattrs: 0, fileGetattrs: 0, xattrMisses: 0 };

  /**
   * `live(nodeid)`: the directory is watched right now, so changes to it reach us. What is known
   * of one inode (fresh attributes, attribute names) is kept on its node, and goes with it.
   */
  constructor(
    private readonly live: (nodeid: number) => boolean,
    private readonly nodes: { get(nodeid: number): Node | undefined },
  ) {}

  // --- listings ---

  /** D's complete listing (a new directory is empty). Past the memory budget, nothing is kept. */
  listed(dir: number, names: Iterable<string>): void {
    this.forgetListing(dir);
    const set = new Set(names);
    if (this.listedNames + set.size > LIMITS.fuseListedNamesMax) return;
    this.listedNames += set.size;
    this.listings.set(dir, set);
  }

  /** The directory is watched right now: changes to it reach us. */
  watched(dir: number): boolean {
    return this.live(dir);
  }

  /** True when `name` is known absent from `dir`: a negative entry needs no round trip. */
  knownAbsent(dir: number, name: string): boolean {
    // Too long to be a name at all: metad's answer is ENAMETOOLONG, not "absent".
    if (utf8Length(name) > LIMITS.nameMaxBytes) return false;
    const listing = this.listings.get(dir);
    if (!listing) return this.removedHere(dir, name);
    // Not watched (its subscription never started, or ended): a change may have slipped by, so
    // the listing goes and metad answers.
    if (!this.live(dir)) {
      this.forgetListing(dir);
      return false;
    }
    if (listing.has(name)) return false;
    this.counts.negativeLookups++;
    return true;
  }

  /** This mount added or removed `name` in `dir` (its reply said so). */
  added(dir: number, name: string): void {
    this.forgetRemoved(dir, name);
    const listing = this.listings.get(dir);
    if (!listing || listing.has(name)) return;
    if (this.listedNames >= LIMITS.fuseListedNamesMax) return this.forgetListing(dir);
    listing.add(name);
    this.listedNames++;
  }

  removed(dir: number, name: string): void {
    const listing = this.listings.get(dir);
    if (listing) {
      if (listing.delete(name)) this.listedNames--;
      return;
    }
    // Unwatched, a change from elsewhere could slip by: only a watched directory's names are kept.
    if (!this.live(dir)) return;
    if (this.removedCount >= LIMITS.fuseRemovedNamesMax) {
      // Full (most of them expired, likely): start over rather than sweep on every removal.
      this.removedNames.clear();
      this.removedCount = 0;
    }
    let names = this.removedNames.get(dir);
    if (!names) this.removedNames.set(dir, (names = new Map()));
    if (!names.has(name)) this.removedCount++;
    names.set(name, performance.now() + LIMITS.fuseLiveCacheTimeoutMs);
  }

  /** `name` is one this mount removed from `dir`, within its expiry, and `dir` is still watched. */
  private removedHere(dir: number, name: string): boolean {
    const untilMs = this.removedNames.get(dir)?.get(name);
    if (untilMs === undefined) return false;
    if (performance.now() > untilMs || !this.live(dir)) {
      this.forgetRemoved(dir, name);
      return false;
    }
    this.counts.negativeLookups++;
    return true;
  }

  private forgetRemoved(dir: number, name?: string): void {
    const names = this.removedNames.get(dir);
    if (!names) return;
    if (name === undefined) {
      this.removedCount -= names.size;
      this.removedNames.delete(dir);
      return;
    }
    if (names.delete(name)) this.removedCount--;
    if (names.size === 0) this.removedNames.delete(dir);
  }

  private forgetListing(dir: number): void {
    const listing = this.listings.get(dir);
    if (!listing) return;
    this.listedNames -= listing.size;
    this.listings.delete(dir);
  }

  // --- directory attributes ---

  /** Attributes just read from metad, or written by this mount's own command in the directory. */
  dirFresh(dir: number): void {
    this.freshDirs.add(dir);
  }

  isFresh(dir: number): boolean {
    return this.freshDirs.has(dir);
  }

  /** This mount changed the directory without learning its new attributes (unlink, rename, ...). */
  dirStale(dir: number): void {
    this.freshDirs.delete(dir);
  }

  /** `dir`'s cached attributes are current: it and the scope its attribute events land in are watched. */
  dirAttrsCurrent(dir: number, attrScope: number): boolean {
    if (!this.freshDirs.has(dir)) return false;
    if (!this.live(dir) || !this.live(attrScope)) {
      this.freshDirs.delete(dir);
      return false;
    }
    this.counts.dirGetattrs++;
    return true;
  }

  /**
   * The parent's attributes after a command of ours that created `child` in it (create, mkdir,
   * mknod, symlink, link, publish): the command stamped the parent with the child's ctime, at the
   * child's version, and a new subdirectory adds a link.
   */
  static parentAfter(parent: InodeAttrs, child: InodeAttrs, newSubdirs: number): InodeAttrs {
    return { ...parent, mtimeNs: child.ctimeNs, ctimeNs: child.ctimeNs, nlink: parent.nlink + newSubdirs, version: child.version };
  }

  // --- file attributes ---

  /** The file's attributes just came from metad. */
  fileFresh(nodeid: number): void {
    const node = this.nodes.get(nodeid);
    if (node) node.attrsFresh = true;
  }

  /** A request of ours may have changed the file at metad without telling us its new attributes. */
  fileStale(nodeid: number): void {
    const node = this.nodes.get(nodeid);
    if (node) node.attrsFresh = false;
  }

  /** The file's cached attributes are current: fresh, and the scope its events land in is watched. */
  fileAttrsCurrent(nodeid: number, attrScope: number): boolean {
    const node = this.nodes.get(nodeid);
    if (!node?.attrsFresh) return false;
    if (!this.live(attrScope)) {
      node.attrsFresh = false;
      return false;
    }
    this.counts.fileGetattrs++;
    return true;
  }

  // --- extended attributes ---

  /** True when `name` is known absent from the inode (its whole list is known). */
  xattrAbsent(nodeid: number, name: string): boolean {
    const names = this.nodes.get(nodeid)?.xattrNames;
    if (!names || names.has(name)) return false;
    this.counts.xattrMisses++;
    return true;
  }

  /** The inode's whole list of attribute names, or undefined when not known. */
  xattrNames(nodeid: number): string[] | undefined {
    const names = this.nodes.get(nodeid)?.xattrNames;
    return names ? [...names].sort() : undefined;
  }

  /** Records the whole list (`null`: not known any more, e.g. after our own set or remove). */
  setXattrNames(nodeid: number, names: Iterable<string> | null): void {
    const node = this.nodes.get(nodeid);
    if (node) node.xattrNames = names === null ? null : nameSet(names);
  }

  // --- forgetting ---

  /** A change from elsewhere: whatever it touches is no longer known here. */
  invalidated(inval: Invalidation): void {
    if (inval.kind === "entry") {
      this.forgetListing(inval.parent);
      this.forgetRemoved(inval.parent, inval.name);
      this.freshDirs.delete(inval.parent);
      return;
    }
    // A directory's inode invalidation also stands for a lost watch (events we never saw).
    this.forgetListing(inval.nodeid);
    this.forgetRemoved(inval.nodeid);
    this.freshDirs.delete(inval.nodeid);
    const node = this.nodes.get(inval.nodeid);
    if (!node) return;
    node.attrsFresh = false;
    node.xattrNames = null;
  }

  /** The node is gone (what was known of the inode went with it); a directory's names go too. */
  dropped(nodeid: number): void {
    this.forgetListing(nodeid);
    this.forgetRemoved(nodeid);
    this.freshDirs.delete(nodeid);
  }
}

/** Nearly every known list is empty (each file this mount creates): those share one set. */
const NO_NAMES: ReadonlySet<string> = new Set();

function nameSet(names: Iterable<string>): ReadonlySet<string> {
  const set = new Set(names);
  return set.size === 0 ? NO_NAMES : set;
}
