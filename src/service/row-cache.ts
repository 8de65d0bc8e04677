import { LIMITS, type Dentry, type InodeAttrs, type InodeId, type MountId } from "../types/index.ts";
import type { DentryKey, MetadataCommand } from "../schema/index.ts";
import type { Projection } from "./core.ts";

// Current inode and dentry rows kept in memory, so a lookup or a path walk of hot names reads no
// SQLite at all. A projection of applied commands: every inode or dentry mutation a command
// applies is written through here, a rolled-back group clears it, and a command with a family it
// does not know clears it too (it cannot tell what such a command changed). Absent names are
// cached as null, so repeated misses cost nothing either. Reads at a version go to the store.

/** Families whose mutations leave inode_current and dentry_current alone. */
const OTHER_FAMILIES: ReadonlySet<string> = new Set(["manifest", "gc", "pin", "staged", "system", "history", "watch", "dedupe"]);

export class RowCache implements Projection {
  private readonly inodes = new Map<string, InodeAttrs | null>();
  private readonly dentries = new Map<string, Dentry | null>();
  hits = 0;
  misses = 0;

  inode(mount: MountId, inode: InodeId, load: () => InodeAttrs | null): InodeAttrs | null {
    const key = `${mount}:${inode}`;
    const cached = this.inodes.get(key);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const row = load();
    remember(this.inodes, key, row, LIMITS.inodeCacheMaxEntries);
    return row;
  }

  dentry(key: DentryKey, load: () => Dentry | null): Dentry | null {
    const k = `${key.mount}:${key.parent}:${key.name}`;
    const cached = this.dentries.get(k);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const row = load();
    remember(this.dentries, k, row, LIMITS.dentryCacheMaxEntries);
    return row;
  }

  applied(command: MetadataCommand): void {
    const version = command.version;
    for (const m of command.mutations) {
      if (m.family === "inode") {
        const key = `${m.key.mount}:${m.key.inode}`;
        remember(this.inodes, key, m.op === "delete" ? null : { ...m.value, version }, LIMITS.inodeCacheMaxEntries);
      } else if (m.family === "dentry") {
        const key = `${m.key.mount}:${m.key.parent}:${m.key.name}`;
        const row = m.op === "delete" ? null : { name: m.key.name, inode: m.value.inode, type: m.value.type, version };
        remember(this.dentries, key, row, LIMITS.dentryCacheMaxEntries);
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

/** Sets a key, first making room by dropping the oldest entry when the map is full. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}
