import { randomUUID } from "node:crypto";
import { FsError, LIMITS, ORDINAL_END, ROOT_INODE, formatCursor, type AttrChanges, type InodeId, type InodeType, type PreparedPublish, type Version } from "../../types/index.ts";
import type { NoKVClient, ReadPlans } from "../../sdk/index.ts";
import type { DirWatch, NodeSource, OwnerArgs, PatchIo, PublishSource } from "./source.ts";

// A live mount: every call is one SDK inode call, file bytes go straight to the object store.
// The caller owns the client (and closes it).
//
// The mount is one session to metad (a random id): files it unlinks or renames over while they
// are open stay as the session's orphans, and a timer renews their lease while any exist, so a
// mount that dies leaves nothing behind after LIMITS.orphanLeaseMs.

export class LiveSource implements NodeSource {
  readonly rootInode = ROOT_INODE;
  readonly session = randomUUID();
  private orphansHeld = 0;
  /** Prepares made by create_prepared, by inode, for the first publish of each new file. */
  private readonly prepared = new Map<InodeId, PreparedPublish>();
  private renewTimer: ReturnType<typeof setInterval> | null = null;
  readonly patches: PatchIo = {
    bodyManifest: (inode, generation) => this.client.inode.bodyManifest(inode, generation),
    prepare: (link, inode) => this.takePrepared(link, inode),
    publishManifest: (parent, name, prepareId, manifest, { prepareNext, ...options }) =>
      this.client.inode.publishManifest(parent, name, prepareId, manifest, { ...options, patch: true, ...(prepareNext ? { prepareNextExpiryMs: LIMITS.fusePreparedExpiryMs } : {}) }),
    putBlock: (key, bytes) => this.client.inode.putBlock(key, bytes),
    getBlock: (key, lengthBytes) => this.client.inode.getBlock(key, lengthBytes),
  };

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
  read(inode: InodeId, range: { offsetBytes: number; lengthBytes: number; generation?: number; into?: Uint8Array; plans?: ReadPlans }) {
    return this.client.inode.read(inode, range);
  }
  mkdir(parent: InodeId, name: string, owner: OwnerArgs) {
    return this.client.inode.mkdir(parent, name, owner);
  }
  async create(parent: InodeId, name: string, owner: OwnerArgs, options: { forWriting?: boolean } = {}) {
    if (!options.forWriting) return await this.client.inode.create(parent, name, owner);
    const { attrs, prepared } = await this.client.inode.createPrepared(parent, name, owner, { expiryMs: LIMITS.fusePreparedExpiryMs });
    if (prepared.inode === attrs.inode) {
      this.prepared.set(attrs.inode, prepared);
      // Unused prepares (a file created and never written) expire at metad; here only the newest stay.
      if (this.prepared.size > LIMITS.fusePreparedMax) this.prepared.delete(this.prepared.keys().next().value!);
    }
    return attrs;
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
  async unlink(parent: InodeId, name: string, options: { keepOpen?: boolean } = {}) {
    const dir = await this.client.inode.unlink(parent, name, { returnParent: true, ...(options.keepOpen ? { keepOpen: this.session } : {}) });
    if (options.keepOpen) this.held(+1);
    return dir;
  }
  rmdir(parent: InodeId, name: string) {
    return this.client.inode.rmdir(parent, name, { returnParent: true });
  }
  async rename(args: { parent: InodeId; name: string; newParent: InodeId; newName: string; noReplace?: boolean; exchange?: boolean; keepOpen?: boolean }) {
    const { keepOpen, ...rest } = args;
    await this.client.inode.rename(keepOpen ? { ...rest, keepOpen: this.session } : rest);
    if (keepOpen) this.held(+1);
  }
  async releaseOrphan(inode: InodeId) {
    try {
      await this.client.inode.orphanRelease(inode, this.session);
    } finally {
      this.held(-1);
    }
  }
  getxattr(inode: InodeId, name: string) {
    return this.client.inode.getxattr(inode, name);
  }
  listxattr(inode: InodeId) {
    return this.client.inode.listxattr(inode);
  }
  xattrNames(inodes: InodeId[]) {
    return this.client.inode.xattrNames(inodes);
  }
  setxattr(inode: InodeId, name: string, value: Uint8Array, flags: number) {
    return this.client.inode.setxattr(inode, name, value, flags);
  }
  removexattr(inode: InodeId, name: string) {
    return this.client.inode.removexattr(inode, name);
  }
  async close() {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    if (this.readOnly) return;
    // A failure here (metad down) is covered by the lease: the orphans expire on their own.
    await this.client.inode.sessionClose(this.session).catch(() => {});
  }

  /** Keeps the lease renewed while the session holds orphans (renewing none would be harmless, not free). */
  private held(delta: number): void {
    this.orphansHeld = Math.max(0, this.orphansHeld + delta);
    if (this.orphansHeld > 0 && this.renewTimer === null) {
      this.renewTimer = setInterval(() => void this.client.inode.sessionRenew(this.session).catch(() => {}), LIMITS.orphanRenewIntervalMs);
      this.renewTimer.unref?.();
    } else if (this.orphansHeld === 0 && this.renewTimer !== null) {
      clearInterval(this.renewTimer);
      this.renewTimer = null;
    }
  }
  setattr(inode: InodeId, changes: AttrChanges) {
    return this.client.inode.setattr(inode, changes);
  }
  /**
   * A small body (one block) of a file this mount created publishes with the prepare made at its
   * create: one round trip. If that prepare cannot serve (expired, the file moved on), the
   * publish goes the usual way, with its own prepare.
   */
  async publish(parent: InodeId, name: string, source: PublishSource, options: { mode?: number; ifGeneration?: number; inode?: InodeId }) {
    const { inode, ...rest } = options;
    const prepared = inode === undefined ? undefined : this.prepared.get(inode);
    if (prepared) {
      this.prepared.delete(inode!);
      const fits = source instanceof Uint8Array && source.byteLength <= prepared.blockSizeBytes;
      if (fits && Date.now() + LIMITS.fusePreparedMarginMs < prepared.expiresAtMs) {
        try {
          return await this.client.inode.publish(parent, name, source, { replace: true, ...rest, prepared });
        } catch (err) {
          if (!(err instanceof FsError) || err.code === "ESTALE") throw err;
        }
      }
    }
    return await this.client.inode.publish(parent, name, source, { replace: true, ...rest });
  }
  /** The prepare made at the file's create while it has time left, else a new one. */
  private async takePrepared(link: { parent: InodeId; name: string } | null, inode: InodeId): Promise<PreparedPublish> {
    const prepared = this.prepared.get(inode);
    this.prepared.delete(inode);
    if (prepared && Date.now() + LIMITS.fusePreparedMarginMs < prepared.expiresAtMs) return prepared;
    if (!link) return await this.client.inode.prepareInode(inode, { expiryMs: LIMITS.fusePreparedExpiryMs });
    return await this.client.inode.prepare(link.parent, link.name, { blockSizeBytes: LIMITS.fuseWriteBlockBytes, expiryMs: LIMITS.fusePreparedExpiryMs });
  }
  /** By inode, so a resubscribe after a reconnect lands on the same directory even after renames. */
  watch(inode: InodeId, _path: string, afterVersion?: Version): Promise<DirWatch> {
    const cursor = afterVersion === undefined ? {} : { cursor: formatCursor({ version: afterVersion, ordinal: ORDINAL_END }) };
    return this.client.watch({ inode }, cursor).ready;
  }
}
