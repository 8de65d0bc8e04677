import { DEFAULT_MOUNT_NAME, FsError, LIMITS, ROOT_INODE, validateName, type MountId } from "../types/index.ts";
import { CATALOG_SHARD, type MetadataCommand } from "../schema/index.ts";
import { newInode, type ServiceCore, type WriteOptions } from "./core.ts";

// Named mounts: separate namespaces in one database, each its own shard with its own root inode.
// The names live in the catalog shard; the name map here is a projection of applied commands.

const MOUNT_PREFIX = "mount:";
const NEXT_MOUNT_ID = "next_mount_id";

export interface MountInfo {
  id: MountId;
  name: string;
}

export class Mounts {
  private readonly byName = new Map<string, MountId>();

  constructor(private readonly core: ServiceCore) {
    this.reload();
    core.addProjection({ applied: (c) => this.applied(c), reload: () => this.reload() });
  }

  private reload(): void {
    this.byName.clear();
    for (const row of this.core.store.scanSystem(MOUNT_PREFIX)) this.byName.set(row.name.slice(MOUNT_PREFIX.length), row.int!);
  }

  private applied(command: MetadataCommand): void {
    if (command.shard !== CATALOG_SHARD) return;
    for (const m of command.mutations) {
      if (m.family !== "system" || !m.key.name.startsWith(MOUNT_PREFIX)) continue;
      const name = m.key.name.slice(MOUNT_PREFIX.length);
      if (m.op === "put" && m.value.int !== undefined) this.byName.set(name, m.value.int);
      else this.byName.delete(name);
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

  /**
   * Two commands in one transaction: the mount's first (its root, in its own shard's log), then its
   * name in the catalog. A mount id is used once: the catalog's counter moves past it either way.
   */
  create(name: string, options: WriteOptions & { uid?: number; gid?: number; mode?: number } = {}): MountInfo {
    validateName(name);
    const replay = this.core.replayed<MountInfo>(options);
    if (replay) return replay.value;
    if (this.byName.has(name)) throw new FsError("EEXIST", `mount '${name}' exists`);
    const id = (this.core.store.getSystem(NEXT_MOUNT_ID)?.int ?? 0) + 1;
    if (id > LIMITS.mountIdMax) throw new FsError("ENOSPC", `no mount ids left: a store makes at most ${LIMITS.mountIdMax} mounts`);
    return this.core.group(() => {
      const root = this.core.command("init_shard", id);
      if (root.version !== 1) throw new Error(`mount id ${id} already has a log`);
      root.mutations.push({
        family: "inode",
        op: "insert",
        key: { mount: id, inode: ROOT_INODE },
        value: newInode({ inode: ROOT_INODE, type: "dir", mode: options.mode ?? 0o755, uid: options.uid ?? 0, gid: options.gid ?? 0, parent: ROOT_INODE }),
      });
      this.core.commit(root);
      const named = this.core.command("create_mount", CATALOG_SHARD, options);
      named.mutations.push(
        { family: "system", op: "put", key: { name: NEXT_MOUNT_ID }, value: { int: id } },
        { family: "system", op: "put", key: { name: MOUNT_PREFIX + name }, value: { int: id } },
      );
      const info = this.core.result(named, { id, name });
      this.core.commit(named);
      return info;
    });
  }
}
