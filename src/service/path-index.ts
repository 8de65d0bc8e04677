import type { InodeId, MountId } from "../types/index.ts";
import type { MetadataCommand, Mutation } from "../schema/index.ts";
import type { ServiceCore } from "./core.ts";

// The path index maps a directory's canonical path to its inode: an accelerator that skips the
// dentry walk, never namespace truth. Each entry carries the mount's topology epoch when it was
// written; renaming or removing any directory moves the epoch, and every older entry reads as a
// miss. Epochs are fresh ids from the allocator, so none is ever reused, even after a crash that
// lost an epoch change: an entry is trusted only if its epoch is the one persisted now.

const TOPOLOGY_PREFIX = "topology:";

export class PathIndex {
  private readonly epochs = new Map<MountId, number>();
  hits = 0;
  misses = 0;

  constructor(private readonly core: ServiceCore) {}

  epochOf(mount: MountId): number {
    let epoch = this.epochs.get(mount);
    if (epoch === undefined) {
      epoch = this.core.store.getSystem(TOPOLOGY_PREFIX + mount)?.int ?? 0;
      this.epochs.set(mount, epoch);
    }
    return epoch;
  }

  /** Adds the epoch change to a command that renames or removes a directory. */
  invalidate(mount: MountId, command: MetadataCommand): void {
    const epoch = this.core.store.allocateId();
    command.mutations.push({ family: "system", op: "put", key: { name: TOPOLOGY_PREFIX + mount }, value: { int: epoch } });
    this.epochs.set(mount, epoch);
  }

  /** Forgets cached epochs (after a rolled-back group) so they are read again from the store. */
  reload(): void {
    this.epochs.clear();
  }

  entry(mount: MountId, path: string, inode: InodeId): Mutation {
    return { family: "path", op: "put", key: { mount, path }, value: { inode, topologyEpoch: this.epochOf(mount) } };
  }

  /** The directory at `path` if the index has a current entry for it, else null (walk instead). */
  lookup(mount: MountId, path: string): InodeId | null {
    const row = this.core.store.getPath(mount, path);
    if (!row || row.topologyEpoch !== this.epochOf(mount)) {
      this.misses++;
      return null;
    }
    this.hits++;
    return row.inode;
  }
}
