// What the kernel layer exchanges with a filesystem: decoded requests in, reply values out.
// Times are nanoseconds (bigint) like the rest of NoKV; the encoder splits them into sec/nsec.

/** Who asked: the caller's credentials as the kernel reports them. */
export interface RequestContext {
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
}

/** struct fuse_attr, in NoKV units. */
export interface FuseAttr {
  ino: number;
  sizeBytes: number;
  /** st_blocks: 512-byte units. */
  blocks512: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** st_mode: type bits and permission bits. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  blockSizeBytes: number;
  /** Device number of a character or block device (Linux encoding); absent means 0. */
  rdev?: number;
}

/** struct fuse_entry_out. nodeid 0 is a negative entry: "no such name", cached for entryValidMs. */
export interface EntryOut {
  nodeid: number;
  entryValidMs: number;
  attrValidMs: number;
  attr: FuseAttr;
}

export interface AttrOut {
  attrValidMs: number;
  attr: FuseAttr;
}

export interface OpenOut {
  fh: number;
  /** FOPEN_* bits. */
  openFlags: number;
}

export interface StatfsOut {
  blocks: number;
  blocksFree: number;
  blocksAvailable: number;
  files: number;
  filesFree: number;
  blockSizeBytes: number;
  nameMaxBytes: number;
}

/** fuse_setattr_in, decoded: only the fields `valid` names are present. */
export interface SetattrIn {
  fh?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  sizeBytes?: number;
  /** "now" for UTIME_NOW (FATTR_ATIME_NOW / FATTR_MTIME_NOW). */
  atimeNs?: bigint | "now";
  mtimeNs?: bigint | "now";
  /** FATTR_KILL_SUIDGID: drop setuid/setgid too (we negotiate HANDLE_KILLPRIV_V2). */
  killSuidGid?: true;
}

export interface RenameIn {
  parent: number;
  name: string;
  newParent: number;
  newName: string;
  /** RENAME_NOREPLACE / RENAME_EXCHANGE bits. */
  flags: number;
}

/** One directory entry for READDIR; `entry` is required for READDIRPLUS (nodeid 0: no lookup). */
export interface DirEntryOut {
  name: string;
  ino: number;
  /** DT_* value. */
  type: number;
  /** The cookie the kernel passes back as the offset to resume after this entry. */
  nextOffset: number;
  entry?: EntryOut;
}

/**
 * Fills one READDIR(PLUS) reply. `add` returns false when the entry does not fit: the filesystem
 * stops there and must not count a lookup for it.
 */
export interface DirentSink {
  readonly plus: boolean;
  add(entry: DirEntryOut): boolean;
}

/** The negotiated connection, known after INIT. */
export interface ConnectionInfo {
  major: number;
  minor: number;
  maxWriteBytes: number;
  maxReadaheadBytes: number;
  flags: number;
}
