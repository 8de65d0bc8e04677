import { DEFAULT_MOUNT_NAME, FsError, ROOT_INODE, validateName, type MountId } from "../types/index.ts";
import { newInode, type ServiceCore, type WriteOptions } from "./core.ts";

// Named mounts: separate namespaces in one database, each with its own root inode.

const MOUNT_PREFIX = "mount:";
const NEXT_MOUNT_ID = "next_mount_id";

export interface MountInfo {
  id: MountId;
  name: string;
}

export class Mounts {
  private readonly byName = new Map<string, MountId>();

  constructor(private readonly core: ServiceCore) {
    for (const row of core.store.scanSystem(MOUNT_PREFIX)) {
      this.byName.set(row.name.slice(MOUNT_PREFIX.length), row.int!);
    }
  }

  /** Creates the default mount on first start; a no-op afterwards. */
  bootstrap(): MountInfo {
    const id = this.byName.get(DEFAULT_MOUNT_NAME);
    return id === undefined ? this.create(DEFAULT_MOUNT_NAME) : { id, name: DEFAULT_MOUNT_NAME };
  }

  list(): MountInfo[] {
    return [...this.byName].map(([name, id]) => ({ id, name })).sort((a, b) => a.id - b.id);
  }

  /** The id of a mount by name or id; ENOENT when there is none. */
  resolve(mount: string | MountId): MountId {
    if (typeof mount === "number") {
      for (const id of this.byName.values()) if (id === mount) return id;
      throw new FsError("ENOENT", `no mount with id ${mount}`);
    }
    const id = this.byName.get(mount);
    if (id === undefined) throw new FsError("ENOENT", `no mount named '${mount}'`);
    return id;
  }

  create(name: string, options: WriteOptions & { uid?: number; gid?: number; mode?: number } = {}): MountInfo {
    validateName(name);
    const replay = this.core.replayed<MountInfo>(options);
    if (replay) return replay.value;
    if (this.byName.has(name)) throw new FsError("EEXIST", `mount '${name}' exists`);
    const id = (this.core.store.getSystem(NEXT_MOUNT_ID)?.int ?? 0) + 1;
    const command = this.core.command("create_mount", id, options);
    command.mutations.push(
      { family: "system", op: "put", key: { name: NEXT_MOUNT_ID }, value: { int: id } },
      { family: "system", op: "put", key: { name: MOUNT_PREFIX + name }, value: { int: id } },
      {
        family: "inode",
        op: "insert",
        key: { mount: id, inode: ROOT_INODE },
        value: newInode({ inode: ROOT_INODE, type: "dir", mode: options.mode ?? 0o755, uid: options.uid ?? 0, gid: options.gid ?? 0, parent: ROOT_INODE }),
      },
    );
    command.result = () => ({ id, name });
    this.core.commit(command);
    this.byName.set(name, id);
    return { id, name };
  }
}
