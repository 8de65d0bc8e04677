import { FsError, type DirEntryPlus, type InodeAttrs, type InodeId } from "../../types/index.ts";
import type { NoKVStats, SnapshotView } from "../../sdk/index.ts";
import type { NodeSource } from "./source.ts";

// A snapshot mount: read-only, through the SDK's snapshot view, which reads by path at the
// snapshot's version. Paths come from the node table (the kernel only names nodes it looked up,
// and a snapshot never changes, so a path found once stays right).

type SnapshotFile = Awaited<ReturnType<SnapshotView["open"]>>;

/** Directory listings and open files kept per snapshot mount; both are immutable, so never stale. */
const LISTINGS_KEPT = 256;
const HANDLES_KEPT = 256;

export class SnapshotSource implements NodeSource {
  readonly readOnly = true;
  readonly rootInode: InodeId;
  private pathOf: (inode: InodeId) => string | null = () => null;
  private readonly listings = new Map<InodeId, DirEntryPlus[]>();
  private readonly handles = new Map<InodeId, Promise<SnapshotFile>>();

  constructor(private readonly view: SnapshotView) {
    this.rootInode = view.info.rootInode;
  }

  usePaths(pathOf: (inode: InodeId) => string | null): void {
    this.pathOf = pathOf;
  }

  /** The snapshot's absolute path for a node: node paths are relative to the mounted directory. */
  private path(inode: InodeId): string {
    const rel = inode === this.rootInode ? "/" : this.pathOf(inode);
    if (rel === null) throw new FsError("ESTALE", `snapshot inode ${inode} has no known path`);
    const root = this.view.info.path;
    return rel === "/" ? root : root === "/" ? rel : `${root}${rel}`;
  }

  private child(parent: InodeId, name: string): string {
    const dir = this.path(parent);
    return dir === "/" ? `/${name}` : `${dir}/${name}`;
  }

  async lookup(parent: InodeId, name: string): Promise<InodeAttrs> {
    return statsToAttrs(await this.view.lstat(this.child(parent, name)));
  }

  async getattr(inode: InodeId): Promise<InodeAttrs> {
    return statsToAttrs(await this.view.lstat(this.path(inode)));
  }

  async readdirPlus(inode: InodeId, page: { after?: string; limit: number }) {
    let all = this.listings.get(inode);
    if (!all) {
      all = (await this.view.readdirStats(this.path(inode))).map((e) => ({ name: e.name, attrs: statsToAttrs(e.stats) }));
      remember(this.listings, inode, all, LISTINGS_KEPT);
    }
    const from = page.after === undefined ? 0 : all.findIndex((e) => e.name === page.after) + 1;
    const entries = all.slice(from, from + page.limit);
    const more = from + page.limit < all.length;
    return { entries, nextAfter: more ? entries[entries.length - 1]!.name : null };
  }

  readlink(inode: InodeId): Promise<string> {
    return this.view.readlink(this.path(inode));
  }

  async read(inode: InodeId, range: { offsetBytes: number; lengthBytes: number }): Promise<Uint8Array> {
    let handle = this.handles.get(inode);
    if (!handle) {
      handle = this.view.open(this.path(inode));
      handle.catch(() => this.handles.delete(inode));
      remember(this.handles, inode, handle, HANDLES_KEPT);
    }
    const out = new Uint8Array(range.lengthBytes);
    const { bytesRead } = await (await handle).read(out, 0, range.lengthBytes, range.offsetBytes);
    return out.subarray(0, bytesRead);
  }

  mkdir(): never {
    throw readOnly();
  }
  create(): never {
    throw readOnly();
  }
  mknod(): never {
    throw readOnly();
  }
  symlink(): never {
    throw readOnly();
  }
  link(): never {
    throw readOnly();
  }
  unlink(): never {
    throw readOnly();
  }
  rmdir(): never {
    throw readOnly();
  }
  rename(): never {
    throw readOnly();
  }
  setattr(): never {
    throw readOnly();
  }
  publish(): never {
    throw readOnly();
  }
}

function readOnly(): FsError {
  return new FsError("EROFS", "snapshot mounts are read-only");
}

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

export function statsToAttrs(s: NoKVStats): InodeAttrs {
  return {
    inode: s.ino,
    type: s.type,
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    sizeBytes: s.size,
    generation: s.generation,
    nlink: s.nlink,
    parent: 0,
    atimeNs: s.atimeNs,
    mtimeNs: s.mtimeNs,
    ctimeNs: s.ctimeNs,
    target: "",
    rdev: s.rdev,
    holeBytes: s.holeBytes,
    version: s.version,
  };
}
