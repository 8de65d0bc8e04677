import { FsError, LIMITS, nowNs, type ErrnoCode, type MetaChanges, type InodeAttrs } from "../../types/index.ts";
import type { AttrOverlay } from "./attrs.ts";
import type { BufferPools } from "./buffer-pool.ts";
import type { Node, NodeTable } from "./node-table.ts";
import { PatchBody, type PatchTarget } from "./patch-body.ts";
import type { NodeSource, PatchIo } from "./source.ts";

/** Errors that mean "metad (or the way to it) is not there right now", not "this publish is wrong". */
const UNREACHABLE: ReadonlySet<ErrnoCode | undefined> = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EAGAIN"]);

// Bodies being written through the mount, one per node (every handle of a file shares it, so a
// reader sees what a writer wrote). Writes land in the node's PatchBody; flush, fsync and the
// last release publish a patch of the base generation under the file's name: the file changes
// all at once, never halfway, and a publish costs the blocks that changed.

interface Body {
  patch: PatchBody | null;
  loading: Promise<PatchBody> | null;
  /** Writes, truncates and publishes of one file run one at a time, in order. */
  tail: Promise<unknown>;
  /** Bumped by every change; a publish clears `dirty` only if none happened while it ran. */
  changeSeq: number;
  publishedSeq: number;
  mtimeNs: bigint;
  /** When the body last changed: its ctime until the publish. */
  ctimeNs: bigint;
  /**
   * Mode, owner and times set while bytes were unpublished (see defer): the next publish carries
   * them. Replaced, never changed in place, so a publish can tell whether more came meanwhile.
   */
  pendingChanges: MetaChanges | null;
  writers: number;
}

export class Bodies {
  private readonly bodies = new Map<number, Body>();
  /** A publish committed under `parent` with the file's new attributes (the parent's follow from them). */
  afterPublish: (parent: number, attrs: InodeAttrs) => void = () => {};
  /** Our unpublished writes to the node were dropped: the kernel's cached pages hold them. */
  onLost: (node: Node) => void = () => {};
  /** The last writer closed a clean body whose every byte this mount built: the whole body, as published at `generation`. */
  afterClose: (node: Node, generation: number, bytes: Uint8Array) => void = () => {};
  private writtenSinceGcBytes = 0;

  constructor(
    private readonly source: NodeSource,
    private readonly nodes: NodeTable,
    /** Block buffers of open bodies, reused from file to file. */
    private readonly buffers: BufferPools,
  ) {}

  /** A handle that may write opened; `truncate` starts the body empty (O_TRUNC, or a new file). */
  openWriter(node: Node, truncate: boolean): void {
    const body = this.bodyOf(node);
    body.writers++;
    if (truncate) {
      body.patch?.dispose();
      body.patch = PatchBody.empty(this.io(), this.targetOf(node), node.attrs.generation, this.buffers);
      body.loading = null;
    }
  }

  /**
   * The last writer is gone after its final flush: the body goes too. Bytes still unpublished
   * then are bytes whose publish failed, and that failure was already the close(2) error.
   */
  closeWriter(node: Node): void {
    const body = this.bodies.get(node.nodeid);
    if (!body) return;
    body.writers = Math.max(0, body.writers - 1);
    if (body.writers === 0) {
      void this.serial(body, async () => {
        if (body.writers !== 0) return;
        const bytes = body.patch && !this.isDirty(body) ? body.patch.publishedBytes() : null;
        if (bytes && body.patch) this.afterClose(node, body.patch.generation, bytes);
        this.drop(node.nodeid, body);
      });
    }
  }

  /** True while a handle may write `node`: its attributes are the mount's to answer. */
  openForWrite(node: Node): boolean {
    return (this.bodies.get(node.nodeid)?.writers ?? 0) > 0;
  }

  /** Size, times, mode and owner to report while unpublished bytes exist, so the kernel's view stays right. */
  overlay(node: Node): AttrOverlay | undefined {
    const body = this.bodies.get(node.nodeid);
    if (!body?.patch || !this.isDirty(body)) return undefined;
    return { sizeBytes: body.patch.sizeBytes, holeBytes: body.patch.holeBytes(), mtimeNs: body.mtimeNs, ctimeNs: body.ctimeNs, ...(body.pendingChanges ?? {}) };
  }

  /** The node's open body to read from, when it has one (its bytes are the newest). */
  loaded(node: Node): PatchBody | null {
    return this.bodies.get(node.nodeid)?.patch ?? null;
  }

  async write(node: Node, offsetBytes: number, data: Uint8Array): Promise<void> {
    const body = this.bodyOf(node);
    await this.serial(body, async () => {
      const patch = await this.load(node, body);
      await patch.write(offsetBytes, data);
      this.changed(body);
      // Past the memory bound with nothing left to stream out (scattered writes): publish now.
      if (patch.overBudget) await this.publishLocked(node, body);
    });
    this.collectAfter(data.byteLength);
  }

  /**
   * Blocks rebuilt for a publish are garbage once put; the collector is nudged after each
   * fuseGcAfterWrittenBytes. Not a full collection: that also hands freed memory back to the
   * OS, and the next MiBs touched then cost a page fault per 4 KiB (a 1 GiB copy took twice as
   * long). Write requests and streamed blocks do not add to it: their buffers are reused.
   */
  private collectAfter(bytes: number): void {
    this.writtenSinceGcBytes += bytes;
    if (this.writtenSinceGcBytes < LIMITS.fuseGcAfterWrittenBytes) return;
    this.writtenSinceGcBytes = 0;
    Bun.gc(false);
  }

  /** Truncate of a node with an open body: it changes the body, and the publish carries it. */
  async truncate(node: Node, sizeBytes: number): Promise<boolean> {
    const body = this.bodies.get(node.nodeid);
    if (!body || body.writers === 0) return false;
    await this.serial(body, async () => {
      // Truncating to empty needs nothing of the old body: no point fetching its blocks first.
      if (sizeBytes === 0 && !body.patch) body.patch = PatchBody.empty(this.io(), this.targetOf(node), node.attrs.generation, this.buffers);
      await (await this.load(node, body)).truncate(sizeBytes);
      this.changed(body);
    });
    return true;
  }

  /** fallocate mode 0: grows the open body to `sizeBytes` with zeros; never shrinks it. */
  async extend(node: Node, sizeBytes: number): Promise<void> {
    const body = this.bodies.get(node.nodeid);
    if (!body || body.writers === 0) throw new FsError("EBADF", `inode ${node.inode} is not open for writing`);
    await this.serial(body, async () => {
      const patch = await this.load(node, body);
      if (patch.sizeBytes >= sizeBytes) return;
      await patch.truncate(sizeBytes);
      this.changed(body);
    });
  }

  /** A change with no bytes (a chown to the same owner): ctime moves, and the next publish stamps it at metad. */
  async touch(node: Node): Promise<void> {
    const body = this.bodies.get(node.nodeid);
    if (!body || body.writers === 0) return;
    await this.serial(body, async () => {
      await this.load(node, body);
      const mtimeNs = this.isDirty(body) ? body.mtimeNs : BigInt(node.attrs.mtimeNs);
      const pending = body.pendingChanges;
      this.changed(body);
      body.mtimeNs = mtimeNs;
      body.pendingChanges = pending;
    });
  }

  /**
   * A setattr of a file whose bytes are unpublished here (tar's futimens, fchown and fchmod
   * between its writes and close): kept to ride on the publish that close or fsync makes, so the
   * file changes at metad once, bytes and attributes together, as the bytes alone did before.
   * Other clients see the change with the bytes, at the publish. False when the node has no such
   * bytes (or no name to publish under): the caller sends the setattr itself.
   */
  defer(node: Node, changes: MetaChanges): boolean {
    const body = this.bodies.get(node.nodeid);
    if (!body?.patch || body.writers === 0 || !this.isDirty(body) || this.nodes.linkOf(node) === null) return false;
    body.pendingChanges = { ...body.pendingChanges, ...changes };
    // Dirty again even if a publish is running now: the next flush must carry these.
    body.changeSeq++;
    if (changes.mtimeNs !== undefined) body.mtimeNs = changes.mtimeNs;
    body.ctimeNs = nowNs();
    const { mode, uid, gid, atimeNs } = node.attrs;
    this.nodes.update(node, { ...node.attrs, mode: changes.mode ?? mode, uid: changes.uid ?? uid, gid: changes.gid ?? gid, atimeNs: changes.atimeNs ?? atimeNs });
    return true;
  }

  /**
   * Publishes the node's body if it changed since the last publish. `again`: the writer goes on
   * (fsync, not close): metad prepares the next publish in the same round trip.
   */
  async flush(node: Node, again = false): Promise<void> {
    const body = this.bodies.get(node.nodeid);
    if (!body) return;
    await this.serial(body, () => this.publishLocked(node, body, again));
  }

  private async publishLocked(node: Node, body: Body, again = true): Promise<void> {
    if (!this.isDirty(body) || !body.patch) return;
    const seq = body.changeSeq;
    const patch = body.patch;
    const putBefore = patch.bytesPut;
    const changes = body.pendingChanges;
    const attrs = await this.publishRetrying(node, patch, again, changes);
    // The blocks a large publish rebuilt and uploaded are garbage now, too.
    this.collectAfter(patch.bytesPut - putBefore);
    // No name (unlinked while open, O_TMPFILE): the bytes stay here, unpublished, until a link
    // names the file again (its next flush publishes them) or the last writer closes.
    if (!attrs) return;
    // The kernel was told the times of our writes (see overlay); metad stamped its own a moment
    // later. Showing metad's would look like a change from elsewhere and drop the file's cached
    // pages (AUTO_INVAL_DATA): this mount keeps showing its own until the file is reopened.
    this.nodes.update(node, body.mtimeNs === 0n ? attrs : { ...attrs, mtimeNs: body.mtimeNs, ctimeNs: body.ctimeNs });
    body.publishedSeq = seq;
    // Changes deferred while this publish ran are a new object: they wait for the next one.
    if (body.pendingChanges === changes) body.pendingChanges = null;
  }

  /**
   * A publish that fails because metad cannot be reached (restarting, a network blip) is tried
   * again with backoff for up to fusePublishRetryMaxMs: close(2) and fsync(2) wait that long
   * rather than fail, and past it they fail with EIO; they never report success for bytes that
   * were not published.
   */
  private async publishRetrying(node: Node, patch: PatchBody, again: boolean, changes: MetaChanges | null): Promise<InodeAttrs | null> {
    const deadlineMs = performance.now() + LIMITS.fusePublishRetryMaxMs;
    for (let delayMs: number = LIMITS.fusePublishRetryBackoffMs; ; delayMs = Math.min(delayMs * 2, LIMITS.fusePublishRetryBackoffMaxMs)) {
      try {
        return await this.publishAs(node, patch, again, changes);
      } catch (err) {
        const code = (err as FsError).code;
        if (!UNREACHABLE.has(code)) throw err;
        if (performance.now() + delayMs > deadlineMs) {
          throw new FsError("EIO", `inode ${node.inode} not published: metad unreachable for ${LIMITS.fusePublishRetryMaxMs / 1000} s (${(err as Error).message})`);
        }
        await Bun.sleep(delayMs);
      }
    }
  }

  /**
   * Publishes a patch of the generation the body started from, under the node's newest name.
   * ESTALE means someone else published or truncated the file meanwhile. A body that shares no
   * block with its base (written from empty: a new file, O_TRUNC) then replaces theirs: the last
   * writer wins, as with a whole-file rewrite. A real patch cannot (its untouched blocks are the
   * old body's): the publish fails with ESTALE, and this mount's changes are dropped rather than
   * laid over bytes they were not written against. If the name no longer holds our inode
   * (unlinked, replaced) the bytes belong to no name and are dropped, as writes to an unlinked
   * file are.
   */
  private async publishAs(node: Node, patch: PatchBody, again: boolean, changes: MetaChanges | null): Promise<InodeAttrs | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const link = this.nodes.linkOf(node);
      if (!link) return null;
      const built = await patch.prepareManifest();
      const parent = this.nodes.inodeOf(link.parent);
      try {
        const options = { ifGeneration: patch.generation, mode: node.attrs.mode, prepareNext: again, ...(changes ? { changes } : {}) };
        node.publishingGeneration = built.prepared.generation;
        const { attrs, next } = await this.io().publishManifest(parent, link.name, built.prepared.prepareId, built.manifest, options);
        patch.published(built.manifest, attrs.generation, next);
        this.afterPublish(link.parent, attrs);
        return attrs;
      } catch (err) {
        if ((err as FsError).code !== "ESTALE") throw err;
        const now = await this.source.lookup(parent, link.name).catch(() => null);
        if (now?.inode !== node.inode) return null;
        if (built.sharesBase) {
          this.lost(node, now);
          throw new FsError("ESTALE", `inode ${node.inode} changed elsewhere (generation ${patch.generation} -> ${now.generation}) since this mount's writes began; they were not published`);
        }
        patch.rebase(now.generation);
      }
    }
    throw new FsError("ESTALE", `inode ${node.inode} kept changing while it was published`);
  }

  /** Our unpublished changes lost to another writer's: the body starts over from theirs. */
  private lost(node: Node, now: InodeAttrs): void {
    const body = this.bodies.get(node.nodeid);
    this.nodes.update(node, now);
    this.onLost(node);
    if (!body) return;
    body.patch?.dispose();
    body.patch = null;
    body.publishedSeq = body.changeSeq;
    body.pendingChanges = null;
  }

  private drop(nodeid: number, body: Body): void {
    if (this.bodies.get(nodeid) === body) this.bodies.delete(nodeid);
    body.patch?.dispose();
    body.patch = null;
  }

  private bodyOf(node: Node): Body {
    let body = this.bodies.get(node.nodeid);
    if (!body) {
      body = { patch: null, loading: null, tail: Promise.resolve(), changeSeq: 0, publishedSeq: 0, mtimeNs: 0n, ctimeNs: 0n, pendingChanges: null, writers: 0 };
      this.bodies.set(node.nodeid, body);
    }
    return body;
  }

  /** Runs `fn` after every earlier change or publish of the body has finished. */
  private serial<T>(body: Body, fn: () => Promise<T>): Promise<T> {
    const run = body.tail.then(fn, fn);
    body.tail = run.catch(() => undefined);
    return run;
  }

  /** The file's current body (its blocks, not its bytes), fetched once per open. */
  private load(node: Node, body: Body): Promise<PatchBody> {
    if (body.patch) return Promise.resolve(body.patch);
    body.loading ??= (async () => {
      const patch = node.attrs.sizeBytes === 0 && node.attrs.generation === 0
        ? PatchBody.empty(this.io(), this.targetOf(node), 0, this.buffers)
        : await PatchBody.load(this.io(), this.targetOf(node), this.buffers);
      body.patch ??= patch;
      return body.patch;
    })().finally(() => (body.loading = null));
    return body.loading;
  }

  private targetOf(node: Node): PatchTarget {
    return {
      inode: node.inode,
      link: () => {
        const link = this.nodes.linkOf(node);
        return link ? { parent: this.nodes.inodeOf(link.parent), name: link.name } : null;
      },
      readBase: (offsetBytes, lengthBytes, generation) => this.source.read(node.inode, { offsetBytes, lengthBytes, generation }),
    };
  }

  private io(): PatchIo {
    if (!this.source.patches) throw new FsError("EROFS", "this mount cannot write file bodies");
    return this.source.patches;
  }

  private changed(body: Body): void {
    body.changeSeq++;
    body.mtimeNs = nowNs();
    body.ctimeNs = body.mtimeNs;
    // A write after a futimens moves mtime to now, as on any filesystem.
    if (body.pendingChanges?.mtimeNs !== undefined) {
      const { mtimeNs: _, ...rest } = body.pendingChanges;
      body.pendingChanges = rest;
    }
  }

  private isDirty(body: Body): boolean {
    return body.changeSeq !== body.publishedSeq;
  }
}
