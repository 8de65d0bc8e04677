import type { ObjectStore } from "../objstore/index.ts";
import type { StoredBodyManifest } from "./body-patch.ts";
import { FsError, type BodyManifest, type AttrChanges, type Dentry, type MetaChanges, type DirEntryPlus, type DirPage, type InodeAttrs, type InodeId, type InodeType, type PreparedPublish, type ReadPlan } from "../types/index.ts";
import type { BodySource } from "./blocks.ts";
import type { BodyReader } from "./body-reader.ts";
import type { ReadPlans } from "./read-plans.ts";
import type { PublishOptions } from "./body-writer.ts";

// The inode-first API FUSE uses: every call names inodes, nothing resolves paths.

type Call = (op: string, args: Record<string, unknown>, write: boolean) => Promise<unknown>;

/** The data path behind read and publish: object store reads and block uploads. */
export interface InodeBodyOps {
  reader: BodyReader;
  publish(target: { parent: InodeId; name: string }, source: BodySource, options: PublishOptions): Promise<InodeAttrs>;
  store(): Promise<ObjectStore>;
}

export interface InodeReadOptions {
  offsetBytes: number;
  lengthBytes: number;
  /** With it, ESTALE when the body moved past this generation (drop what was cached, re-read). */
  generation?: number;
  /** Read into this buffer (as long as the read, at least) instead of a new one; the result is a view of it. */
  into?: Uint8Array;
  /** A sequential reader's plans (with `generation`), see BodyReadOptions.plans. */
  plans?: ReadPlans;
}

export class InodeApi {
  constructor(
    private readonly call: Call,
    private readonly body: InodeBodyOps | null = null,
  ) {}

  /**
   * File bytes [offset, offset + length), straight from the object store, clipped at the end of
   * the file; holes read as zeros. All bytes come from one generation: without `generation` a
   * replace during the read restarts it on the new body.
   */
  async read(inode: InodeId, options: InodeReadOptions): Promise<Uint8Array> {
    const { generation } = options;
    const into = options.into === undefined ? {} : { into: options.into };
    const plans = options.plans === undefined ? {} : { plans: options.plans };
    const result = await this.bodyOps().reader.read(inode, options.offsetBytes, options.lengthBytes, generation === undefined ? into : { generation, pinned: true, ...into, ...plans });
    return result.bytes;
  }

  /** Publishes `source` as the file `name` in directory `parent`, atomically (see client.publish). */
  publish(parent: InodeId, name: string, source: BodySource, options: PublishOptions = {}): Promise<InodeAttrs> {
    return this.bodyOps().publish({ parent, name }, source, options);
  }

  /** The current body's blocks as stored: what a patch starts from (ESTALE if it moved past `generation`). */
  bodyManifest(inode: InodeId, generation?: number): Promise<StoredBodyManifest> {
    return this.call("body_manifest", { inode, ...(generation === undefined ? {} : { generation }) }, false) as Promise<StoredBodyManifest>;
  }

  /** Where to upload the blocks of a new body of file `inode`, whatever its names (an open orphan has none). */
  prepareInode(inode: InodeId, options: { expiryMs?: number } = {}): Promise<PreparedPublish> {
    return this.call("prepare", { inode, ...options }, true) as Promise<PreparedPublish>;
  }

  /** Where to upload the blocks of a new body of `name` in `parent` (see publishManifest). */
  prepare(parent: InodeId, name: string, options: { blockSizeBytes?: number; expiryMs?: number } = {}): Promise<PreparedPublish> {
    return this.call("prepare", { parent, name, ...options }, true) as Promise<PreparedPublish>;
  }

  /**
   * Commits a manifest whose blocks are uploaded (putBlock). `patch` with `ifGeneration`: the
   * manifest may share that generation's blocks (see body-patch.ts). `changes`: a setattr of mode,
   * owner and times applied in the same command, after the body.
   */
  async publishManifest(
    parent: InodeId,
    name: string,
    prepareId: string,
    manifest: BodyManifest,
    options: { ifGeneration?: number; patch?: boolean; mode?: number; prepareNextExpiryMs?: number; changes?: MetaChanges },
  ): Promise<{ attrs: InodeAttrs; next: PreparedPublish | null }> {
    const { next, ...attrs } = (await this.call("publish", { parent, name, prepareId, manifest, replace: true, ...options }, true)) as InodeAttrs & { next?: PreparedPublish };
    return { attrs, next: next ?? null };
  }

  /** Writes one block object straight to the object store (nothing is visible until a publish names it). */
  async putBlock(key: string, bytes: Uint8Array): Promise<void> {
    await (await this.bodyOps().store()).put(key, bytes);
  }

  /** Bytes of a block this client put and has not published yet (published blocks read through read()). */
  async getBlock(key: string, lengthBytes: number): Promise<Uint8Array> {
    return await (await this.bodyOps().store()).get(key, { offsetBytes: 0, lengthBytes });
  }

  private bodyOps(): InodeBodyOps {
    if (!this.body) throw new FsError("ENOTSUP", "this client has no object store");
    return this.body;
  }

  lookup(parent: InodeId, name: string): Promise<InodeAttrs> {
    return this.call("lookup", { parent, name }, false) as Promise<InodeAttrs>;
  }
  getattr(inode: InodeId): Promise<InodeAttrs> {
    return this.call("getattr", { inode }, false) as Promise<InodeAttrs>;
  }
  readdir(inode: InodeId, page: { after?: string; limit?: number } = {}): Promise<DirPage<Dentry>> {
    return this.call("readdir", { inode, ...page }, false) as Promise<DirPage<Dentry>>;
  }
  readdirPlus(inode: InodeId, page: { after?: string; limit?: number } = {}): Promise<DirPage<DirEntryPlus>> {
    return this.call("readdir_plus", { inode, ...page }, false) as Promise<DirPage<DirEntryPlus>>;
  }
  mkdir(parent: InodeId, name: string, owner: { mode?: number; uid?: number; gid?: number } = {}): Promise<InodeAttrs> {
    return this.call("mkdir", { parent, name, ...owner }, true) as Promise<InodeAttrs>;
  }
  create(parent: InodeId, name: string, owner: { mode?: number; uid?: number; gid?: number } = {}): Promise<InodeAttrs> {
    return this.call("create", { parent, name, ...owner }, true) as Promise<InodeAttrs>;
  }
  /**
   * Creates an empty file and prepares its first body in one round trip; pass `prepared` to
   * publish() to skip its prepare. An unused prepare expires after `expiryMs`.
   */
  createPrepared(parent: InodeId, name: string, owner: { mode?: number; uid?: number; gid?: number } = {}, options: { expiryMs?: number } = {}): Promise<{ attrs: InodeAttrs; prepared: PreparedPublish }> {
    return this.call("create_prepared", { parent, name, ...owner, ...options }, true) as Promise<{ attrs: InodeAttrs; prepared: PreparedPublish }>;
  }
  /** A special file: "fifo", "socket", or "chardev"/"blockdev" with its device number. */
  mknod(parent: InodeId, name: string, node: { type: InodeType; rdev?: number }, owner: { mode?: number; uid?: number; gid?: number } = {}): Promise<InodeAttrs> {
    return this.call("mknod", { parent, name, type: node.type, ...(node.rdev ? { rdev: node.rdev } : {}), ...owner }, true) as Promise<InodeAttrs>;
  }
  symlink(parent: InodeId, name: string, target: string, owner: { uid?: number; gid?: number } = {}): Promise<InodeAttrs> {
    return this.call("symlink", { parent, name, target, ...owner }, true) as Promise<InodeAttrs>;
  }
  readlink(inode: InodeId): Promise<string> {
    return this.call("readlink", { inode }, false) as Promise<string>;
  }
  link(inode: InodeId, newParent: InodeId, newName: string): Promise<InodeAttrs> {
    return this.call("link", { inode, newParent, newName }, true) as Promise<InodeAttrs>;
  }
  /**
   * `options.keepOpen`: the mount session (see session()) that holds the file open; if this was
   * its last name, metad keeps it as that session's orphan until orphanRelease or the session ends.
   * `options.returnParent`: answer with the directory's attributes after the unlink (else null).
   */
  unlink(parent: InodeId, name: string, options: { keepOpen?: string; returnParent?: boolean } = {}): Promise<InodeAttrs | null> {
    return this.call("unlink", { parent, name, ...options }, true) as Promise<InodeAttrs | null>;
  }
  rmdir(parent: InodeId, name: string, options: { returnParent?: boolean } = {}): Promise<InodeAttrs | null> {
    return this.call("rmdir", { parent, name, ...options }, true) as Promise<InodeAttrs | null>;
  }
  rename(args: { parent: InodeId; name: string; newParent: InodeId; newName: string; noReplace?: boolean; exchange?: boolean; keepOpen?: string }): Promise<void> {
    return this.call("rename", { ...args }, true) as Promise<void>;
  }
  setattr(inode: InodeId, changes: AttrChanges): Promise<InodeAttrs> {
    return this.call("setattr", { inode, ...changes }, true) as Promise<InodeAttrs>;
  }
  /** Extended attributes (user.*, trusted.*, security.*). A missing one is ENODATA. */
  getxattr(inode: InodeId, name: string): Promise<Uint8Array> {
    return this.call("getxattr", { inode, name }, false) as Promise<Uint8Array>;
  }
  /** Which of `inodes` have extended attributes, with their names; the others have none. */
  xattrNames(inodes: InodeId[]): Promise<Array<[InodeId, string[]]>> {
    return this.call("xattr_names", { inodes }, false) as Promise<Array<[InodeId, string[]]>>;
  }
  listxattr(inode: InodeId): Promise<string[]> {
    return this.call("listxattr", { inode }, false) as Promise<string[]>;
  }
  /** `flags`: 1 = create only (EEXIST if present), 2 = replace only (ENODATA if absent). */
  setxattr(inode: InodeId, name: string, value: Uint8Array, flags = 0): Promise<void> {
    return this.call("setxattr", { inode, name, value, flags }, true) as Promise<void>;
  }
  removexattr(inode: InodeId, name: string): Promise<void> {
    return this.call("removexattr", { inode, name }, true) as Promise<void>;
  }
  /** The session's last descriptor of an orphan closed: metad frees it. */
  orphanRelease(inode: InodeId, session: string): Promise<{ released: number }> {
    return this.call("orphan_release", { inode, session }, true) as Promise<{ released: number }>;
  }
  /** Keeps the session's orphans another LIMITS.orphanLeaseMs. */
  sessionRenew(session: string): Promise<{ orphans: number; expiresAtMs: number | null }> {
    return this.call("session_renew", { session }, true) as Promise<{ orphans: number; expiresAtMs: number | null }>;
  }
  /** Ends the session: its orphans go now. */
  sessionClose(session: string): Promise<{ released: number }> {
    return this.call("session_close", { session }, true) as Promise<{ released: number }>;
  }
  readPlan(inode: InodeId, range: { offsetBytes: number; lengthBytes: number; generation?: number }): Promise<ReadPlan> {
    return this.call("read_plan", { inode, ...range }, false) as Promise<ReadPlan>;
  }
}
