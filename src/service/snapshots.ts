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
    const info = this.core.result(command, { snapshotId, mount, rootInode, readVersion, createdVersion: command.version });
    this.core.commit(command);
    return info;
  }

  get(mount: MountId, snapshotId: number): SnapshotInfo {
    const pin = this.core.pinsOf(mount).get(snapshotId);
    if (!pin) throw new FsError("ENOENT", `no snapshot ${snapshotId} in mount ${mount}`);
    return toInfo(pin);
  }

  list(mount: MountId): SnapshotInfo[] {
    return [...this.core.pinsOf(mount).values()].map(toInfo).sort((a, b) => a.snapshotId - b.snapshotId);
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

function toInfo(pin: StoredPin): SnapshotInfo {
  return { snapshotId: pin.snapshotId, mount: pin.mount, rootInode: pin.rootInode, readVersion: pin.readVersion, createdVersion: pin.createdVersion };
}
