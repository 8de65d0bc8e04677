import { LIMITS, type Dentry, type InodeAttrs, type InodeId, type MountId } from "../types/index.ts";
import type { DentryKey, MetadataCommand } from "../schema/index.ts";
import type { Projection } from "./core.ts";
import { NestedGenerations } from "./generations.ts";

// Current inode and dentry rows kept in memory, so a lookup or a path walk of hot names reads no
// SQLite at all. A projection of applied commands: every inode or dentry mutation a command
// applies is written through here, a rolled-back group clears it, and a command with a family it
// does not know clears it too (it cannot tell what such a command changed). Absent names are
// cached as null, so repeated misses cost nothing either. Reads at a version go to the store.
// Keys are nested maps of numbers and names (no key strings to build per read), bounded as two
// generations (NestedGenerations): past half its limit the older half is dropped whole.

/** Families whose mutations leave inode_current and dentry_current alone. */
const OTHER_FAMILIES: ReadonlySet<string> = new Set(["manifest", "gc", "pin", "staged", "system", "history", "watch", "dedupe", "orphan", "xattr"]);

export class RowCache implements Projection {
  private readonly inodes = new NestedGenerations<InodeAttrs | null>(2, Math.ceil(LIMITS.inodeCacheMaxEntries / 2));
  private readonly dentries = new NestedGenerations<Dentry | null>(3, Math.ceil(LIMITS.dentryCacheMaxEntries / 2));
  hits = 0;
  misses = 0;

  /** Rows held, inodes and dentries (upper bounds; see NestedGenerations). */
  get entries(): { inodes: number; dentries: number } {
    return { inodes: this.inodes.entries, dentries: this.dentries.entries };
  }

  inode(mount: MountId, inode: InodeId, load: () => InodeAttrs | null): InodeAttrs | null {
    const cached = this.inodes.get(mount, inode);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const row = load();
    this.inodes.set(mount, inode, undefined, row);
    return row;
  }

  dentry(key: DentryKey, load: () => Dentry | null): Dentry | null {
    const cached = this.dentries.get(key.mount, key.parent, key.name);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const row = load();
    this.dentries.set(key.mount, key.parent, key.name, row);
    return row;
  }

  applied(command: MetadataCommand): void {
    const version = command.version;
    for (const m of command.mutations) {
      if (m.family === "inode") this.inodes.set(m.key.mount, m.key.inode, undefined, m.op === "delete" ? null : { ...m.value, version });
      else if (m.family === "dentry") {
        const key = m.key;
        this.dentries.set(key.mount, key.parent, key.name, m.op === "delete" ? null : { name: key.name, inode: m.value.inode, type: m.value.type, version });
      } else if (!OTHER_FAMILIES.has(m.family)) {
        this.reload();
        return;
      }
    }
  }

  reload(): void {
    this.inodes.clear();
    this.dentries.clear();
  }
}
