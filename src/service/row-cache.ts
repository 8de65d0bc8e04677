import { LIMITS, type Dentry, type InodeAttrs, type InodeId, type MountId } from "../types/index.ts";
import type { DentryKey, MetadataCommand } from "../schema/index.ts";
import type { Projection } from "./core.ts";

// Current inode and dentry rows kept in memory, so a lookup or a path walk of hot names reads no
// SQLite at all. A projection of applied commands: every inode or dentry mutation a command
// applies is written through here, a rolled-back group clears it, and a command with a family it
// does not know clears it too (it cannot tell what such a command changed). Absent names are
// cached as null, so repeated misses cost nothing either. Reads at a version go to the store.
// Keys are nested maps of numbers and names (no key strings to build per read); past its limit a
// map drops its oldest entries (dentries: the oldest directory's names).

/** Families whose mutations leave inode_current and dentry_current alone. */
const OTHER_FAMILIES: ReadonlySet<string> = new Set(["manifest", "gc", "pin", "staged", "system", "history", "watch", "dedupe", "orphan", "xattr"]);

type Names = Map<string, Dentry | null>;

export class RowCache implements Projection {
  private readonly inodes = new Map<MountId, Map<InodeId, InodeAttrs | null>>();
  private readonly dentries = new Map<MountId, Map<InodeId, Names>>();
  private inodeCount = 0;
  private dentryCount = 0;
  hits = 0;
  misses = 0;

  inode(mount: MountId, inode: InodeId, load: () => InodeAttrs | null): InodeAttrs | null {
    const cached = this.inodes.get(mount)?.get(inode);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const row = load();
    this.setInode(mount, inode, row);
    return row;
  }

  dentry(key: DentryKey, load: () => Dentry | null): Dentry | null {
    const cached = this.dentries.get(key.mount)?.get(key.parent)?.get(key.name);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const row = load();
    this.setDentry(key, row);
    return row;
  }

  applied(command: MetadataCommand): void {
    const version = command.version;
    for (const m of command.mutations) {
      if (m.family === "inode") this.setInode(m.key.mount, m.key.inode, m.op === "delete" ? null : { ...m.value, version });
      else if (m.family === "dentry") {
        this.setDentry(m.key, m.op === "delete" ? null : { name: m.key.name, inode: m.value.inode, type: m.value.type, version });
      } else if (!OTHER_FAMILIES.has(m.family)) {
        this.reload();
        return;
      }
    }
  }

  reload(): void {
    this.inodes.clear();
    this.dentries.clear();
    this.inodeCount = 0;
    this.dentryCount = 0;
  }

  private setInode(mount: MountId, inode: InodeId, row: InodeAttrs | null): void {
    let rows = this.inodes.get(mount);
    if (!rows) this.inodes.set(mount, (rows = new Map()));
    if (!rows.has(inode)) {
      if (this.inodeCount >= LIMITS.inodeCacheMaxEntries) this.dropOldestInode(rows);
      this.inodeCount++;
    }
    rows.set(inode, row);
  }

  private dropOldestInode(prefer: Map<InodeId, InodeAttrs | null>): void {
    const from = prefer.size > 0 ? prefer : [...this.inodes.values()].find((m) => m.size > 0);
    if (!from) return;
    from.delete(from.keys().next().value!);
    this.inodeCount--;
  }

  private setDentry(key: DentryKey, row: Dentry | null): void {
    let dirs = this.dentries.get(key.mount);
    if (!dirs) this.dentries.set(key.mount, (dirs = new Map()));
    let names = dirs.get(key.parent);
    if (!names) dirs.set(key.parent, (names = new Map()));
    if (!names.has(key.name)) {
      if (this.dentryCount >= LIMITS.dentryCacheMaxEntries) this.dropOldestDir(dirs, names);
      this.dentryCount++;
    }
    names.set(key.name, row);
  }

  private dropOldestDir(dirs: Map<InodeId, Names>, keep: Names): void {
    for (const [parent, names] of dirs) {
      if (names === keep) continue;
      this.dentryCount -= names.size;
      dirs.delete(parent);
      return;
    }
    // One directory holds them all: drop its oldest name.
    keep.delete(keep.keys().next().value!);
    this.dentryCount--;
  }
}
