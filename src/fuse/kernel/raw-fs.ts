import type {
  AttrOut, ConnectionInfo, DirentSink, EntryOut, OpenOut, RenameIn, RequestContext, SetattrIn, StatfsOut,
} from "./types.ts";
import type { LentBytes } from "./op-types.ts";

// The whole contract between the kernel protocol layer and a filesystem, one method per opcode
// (go-fuse's RawFileSystem). Every method may throw an FsError; its errno becomes the reply. A
// method left out answers ENOSYS, which the kernel remembers for ops where that means "use the
// default" (flush, fsync, xattrs, access).
//
// `killSuidGid`: we negotiate HANDLE_KILLPRIV_V2, so the kernel leaves clearing setuid/setgid on
// write, truncate and chown to us (and stops asking for security.capability before each write).

export interface RawFileSystem {
  init?(conn: ConnectionInfo): void;
  destroy?(): void;

  lookup?(ctx: RequestContext, parent: number, name: string): Promise<EntryOut>;
  /** No reply: the kernel dropped `nlookup` references to `nodeid`. */
  forget?(nodeid: number, nlookup: number): void;
  getattr?(ctx: RequestContext, nodeid: number, fh: number | undefined): Promise<AttrOut>;
  setattr?(ctx: RequestContext, nodeid: number, changes: SetattrIn): Promise<AttrOut>;
  readlink?(ctx: RequestContext, nodeid: number): Promise<string>;
  symlink?(ctx: RequestContext, parent: number, name: string, target: string): Promise<EntryOut>;
  mknod?(ctx: RequestContext, parent: number, name: string, mode: number, rdev: number): Promise<EntryOut>;
  mkdir?(ctx: RequestContext, parent: number, name: string, mode: number): Promise<EntryOut>;
  unlink?(ctx: RequestContext, parent: number, name: string): Promise<void>;
  rmdir?(ctx: RequestContext, parent: number, name: string): Promise<void>;
  rename?(ctx: RequestContext, args: RenameIn): Promise<void>;
  link?(ctx: RequestContext, nodeid: number, newParent: number, newName: string): Promise<EntryOut>;

  open?(ctx: RequestContext, nodeid: number, flags: number, killSuidGid: boolean): Promise<OpenOut>;
  create?(ctx: RequestContext, parent: number, name: string, mode: number, flags: number, killSuidGid: boolean): Promise<{ entry: EntryOut; open: OpenOut }>;
  /** O_TMPFILE in directory `parent`: an open file with no name (linkat may give it one). */
  tmpfile?(ctx: RequestContext, parent: number, mode: number, flags: number): Promise<{ entry: EntryOut; open: OpenOut }>;
  /** The bytes, or bytes lent until the reply is written (see LentBytes). */
  read?(ctx: RequestContext, nodeid: number, fh: number, offsetBytes: number, lengthBytes: number): Promise<Uint8Array | LentBytes>;
  /** Returns the bytes accepted (all of them, or an error). */
  write?(ctx: RequestContext, nodeid: number, fh: number, offsetBytes: number, data: Uint8Array, killSuidGid: boolean): Promise<number>;
  flush?(ctx: RequestContext, nodeid: number, fh: number): Promise<void>;
  release?(ctx: RequestContext, nodeid: number, fh: number): Promise<void>;
  fsync?(ctx: RequestContext, nodeid: number, fh: number, dataOnly: boolean): Promise<void>;
  /** fallocate(2) on an open file; `mode` holds FALLOC_FL_* bits. */
  fallocate?(ctx: RequestContext, nodeid: number, fh: number, offsetBytes: number, lengthBytes: number, mode: number): Promise<void>;

  opendir?(ctx: RequestContext, nodeid: number, flags: number): Promise<OpenOut>;
  readdir?(ctx: RequestContext, nodeid: number, fh: number, offset: number, sink: DirentSink): Promise<void>;
  releasedir?(ctx: RequestContext, nodeid: number, fh: number): Promise<void>;
  fsyncdir?(ctx: RequestContext, nodeid: number, fh: number, dataOnly: boolean): Promise<void>;

  statfs?(ctx: RequestContext, nodeid: number): Promise<StatfsOut>;
  access?(ctx: RequestContext, nodeid: number, mask: number): Promise<void>;
  /** The value; the kernel layer answers a size probe (size 0) and ERANGE itself. */
  getxattr?(ctx: RequestContext, nodeid: number, name: string): Promise<Uint8Array>;
  /** Attribute names; the kernel layer encodes them NUL-separated. */
  listxattr?(ctx: RequestContext, nodeid: number): Promise<string[]>;
  setxattr?(ctx: RequestContext, nodeid: number, name: string, value: Uint8Array, flags: number): Promise<void>;
  removexattr?(ctx: RequestContext, nodeid: number, name: string): Promise<void>;
}
