import { LIMITS } from "../../types/index.ts";
import type { Node } from "./node-table.ts";

// Programs that read every file of a directory in listing order (tar, cp -r, grep -r, a data
// loader) read small files one after another, each a read plan and an object fetch that a cold
// disk makes slow. After a listing, the first file opened or read from its start also fetches the
// next few small files of that listing, and so does each later one while the program keeps to
// listing order (within fusePrefetchOrderSlackFiles of the furthest file it reached), so their
// bytes are ready when it opens them. A program that opens the directory's files in another order
// (a shuffling data loader) gets no fetches past its first file: each would be a read nobody
// asked for. Bounded: fusePrefetchFilesAhead files ahead, files of at most
// fusePrefetchFileMaxBytes, fetched bytes kept until read to the end, superseded or invalidated,
// at most fusePrefetchHeldMaxBytes of them (the oldest go first), and listing order kept for at
// most fusePrefetchListedMax files. Bytes come through the same verified read as any other.
//
// Fetched bytes are also stored into the kernel's page cache (FUSE_NOTIFY_STORE) as soon as they
// arrive, while still the node's current generation: the program's open then finds every page
// and sends no READ, and with no READ the kernel keeps the file's atime valid, so the fstat that
// tar makes after reading sends no GETATTR either. A small file read this way costs the mount
// one request (OPEN; RELEASE does not wait) instead of three waited on. A change that arrives
// before the fetch ends drops the fetch, so nothing older than it is stored; one that arrives
// after drops the stored pages with the rest of the file's cache.

/** Reads a whole small file of one generation (checksums verified). */
export type ReadWhole = (node: Node, sizeBytes: number, generation: number) => Promise<Uint8Array>;
/** Stores a whole file's bytes into the kernel's page cache; false when it was not sent. */
export type StorePages = (node: Node, bytes: Uint8Array) => boolean;

interface Fetched {
  generation: number;
  sizeBytes: number;
  bytes: Promise<Uint8Array | null>;
}

export class SiblingPrefetch {
  /** Small files of each listed directory, in listing order. */
  private readonly order = new Map<number, number[]>();
  private readonly position = new Map<number, { dir: number; index: number }>();
  /** Per listed directory, the furthest file (listing index) a program opened or read in order. */
  private readonly reached = new Map<number, number>();
  private listedFiles = 0;
  private readonly fetched = new Map<number, Fetched>();
  private heldBytes = 0;
  /** Files fetched, reads served from them, fetches stored into the kernel; for stats and tests. */
  readonly counts = { fetched: 0, served: 0, stored: 0 };

  constructor(
    private readonly readWhole: ReadWhole,
    private readonly nodeOf: (nodeid: number) => Node | undefined,
    private readonly store: StorePages = () => false,
  ) {}

  /** A listing of `dir` starts from its first entry: the order is rebuilt from here. */
  listingStarted(dir: number): void {
    this.dropped(dir);
    this.order.set(dir, []);
  }

  /** The next entry of `dir`'s listing. */
  listed(dir: number, node: Node): void {
    const files = this.order.get(dir);
    if (!files || node.type !== "file" || node.attrs.sizeBytes > LIMITS.fusePrefetchFileMaxBytes) return;
    if (this.listedFiles >= LIMITS.fusePrefetchListedMax) return;
    this.position.set(node.nodeid, { dir, index: files.length });
    files.push(node.nodeid);
    this.listedFiles++;
  }

  /** Bytes [offset, offset + length) of `node` if they were fetched ahead for its current generation. */
  take(node: Node, offsetBytes: number, lengthBytes: number): Promise<Uint8Array | null> | null {
    const entry = this.fetched.get(node.nodeid);
    if (!entry) return null;
    if (entry.generation !== node.attrs.generation) {
      this.forget(node.nodeid);
      return null;
    }
    return entry.bytes.then((bytes) => {
      if (bytes === null) return null;
      const endBytes = offsetBytes + lengthBytes;
      if (endBytes >= bytes.byteLength && this.fetched.get(node.nodeid) === entry) this.forget(node.nodeid);
      this.counts.served++;
      return bytes.slice(offsetBytes, Math.min(endBytes, bytes.byteLength));
    });
  }

  /** `node` was opened, or is being read from its start: fetch the next small files of its listing if it keeps to listing order. */
  ahead(node: Node): void {
    const at = this.position.get(node.nodeid);
    if (!at) return;
    // The listing's first file starts a pass of its own (tar run again over a cached listing).
    const furthest = at.index === 0 ? undefined : this.reached.get(at.dir);
    if (furthest !== undefined) {
      const inOrder = at.index > furthest - LIMITS.fusePrefetchOrderSlackFiles && at.index <= furthest + LIMITS.fusePrefetchOrderSlackFiles;
      if (!inOrder || at.index <= furthest) return;
    }
    this.reached.set(at.dir, at.index);
    const files = this.order.get(at.dir) ?? [];
    for (const nodeid of files.slice(at.index + 1, at.index + 1 + LIMITS.fusePrefetchFilesAhead)) {
      const sibling = this.nodeOf(nodeid);
      if (!sibling || this.fetched.has(nodeid) || sibling.attrs.sizeBytes === 0) continue;
      const { generation, sizeBytes } = sibling.attrs;
      // A failed fetch leaves the read to the ordinary path.
      const bytes = this.readWhole(sibling, sizeBytes, generation).catch(() => null);
      const entry = { generation, sizeBytes, bytes };
      this.fetched.set(nodeid, entry);
      this.heldBytes += sizeBytes;
      this.counts.fetched++;
      void bytes.then((fetched) => this.stored(nodeid, entry, fetched));
      while (this.heldBytes > LIMITS.fusePrefetchHeldMaxBytes || this.fetched.size > 2 * LIMITS.fusePrefetchFilesAhead) {
        this.forget(this.fetched.keys().next().value!);
      }
    }
  }

  /** Hands fetched bytes to the kernel if nothing superseded them meanwhile. */
  private stored(nodeid: number, entry: Fetched, bytes: Uint8Array | null): void {
    const node = this.nodeOf(nodeid);
    if (bytes === null || this.fetched.get(nodeid) !== entry || !node || node.attrs.generation !== entry.generation) return;
    if (node.attrs.sizeBytes !== bytes.byteLength) return;
    if (this.store(node, bytes)) this.counts.stored++;
  }

  /** The file's body changed (an event, our own write): what was fetched is stale. */
  changed(nodeid: number): void {
    this.forget(nodeid);
  }

  /** The kernel forgot the node. */
  dropped(nodeid: number): void {
    this.forget(nodeid);
    this.position.delete(nodeid);
    this.reached.delete(nodeid);
    const files = this.order.get(nodeid);
    if (!files) return;
    for (const file of files) this.position.delete(file);
    this.listedFiles -= files.length;
    this.order.delete(nodeid);
  }

  private forget(nodeid: number): void {
    const entry = this.fetched.get(nodeid);
    if (!entry) return;
    this.fetched.delete(nodeid);
    this.heldBytes -= entry.sizeBytes;
  }
}
