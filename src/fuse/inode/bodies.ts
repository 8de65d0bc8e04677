import { FsError, LIMITS, nowNs, type ErrnoCode, type InodeAttrs } from "../../types/index.ts";

/** Errors that mean "metad (or the way to it) is not there right now", not "this publish is wrong". */
const UNREACHABLE: ReadonlySet<ErrnoCode | undefined> = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EAGAIN"]);
import type { AttrOverlay } from "./attrs.ts";
import type { Node, NodeTable } from "./node-table.ts";
import type { NodeSource } from "./source.ts";
import { WriteBuffer } from "./write-buffer.ts";

// Bodies being written through the mount, one per node (every handle of a file shares it, so a
// reader sees what a writer wrote). Writes land in a buffer; flush, fsync and the last release
// publish the whole body under the file's name: the file changes all at once, never halfway.

interface Body {
  buffer: WriteBuffer | null;
  loading: Promise<WriteBuffer> | null;
  /** Bumped by every change; a publish clears `dirty` only if none happened while it ran. */
  changeSeq: number;
  publishedSeq: number;
  mtimeNs: bigint;
  /** When the body last changed: its ctime until the publish. */
  ctimeNs: bigint;
  /** Times set while dirty: a publish stamps mtime with now, so they are applied again after it. */
  pendingTimes: { atimeNs?: bigint; mtimeNs?: bigint } | null;
  publishing: Promise<void> | null;
  writers: number;
}

export class Bodies {
  private readonly bodies = new Map<number, Body>();
  /** A publish committed under `parent` with the file's new attributes (the parent's follow from them). */
  afterPublish: (parent: number, attrs: InodeAttrs) => void = () => {};
  private writtenSinceGcBytes = 0;

  constructor(
    private readonly source: NodeSource,
    private readonly nodes: NodeTable,
  ) {}

  /** A handle that may write opened; `truncate` starts the body empty (O_TRUNC, or a new file). */
  openWriter(node: Node, truncate: boolean): void {
    const body = this.bodyOf(node);
    body.writers++;
    if (truncate) {
      if (body.buffer) retire(body, body.buffer);
      body.buffer = new WriteBuffer();
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
    if (body.writers === 0 && body.publishing === null) this.drop(node.nodeid, body);
  }

  /** Size and mtime to report while unpublished bytes exist, so the kernel's view stays right. */
  overlay(node: Node): AttrOverlay | undefined {
    const body = this.bodies.get(node.nodeid);
    if (!body?.buffer || !this.isDirty(body)) return undefined;
    return { sizeBytes: body.buffer.sizeBytes, mtimeNs: body.mtimeNs, ctimeNs: body.ctimeNs };
  }

  /** The loaded body to read from, when this node has one (its bytes are the newest). */
  loaded(node: Node): WriteBuffer | null {
    return this.bodies.get(node.nodeid)?.buffer ?? null;
  }

  async write(node: Node, offsetBytes: number, data: Uint8Array): Promise<void> {
    const body = this.bodyOf(node);
    const buffer = await this.load(node, body);
    buffer.write(offsetBytes, data);
    this.changed(body);
    this.collectAfter(data.byteLength);
  }

  /**
   * Every kernel WRITE arrives in its own copy (up to 1 MiB), garbage once it is in the buffer;
   * the collector is told to run after each fuseGcAfterWrittenBytes, or a 1 GiB copy would hold
   * hundreds of MiB of dead request buffers at its peak.
   */
  private collectAfter(bytes: number): void {
    this.writtenSinceGcBytes += bytes;
    if (this.writtenSinceGcBytes < LIMITS.fuseGcAfterWrittenBytes) return;
    this.writtenSinceGcBytes = 0;
    Bun.gc(true);
  }

  /** Truncate of a node with an open body: it changes the buffer, and the publish carries it. */
  async truncate(node: Node, sizeBytes: number): Promise<boolean> {
    const body = this.bodies.get(node.nodeid);
    if (!body || body.writers === 0) return false;
    // Truncating to empty needs nothing of the old body: no point fetching it first.
    if (sizeBytes === 0 && !body.buffer) body.buffer = new WriteBuffer();
    (await this.load(node, body)).truncate(sizeBytes);
    this.changed(body);
    return true;
  }

  /** fallocate mode 0: grows the open body to `sizeBytes` with zeros; never shrinks it. */
  async extend(node: Node, sizeBytes: number): Promise<void> {
    const body = this.bodies.get(node.nodeid);
    if (!body || body.writers === 0) throw new FsError("EBADF", `inode ${node.inode} is not open for writing`);
    const buffer = await this.load(node, body);
    if (buffer.sizeBytes >= sizeBytes) return;
    buffer.truncate(sizeBytes);
    this.changed(body);
  }

  /** Remembers times set on a dirty node, to restore them after the publish. */
  setTimes(node: Node, times: { atimeNs?: bigint; mtimeNs?: bigint }): void {
    const body = this.bodies.get(node.nodeid);
    if (!body || !this.isDirty(body)) return;
    body.pendingTimes = { ...body.pendingTimes, ...times };
    if (times.mtimeNs !== undefined) body.mtimeNs = times.mtimeNs;
    body.ctimeNs = nowNs();
  }

  /** Publishes the node's body if it changed since the last publish; waits for one in flight. */
  async flush(node: Node): Promise<void> {
    const body = this.bodies.get(node.nodeid);
    if (!body) return;
    while (body.publishing) await body.publishing;
    if (!this.isDirty(body)) return;
    body.publishing = this.publish(node, body).finally(() => (body.publishing = null));
    await body.publishing;
    if (body.writers === 0 && !this.isDirty(body)) this.drop(node.nodeid, body);
  }

  private async publish(node: Node, body: Body): Promise<void> {
    const buffer = body.buffer!;
    const seq = body.changeSeq;
    const attrs = await this.publishRetrying(node, buffer);
    // The pieces a large publish read and uploaded are garbage now, too.
    this.collectAfter(buffer.sizeBytes);
    // No name (unlinked while open, O_TMPFILE): the bytes stay here, unpublished, until a link
    // names the file again (its next flush publishes them) or the last writer closes.
    if (!attrs) return;
    this.nodes.update(node, attrs);
    if (body.pendingTimes) this.nodes.update(node, await this.source.setattr(node.inode, body.pendingTimes));
    body.publishedSeq = seq;
    if (body.changeSeq === seq) body.pendingTimes = null;
  }

  /**
   * A publish that fails because metad cannot be reached (restarting, a network blip) is tried
   * again with backoff for up to fusePublishRetryMaxMs: close(2) and fsync(2) wait that long
   * rather than fail, and past it they fail with EIO; they never report success for bytes that
   * were not published.
   */
  private async publishRetrying(node: Node, buffer: WriteBuffer): Promise<InodeAttrs | null> {
    const deadlineMs = performance.now() + LIMITS.fusePublishRetryMaxMs;
    for (let delayMs: number = LIMITS.fusePublishRetryBackoffMs; ; delayMs = Math.min(delayMs * 2, LIMITS.fusePublishRetryBackoffMaxMs)) {
      try {
        return await this.publishAs(node, buffer);
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
   * Publishes under the node's newest name, guarded by the generation we last saw. ESTALE means
   * someone else changed the name or the body meanwhile: if the name still holds our inode the
   * last writer wins; if not (unlinked, replaced) the bytes belong to no name and are dropped,
   * as writes to an unlinked file are.
   */
  private async publishAs(node: Node, buffer: WriteBuffer): Promise<InodeAttrs | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const link = this.nodes.linkOf(node);
      if (!link) return null;
      const guard = attempt === 0 ? { ifGeneration: node.attrs.generation } : {};
      try {
        const attrs = await this.source.publish(this.nodes.inodeOf(link.parent), link.name, buffer.body(), { mode: node.attrs.mode, inode: node.inode, ...guard });
        this.afterPublish(link.parent, attrs);
        return attrs;
      } catch (err) {
        if ((err as FsError).code !== "ESTALE") throw err;
        const now = await this.source.lookup(this.nodes.inodeOf(link.parent), link.name).catch(() => null);
        if (now?.inode !== node.inode) return null;
      }
    }
    throw new FsError("ESTALE", `inode ${node.inode} kept changing while it was published`);
  }

  private drop(nodeid: number, body: Body): void {
    if (this.bodies.get(nodeid) === body) this.bodies.delete(nodeid);
    if (body.buffer) retire(body, body.buffer);
    body.buffer = null;
  }

  private bodyOf(node: Node): Body {
    let body = this.bodies.get(node.nodeid);
    if (!body) {
      body = { buffer: null, loading: null, changeSeq: 0, publishedSeq: 0, mtimeNs: 0n, ctimeNs: 0n, pendingTimes: null, publishing: null, writers: 0 };
      this.bodies.set(node.nodeid, body);
    }
    return body;
  }

  /** The current body, fetched once, for a write that does not replace it from the start. */
  private load(node: Node, body: Body): Promise<WriteBuffer> {
    if (body.buffer) return Promise.resolve(body.buffer);
    body.loading ??= (async () => {
      const attrs = await this.source.getattr(node.inode);
      const bytes = attrs.sizeBytes === 0 ? new Uint8Array(0) : await this.source.read(node.inode, { offsetBytes: 0, lengthBytes: attrs.sizeBytes, generation: attrs.generation });
      this.nodes.update(node, attrs);
      body.buffer ??= WriteBuffer.of(bytes);
      return body.buffer;
    })().finally(() => (body.loading = null));
    return body.loading;
  }

  private changed(body: Body): void {
    body.changeSeq++;
    body.mtimeNs = nowNs();
    body.ctimeNs = body.mtimeNs;
  }

  private isDirty(body: Body): boolean {
    return body.changeSeq !== body.publishedSeq;
  }
}

/** Frees a buffer's spill file once no publish is reading it. */
function retire(body: Body, buffer: WriteBuffer): void {
  if (body.publishing) void body.publishing.finally(() => buffer.dispose());
  else buffer.dispose();
}
