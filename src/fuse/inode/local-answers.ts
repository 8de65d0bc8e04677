import { LIMITS, type InodeAttrs } from "../../types/index.ts";
import type { Invalidation } from "./event-rules.ts";

// Questions a live mount can answer without asking metad, because what it knows is kept current
// by its own replies and by watch events (anything changed elsewhere arrives as an invalidation,
// which forgets the answer):
// - "is `name` in directory D?" when D's whole listing is known (a directory this mount made,
//   listed to the end, or read in the background after a lookup missed there) and D is watched:
//   an absent name is a negative entry with no round trip. A listing is trusted for
//   fuseLiveCacheTimeoutMs, the same bound the kernel's entries have. A listing read while this
//   mount changes D replays those changes over what it read; a change from elsewhere meanwhile
//   discards it (the read may or may not have seen that change).
// - a directory's attributes after this mount's own change inside it: create, mkdir and publish
//   return the child's attributes, and the parent's new mtime, ctime and version are the child's
//   (one command stamps both), so the kernel's GETATTR after every create costs nothing.
// - "does this inode have extended attributes?" for inodes this mount created or listed empty:
//   the kernel asks for security.capability before writes, and the answer is no.

export class LocalAnswers {
  private readonly listings = new Map<number, { names: Set<string>; validUntilMs: number }>();
  private listedNames = 0;
  /** Listings being read: this mount's own changes to D since the read began, in order. */
  private readonly reading = new Map<number, { changes: Array<{ added: boolean; name: string }>; spoiled: boolean }>();
  /** Directories too large to list whole, and until when not to try again. */
  private readonly unlistableUntilMs = new Map<number, number>();
  private readonly freshDirs = new Set<number>();
  /** Attribute names of inodes whose whole list is known (empty: none). */
  private readonly xattrs = new Map<number, ReadonlySet<string>>();
  /** Answers given without a round trip; for stats and tests. */
  readonly counts = { negativeLookups: 0, dirGetattrs: 0, xattrMisses: 0 };

  /** `live(nodeid)`: the directory is watched right now, so changes to it reach us. */
  constructor(private readonly live: (nodeid: number) => boolean) {}

  // --- listings ---

  /** D's complete listing (a new directory is empty). Past the memory budget, nothing is kept. */
  listed(dir: number, names: Iterable<string>): void {
    this.forgetListing(dir);
    const set = new Set(names);
    if (this.listedNames + set.size > LIMITS.fuseListedNamesMax) return;
    this.listedNames += set.size;
    this.listings.set(dir, { names: set, validUntilMs: performance.now() + LIMITS.fuseLiveCacheTimeoutMs });
  }

  /** The directory is watched right now: changes to it reach us. */
  watched(dir: number): boolean {
    return this.live(dir);
  }

  /** True when `name` is known absent from `dir`: a negative entry needs no round trip. */
  knownAbsent(dir: number, name: string): boolean {
    const listing = this.listings.get(dir);
    if (!listing) return false;
    if (performance.now() > listing.validUntilMs) {
      this.forgetListing(dir);
      return false;
    }
    // Not watched yet (its subscription is starting): metad answers until it is.
    if (!this.live(dir)) return false;
    if (listing.names.has(name)) return false;
    this.counts.negativeLookups++;
    return true;
  }

  /**
   * Starts reading D's listing unless it is known, being read, or too large: true means the
   * caller reads it and hands the names to finishListing (null when the read failed).
   */
  startListing(dir: number): boolean {
    if (this.listings.has(dir) || this.reading.has(dir)) return false;
    const untilMs = this.unlistableUntilMs.get(dir);
    if (untilMs !== undefined && performance.now() < untilMs) return false;
    this.unlistableUntilMs.delete(dir);
    if (this.reading.size >= LIMITS.fuseListingReadsMax) return false;
    this.reading.set(dir, { changes: [], spoiled: false });
    return true;
  }

  finishListing(dir: number, names: readonly string[] | null): void {
    const read = this.reading.get(dir);
    this.reading.delete(dir);
    if (!read || read.spoiled || names === null) return;
    const set = new Set(names);
    for (const change of read.changes) {
      if (change.added) set.add(change.name);
      else set.delete(change.name);
    }
    this.listed(dir, set);
  }

  /** D holds more names than one listing may: lookups there keep asking metad for a while. */
  tooLargeToList(dir: number): void {
    if (this.unlistableUntilMs.size >= LIMITS.fuseListingReadsMax * 64) this.unlistableUntilMs.clear();
    this.unlistableUntilMs.set(dir, performance.now() + LIMITS.fuseLiveCacheTimeoutMs);
  }

  /** This mount added or removed `name` in `dir` (its reply said so). */
  added(dir: number, name: string): void {
    this.noteChange(dir, true, name);
    const listing = this.listings.get(dir);
    if (!listing || listing.names.has(name)) return;
    if (this.listedNames >= LIMITS.fuseListedNamesMax) return this.forgetListing(dir);
    listing.names.add(name);
    this.listedNames++;
  }

  removed(dir: number, name: string): void {
    this.noteChange(dir, false, name);
    const listing = this.listings.get(dir);
    if (listing?.names.delete(name)) this.listedNames--;
  }

  private forgetListing(dir: number): void {
    const listing = this.listings.get(dir);
    if (!listing) return;
    this.listedNames -= listing.names.size;
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

  // --- extended attributes ---

  /** True when `name` is known absent from the inode (its whole list is known). */
  xattrAbsent(nodeid: number, name: string): boolean {
    const names = this.xattrs.get(nodeid);
    if (!names || names.has(name)) return false;
    this.counts.xattrMisses++;
    return true;
  }

  /** The inode's whole list of attribute names, or undefined when not known. */
  xattrNames(nodeid: number): string[] | undefined {
    const names = this.xattrs.get(nodeid);
    return names ? [...names].sort() : undefined;
  }

  /** Records the whole list (`null`: not known any more, e.g. after our own set or remove). */
  setXattrNames(nodeid: number, names: Iterable<string> | null): void {
    if (names === null) this.xattrs.delete(nodeid);
    else if (this.xattrs.size < LIMITS.fuseKnownXattrListsMax || this.xattrs.has(nodeid)) this.xattrs.set(nodeid, new Set(names));
  }

  // --- forgetting ---

  /** A change from elsewhere: whatever it touches is no longer known here. */
  invalidated(inval: Invalidation): void {
    if (inval.kind === "entry") {
      this.spoilReading(inval.parent);
      this.forgetListing(inval.parent);
      this.freshDirs.delete(inval.parent);
      return;
    }
    // A directory's inode invalidation also stands for a lost watch (events we never saw).
    this.spoilReading(inval.nodeid);
    this.forgetListing(inval.nodeid);
    this.freshDirs.delete(inval.nodeid);
    this.xattrs.delete(inval.nodeid);
  }

  dropped(nodeid: number): void {
    this.spoilReading(nodeid);
    this.forgetListing(nodeid);
    this.freshDirs.delete(nodeid);
    this.xattrs.delete(nodeid);
  }

  private noteChange(dir: number, added: boolean, name: string): void {
    const read = this.reading.get(dir);
    if (!read || read.spoiled) return;
    read.changes.push({ added, name });
    if (read.changes.length > LIMITS.fuseListingNamesMax) read.spoiled = true;
  }

  private spoilReading(dir: number): void {
    const read = this.reading.get(dir);
    if (read) read.spoiled = true;
  }
}
