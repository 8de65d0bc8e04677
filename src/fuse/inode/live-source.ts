import { ROOT_INODE, type AttrChanges, type InodeId, type InodeType } from "../../types/index.ts";
import type { NoKVClient } from "../../sdk/index.ts";
import type { DirWatch, NodeSource, OwnerArgs, PublishSource } from "./source.ts";

// A live mount: every call is one SDK inode call, file bytes go straight to the object store.
// The caller owns the client (and closes it).

export class LiveSource implements NodeSource {
  readonly rootInode = ROOT_INODE;

  constructor(
    private readonly client: NoKVClient,
    readonly readOnly: boolean,
  ) {}

  lookup(parent: InodeId, name: string) {
    return this.client.inode.lookup(parent, name);
  }
  getattr(inode: InodeId) {
    return this.client.inode.getattr(inode);
  }
  readdirPlus(inode: InodeId, page: { after?: string; limit: number }) {
    return this.client.inode.readdirPlus(inode, page);
  }
  readlink(inode: InodeId) {
    return this.client.inode.readlink(inode);
  }
  read(inode: InodeId, range: { offsetBytes: number; lengthBytes: number; generation?: number }) {
    return this.client.inode.read(inode, range);
  }
  mkdir(parent: InodeId, name: string, owner: OwnerArgs) {
    return this.client.inode.mkdir(parent, name, owner);
  }
  create(parent: InodeId, name: string, owner: OwnerArgs) {
    return this.client.inode.create(parent, name, owner);
  }
  symlink(parent: InodeId, name: string, target: string, owner: OwnerArgs) {
    return this.client.inode.symlink(parent, name, target, owner);
  }
  mknod(parent: InodeId, name: string, node: { type: InodeType; rdev: number }, owner: OwnerArgs) {
    return this.client.inode.mknod(parent, name, node, owner);
  }
  link(inode: InodeId, newParent: InodeId, newName: string) {
    return this.client.inode.link(inode, newParent, newName);
  }
  unlink(parent: InodeId, name: string) {
    return this.client.inode.unlink(parent, name);
  }
  rmdir(parent: InodeId, name: string) {
    return this.client.inode.rmdir(parent, name);
  }
  rename(args: { parent: InodeId; name: string; newParent: InodeId; newName: string; noReplace?: boolean; exchange?: boolean }) {
    return this.client.inode.rename(args);
  }
  setattr(inode: InodeId, changes: AttrChanges) {
    return this.client.inode.setattr(inode, changes);
  }
  publish(parent: InodeId, name: string, source: PublishSource, options: { mode?: number; ifGeneration?: number }) {
    return this.client.inode.publish(parent, name, source, { replace: true, ...options });
  }
  /** By inode, so a resubscribe after a reconnect lands on the same directory even after renames. */
  watch(inode: InodeId, _path: string): Promise<DirWatch> {
    return this.client.watch({ inode });
  }
}
