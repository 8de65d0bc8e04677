import { randomUUID } from "node:crypto";
import { FsError, LIMITS } from "../../types/index.ts";
import { FOPEN, O_ACCMODE, O_RDONLY, O_TRUNC, type OpenOut, type RawFileSystem, type RequestContext } from "../kernel/index.ts";
import type { Node } from "./node-table.ts";
import { Readahead } from "./readahead.ts";
import { checkWritable, killSuidGid, madeEntry, ownerOf, replyEntry, type FsState } from "./state.ts";

// Open files: OPEN, CREATE, READ, WRITE, FLUSH, RELEASE, FSYNC. Reads go to the object store
// through the SDK (with readahead); writes collect in the node's body and are published when
// the file is flushed (every close), fsynced, or released.

const O_EXCL = 0o200;

type FileOps = "tmpfile" | "open" | "create" | "read" | "write" | "flush" | "release" | "fsync" | "fallocate";

/** fallocate(2) modes: KEEP_SIZE alone reserves (nothing to do: bodies are not preallocated). */
const FALLOC_FL_KEEP_SIZE = 0x01;

export function fileOps(state: FsState): Pick<RawFileSystem, FileOps> {
  const { nodes, source, bodies, files } = state;

  /**
   * A new handle; `startEmpty` (a new file, O_TRUNC) spares its first write fetching the old body.
   * The kernel may keep cached pages across opens: changes from elsewhere invalidate them.
   */
  const openHandle = (node: Node, writable: boolean, startEmpty: boolean): OpenOut => {
    const handle = files.add((fh) => ({ fh, node, writable, readahead: null }));
    if (writable) bodies.openWriter(node, startEmpty);
    // Closing a read-only handle has nothing to publish: spare tar, cat and friends a round trip.
    return { fh: handle.fh, openFlags: writable ? FOPEN.KEEP_CACHE : FOPEN.KEEP_CACHE | FOPEN.NOFLUSH };
  };

  /**
   * O_TRUNC: the body starts empty here and is dirty, so the close publishes it (empty if nothing
   * was written). Until then everyone else still reads the old contents, and a close that cannot
   * publish (metad down past the retry window) leaves them as they were.
   */
  const truncateOnOpen = async (node: Node): Promise<void> => {
    await bodies.truncate(node, 0);
  };

  return {
    async open(_ctx, nodeid, flags, kill) {
      const node = nodes.require(nodeid);
      const writable = (flags & O_ACCMODE) !== O_RDONLY;
      if (writable || (flags & O_TRUNC) !== 0) checkWritable(state);
      const truncate = writable && (flags & O_TRUNC) !== 0;
      await killSuidGid(state, node, kill);
      const out = openHandle(node, writable, truncate);
      if (truncate) await truncateOnOpen(node);
      // A file whose bytes were stored in the kernel ahead of time sends no READ, so its open is
      // what moves the prefetch window on through the listing (after this reply, as for reads).
      else if (!writable) setImmediate(() => state.prefetch.ahead(node));
      return out;
    },
    async create(ctx, parent, name, mode, flags, kill) {
      checkWritable(state);
      const parentInode = nodes.require(parent).inode;
      const writable = (flags & O_ACCMODE) !== O_RDONLY;
      const { attrs, existed } = await createOrOpen(state, ctx, parentInode, name, mode, flags);
      const entry = existed ? replyEntry(state, parent, name, attrs) : madeEntry(state, parent, name, attrs);
      const node = nodes.require(entry.nodeid);
      const truncate = writable && (flags & O_TRUNC) !== 0;
      if (existed) await killSuidGid(state, node, kill);
      const open = openHandle(node, writable, !existed || truncate);
      if (existed && truncate) await truncateOnOpen(node);
      return { entry, open };
    },
    /**
     * O_TMPFILE: made under a unique hidden name and unlinked at once while open, so metad keeps
     * it as this session's orphan; its bytes stay in the mount until a linkat names it (then the
     * close publishes them there) or the last close frees it.
     */
    async tmpfile(ctx, parent, mode, flags) {
      checkWritable(state);
      const name = `.nokv-tmpfile-${randomUUID()}`;
      const attrs = await source.create(nodes.require(parent).inode, name, ownerOf(ctx, mode));
      const entry = replyEntry(state, parent, name, attrs);
      const node = nodes.require(entry.nodeid);
      const open = openHandle(node, (flags & O_ACCMODE) !== O_RDONLY, true);
      await source.unlink(node.attrs.parent, name, { keepOpen: true });
      state.orphans.add(node.nodeid);
      nodes.removed(parent, name);
      return { entry: { ...entry, entryValidMs: 0 }, open };
    },
    async read(_ctx, _nodeid, fh, offsetBytes, lengthBytes) {
      const handle = files.get(fh);
      const loaded = bodies.loaded(handle.node);
      if (loaded) return await loaded.read(offsetBytes, lengthBytes);
      const node = handle.node;
      const kept = state.published.take(node, offsetBytes, lengthBytes);
      if (kept) return kept;
      // The siblings' fetches start after this read is answered: started here, their first steps
      // ran ahead of this reply's continuation, and the program waited on bytes already fetched.
      if (offsetBytes === 0) setImmediate(() => state.prefetch.ahead(node));
      const early = await state.prefetch.take(node, offsetBytes, lengthBytes);
      if (early) return early;
      handle.readahead ??= new Readahead(
        (offset, length, generation, into, plans) => source.read(node.inode, { offsetBytes: offset, lengthBytes: length, generation, ...(into ? { into } : {}), ...(plans ? { plans } : {}) }),
        node.attrs.generation,
        async () => {
          nodes.update(node, await source.getattr(node.inode));
          return node.attrs.generation;
        },
        state.readBuffers,
      );
      // Our own publish or truncate moved the body since this handle last read: start over.
      handle.readahead.follow(node.attrs.generation);
      return await handle.readahead.read(offsetBytes, lengthBytes);
    },
    async write(_ctx, _nodeid, fh, offsetBytes, data, kill) {
      const handle = files.get(fh);
      if (!handle.writable) throw new FsError("EBADF", `handle ${fh} is not open for writing`);
      await killSuidGid(state, handle.node, kill);
      await bodies.write(handle.node, offsetBytes, data);
      return data.byteLength;
    },
    async flush(_ctx, _nodeid, fh) {
      await bodies.flush(files.get(fh).node);
    },
    async release(_ctx, _nodeid, fh) {
      const handle = files.take(fh);
      if (!handle) return;
      // Its window buffers go back to the pool once the replies lent from them are written.
      handle.readahead?.drop();
      try {
        // Writes after the last flush (through a still-mapped page, say) are published here.
        if (handle.writable) await bodies.flush(handle.node);
      } finally {
        if (handle.writable) bodies.closeWriter(handle.node);
        nodes.release(handle.node);
        // The last handle of a file unlinked while open: metad may free it now.
        if (handle.node.handles === 0 && state.orphans.delete(handle.node.nodeid)) await source.releaseOrphan?.(handle.node.inode);
      }
    },
    async fsync(_ctx, _nodeid, fh) {
      await bodies.flush(files.get(fh).node, true);
    },
    /**
     * Mode 0 grows the file to offset + length (zeros, like a truncate up) and never shrinks it;
     * KEEP_SIZE only checks its arguments. Punching, zeroing, collapsing and inserting ranges are
     * EOPNOTSUPP, which glibc's posix_fallocate also handles by writing.
     */
    async fallocate(_ctx, _nodeid, fh, offsetBytes, lengthBytes, mode) {
      const handle = files.get(fh);
      if (!handle.writable) throw new FsError("EBADF", `handle ${fh} is not open for writing`);
      if (mode !== 0 && mode !== FALLOC_FL_KEEP_SIZE) throw new FsError("ENOTSUP", `fallocate mode ${mode}: only 0 and KEEP_SIZE`);
      if (lengthBytes <= 0 || offsetBytes < 0) throw new FsError("EINVAL", `fallocate of ${lengthBytes} bytes at ${offsetBytes}`);
      const endBytes = offsetBytes + lengthBytes;
      if (endBytes > LIMITS.fileMaxBytes) throw new FsError("EFBIG", `fallocate to ${endBytes} bytes`);
      if (mode === FALLOC_FL_KEEP_SIZE) return;
      await bodies.extend(handle.node, endBytes);
    },
  };
}

/** CREATE without O_EXCL on a name the kernel thought absent but that exists: open that file. */
async function createOrOpen(state: FsState, ctx: RequestContext, parentInode: number, name: string, mode: number, flags: number) {
  try {
    const forWriting = (flags & O_ACCMODE) !== O_RDONLY;
    return { attrs: await state.source.create(parentInode, name, ownerOf(ctx, mode), { forWriting }), existed: false };
  } catch (err) {
    if ((err as FsError).code !== "EEXIST" || (flags & O_EXCL) !== 0) throw err;
    const attrs = await state.source.lookup(parentInode, name);
    if (attrs.type === "dir") throw new FsError("EISDIR", `'${name}' is a directory`);
    return { attrs, existed: true };
  }
}
