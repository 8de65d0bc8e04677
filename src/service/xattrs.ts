import { FsError, LIMITS, nowNs, utf8Length, type InodeId, type MountId } from "../types/index.ts";
import { valueOf, type ServiceCore, type WriteOptions } from "./core.ts";

// Extended attributes, kept in the metadata beside their inode: user.*, trusted.* and security.*
// (the kernel checks who may touch which namespace before asking). Each set or remove is one
// command that also moves the inode's ctime (as Linux does) and logs an update_attr event, so
// watchers and other mounts drop what they cached. Sizes follow Linux: names up to
// xattrNameMaxBytes (ERANGE past it), values up to xattrValueMaxBytes (E2BIG), and all of one
// inode's names and values within xattrInodeMaxBytes (ENOSPC).

export const XATTR_NAMESPACES = ["user.", "trusted.", "security."] as const;

/** setxattr(2) flags. */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

export class Xattrs {
  constructor(private readonly core: ServiceCore) {}

  get(args: { mount: MountId; inode: InodeId; name: string }): Uint8Array {
    validateXattrName(args.name);
    this.core.getInode(args.mount, args.inode);
    const value = this.core.store.getXattr(args.mount, args.inode, args.name);
    if (value === null) throw new FsError("ENODATA", `inode ${args.inode} has no attribute '${args.name}'`);
    return value;
  }

  list(args: { mount: MountId; inode: InodeId }): string[] {
    this.core.getInode(args.mount, args.inode);
    return this.core.store.listXattrs(args.mount, args.inode).map((x) => x.name);
  }

  /**
   * Which of `inodes` have extended attributes, and their names (inodes with none are left out):
   * one request per listing page lets a mount answer the getxattr calls ls, cp -a and tar make
   * for every file without asking again.
   */
  namesOf(args: { mount: MountId; inodes: InodeId[] }): Array<[InodeId, string[]]> {
    if (args.inodes.length > LIMITS.readdirPageMaxEntries) throw new FsError("EINVAL", `${args.inodes.length} inodes in one xattr_names; the limit is ${LIMITS.readdirPageMaxEntries}`);
    const out: Array<[InodeId, string[]]> = [];
    for (const inode of args.inodes) {
      const names = this.core.store.listXattrs(args.mount, inode).map((x) => x.name);
      if (names.length > 0) out.push([inode, names]);
    }
    return out;
  }

  set(args: { mount: MountId; inode: InodeId; name: string; value: Uint8Array; flags?: number } & WriteOptions): null {
    if (this.core.replayed(args)) return null;
    const { mount, inode, name, value } = args;
    const flags = args.flags ?? 0;
    validateXattrName(name);
    if (!(value instanceof Uint8Array)) throw new FsError("EINVAL", "an attribute value is bytes");
    if (value.byteLength > LIMITS.xattrValueMaxBytes) throw new FsError("E2BIG", `attribute value of ${value.byteLength} bytes; the limit is ${LIMITS.xattrValueMaxBytes}`);
    if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0 || flags === (XATTR_CREATE | XATTR_REPLACE)) throw new FsError("EINVAL", `setxattr flags ${flags}`);
    const attrs = this.core.getInode(mount, inode);
    const existing = this.core.store.listXattrs(mount, inode);
    const old = existing.find((x) => x.name === name);
    if (old && (flags & XATTR_CREATE) !== 0) throw new FsError("EEXIST", `attribute '${name}' exists`);
    if (!old && (flags & XATTR_REPLACE) !== 0) throw new FsError("ENODATA", `inode ${inode} has no attribute '${name}'`);
    let totalBytes = utf8Length(name) + value.byteLength;
    for (const x of existing) if (x.name !== name) totalBytes += utf8Length(x.name) + x.sizeBytes;
    if (totalBytes > LIMITS.xattrInodeMaxBytes) throw new FsError("ENOSPC", `inode ${inode} would hold ${totalBytes} bytes of attributes; the limit is ${LIMITS.xattrInodeMaxBytes}`);
    const command = this.core.command("set_xattr", mount, args);
    command.predicates.push({ kind: "versionEquals", target: { family: "inode", key: { mount, inode } }, version: attrs.version, errno: "ESTALE" });
    command.mutations.push(
      { family: "xattr", op: "put", key: { mount, inode, name }, value },
      { family: "inode", op: "put", key: { mount, inode }, value: { ...valueOf(attrs), ctimeNs: nowNs() } },
    );
    command.watchEvents.push({ mount, kind: "update_attr", scope: attrs.parent, name: "", inode });
    this.core.commit(command);
    return null;
  }

  remove(args: { mount: MountId; inode: InodeId; name: string } & WriteOptions): null {
    if (this.core.replayed(args)) return null;
    const { mount, inode, name } = args;
    validateXattrName(name);
    const attrs = this.core.getInode(mount, inode);
    if (this.core.store.getXattr(mount, inode, name) === null) throw new FsError("ENODATA", `inode ${inode} has no attribute '${name}'`);
    const command = this.core.command("remove_xattr", mount, args);
    command.predicates.push({ kind: "versionEquals", target: { family: "inode", key: { mount, inode } }, version: attrs.version, errno: "ESTALE" });
    command.mutations.push(
      { family: "xattr", op: "delete", key: { mount, inode, name } },
      { family: "inode", op: "put", key: { mount, inode }, value: { ...valueOf(attrs), ctimeNs: nowNs() } },
    );
    command.watchEvents.push({ mount, kind: "update_attr", scope: attrs.parent, name: "", inode });
    this.core.commit(command);
    return null;
  }
}

/** A name in a namespace NoKV keeps; others (system.*: ACLs) are ENOTSUP, as on a filesystem without them. */
export function validateXattrName(name: string): void {
  if (typeof name !== "string" || name.includes("\0")) throw new FsError("EINVAL", "an attribute name is a string without NUL");
  if (utf8Length(name) > LIMITS.xattrNameMaxBytes) throw new FsError("ERANGE", `attribute name over ${LIMITS.xattrNameMaxBytes} bytes`);
  const space = XATTR_NAMESPACES.find((p) => name.startsWith(p));
  if (!space || name.length === space.length) throw new FsError("ENOTSUP", `attribute '${name}': NoKV keeps ${XATTR_NAMESPACES.map((p) => p + "*").join(", ")}`);
}
