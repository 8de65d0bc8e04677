import { FsError, LIMITS, ROOT_INODE, type InodeId, type MountId, type Version } from "../types/index.ts";
import type { StoredPin } from "../schema/index.ts";
import type { ServiceCore, WriteOptions } from "./core.ts";

// Snapshots pin a version: everything the mount held then stays readable (history is kept while a
// pin exists), read-only, rooted at the snapshotted directory. Retiring frees what only it held.

export interface SnapshotInfo {
  snapshotId: number;
  mount: MountId;
  rootInode: InodeId;
  readVersion: Version;
  createdVersion: Version;
  /** The snapshotted directory's absolute path when the snapshot was taken: the paths it shows start there. */
  path: string;
}

export class Snapshots {
  constructor(private readonly core: ServiceCore) {}

  create(args: { mount: MountId; inode?: InodeId } & WriteOptions): SnapshotInfo {
    const replay = this.core.replayed<SnapshotInfo>(args);
    if (replay) return replay.value;
    const { mount } = args;
    const rootInode = args.inode ?? ROOT_INODE;
    this.core.getDir(mount, rootInode);
    if (this.core.pinsOf(mount).size >= LIMITS.snapshotsPerMountMax) {
      throw new FsError("ENOSPC", `mount has ${LIMITS.snapshotsPerMountMax} snapshots, the limit`);
    }
    const command = this.core.command("snapshot_subtree", mount, args);
    const snapshotId = this.core.allocateId(command);
    const readVersion = command.version - 1;
    command.mutations.push({ family: "pin", op: "put", key: { mount, snapshotId }, value: { rootInode, readVersion } });
    const info = this.core.result(command, { snapshotId, mount, rootInode, readVersion, createdVersion: command.version, path: this.pathAt(mount, rootInode, readVersion) });
    this.core.commit(command);
    return info;
  }

  get(mount: MountId, snapshotId: number): SnapshotInfo {
    const pin = this.core.pinsOf(mount).get(snapshotId);
    if (!pin) throw new FsError("ENOENT", `no snapshot ${snapshotId}`);
    return this.toInfo(pin);
  }

  list(mount: MountId): SnapshotInfo[] {
    return [...this.core.pinsOf(mount).values()].map((pin) => this.toInfo(pin)).sort((a, b) => a.snapshotId - b.snapshotId);
  }

  /**
   * The absolute path of directory `inode` at `version`: up the parent chain, finding each name in
   * its parent's entries. Read when a snapshot is created or opened, never on the path hot path.
   */
  private pathAt(mount: MountId, inode: InodeId, version: Version): string {
    const names: string[] = [];
    for (let cur = inode, depth = 0; cur !== ROOT_INODE; depth++) {
      if (depth > LIMITS.pathMaxBytes / 2) throw new FsError("EIO", "directory chain is longer than any path");
      const parent = this.core.getInode(mount, cur, version).parent;
      names.unshift(this.nameIn(mount, parent, cur, version));
      cur = parent;
    }
    return `/${names.join("/")}`;
  }

  private nameIn(mount: MountId, parent: InodeId, inode: InodeId, version: Version): string {
    for (let after: string | undefined; ; ) {
      const page = this.core.store.scanDentries(mount, parent, { limit: LIMITS.readdirPageMaxEntries, at: version, ...(after === undefined ? {} : { after }) });
      const hit = page.find((d) => d.inode === inode);
      if (hit) return hit.name;
      if (page.length < LIMITS.readdirPageMaxEntries) throw new FsError("EIO", `directory ${inode} is not in its parent's entries`);
      after = page[page.length - 1]!.name;
    }
  }

  private toInfo(pin: StoredPin): SnapshotInfo {
    return { ...toInfo(pin), path: this.pathAt(pin.mount, pin.rootInode, pin.readVersion) };
  }

  retire(args: { mount: MountId; snapshotId: number } & WriteOptions): void {
    if (this.core.replayed(args)) return;
    const { mount, snapshotId } = args;
    this.get(mount, snapshotId);
    const command = this.core.command("retire_snapshot", mount, args);
    command.mutations.push({ family: "pin", op: "delete", key: { mount, snapshotId } });
    this.core.commit(command);
  }
}

function toInfo(pin: StoredPin): Omit<SnapshotInfo, "path"> {
  return { snapshotId: pin.snapshotId, mount: pin.mount, rootInode: pin.rootInode, readVersion: pin.readVersion, createdVersion: pin.createdVersion };
}
