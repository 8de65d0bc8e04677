// Constants and struct sizes of the Linux FUSE kernel protocol, from <linux/fuse.h> (7.38).
// Only what this frontend speaks; names follow the header so a reader can grep for them.

export const FUSE_KERNEL_VERSION = 7;
/** The highest minor this code was written against; INIT answers min(kernel's, this). */
export const FUSE_KERNEL_MINOR_VERSION = 38;
/** The lowest minor we accept: 7.31 brought every reply and notification format we send. */
export const FUSE_MIN_MINOR_VERSION = 31;
export const FUSE_ROOT_ID = 1;

export const OPCODE = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SYNCFS: 50,
  TMPFILE: 51,
} as const;

export type OpcodeName = keyof typeof OPCODE;

export const NOTIFY = {
  INVAL_INODE: 2,
  INVAL_ENTRY: 3,
  STORE: 4,
} as const;

/** fuse_init_in/out flags (the low 32 bits; we negotiate nothing from flags2). */
export const INIT_FLAG = {
  ASYNC_READ: 1 << 0,
  ATOMIC_O_TRUNC: 1 << 3,
  BIG_WRITES: 1 << 5,
  AUTO_INVAL_DATA: 1 << 12,
  DO_READDIRPLUS: 1 << 13,
  READDIRPLUS_AUTO: 1 << 14,
  PARALLEL_DIROPS: 1 << 18,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23,
  HANDLE_KILLPRIV_V2: 1 << 28,
} as const;

/** fuse_setattr_in.valid bits. */
export const FATTR = {
  MODE: 1 << 0,
  UID: 1 << 1,
  GID: 1 << 2,
  SIZE: 1 << 3,
  ATIME: 1 << 4,
  MTIME: 1 << 5,
  FH: 1 << 6,
  ATIME_NOW: 1 << 7,
  MTIME_NOW: 1 << 8,
  CTIME: 1 << 10,
} as const;

export const FATTR_KILL_SUIDGID = 1 << 11;
/** fuse_write_in.write_flags: FUSE_WRITE_KILL_SUIDGID. */
export const WRITE_KILL_SUIDGID = 1 << 2;
/** fuse_open_in / fuse_create_in open_flags: FUSE_OPEN_KILL_SUIDGID. */
export const OPEN_KILL_SUIDGID = 1 << 0;

/** fuse_open_out.open_flags. */
export const FOPEN = {
  DIRECT_IO: 1 << 0,
  KEEP_CACHE: 1 << 1,
  CACHE_DIR: 1 << 3,
  /** No FLUSH request when this handle closes (protocol 7.35; older kernels ignore it). */
  NOFLUSH: 1 << 5,
} as const;

/** RENAME2 flags (from <linux/fs.h>). */
export const RENAME_NOREPLACE = 1 << 0;
export const RENAME_EXCHANGE = 1 << 1;

/** open(2) flags as the kernel passes them in fuse_open_in.flags (x86-64/arm64 values). */
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;

/** Dirent d_type values. */
export const DT_DIR = 4;
export const DT_REG = 8;
export const DT_LNK = 10;

/** Struct sizes in bytes, as the header lays them out. */
export const SIZE = {
  inHeader: 40,
  outHeader: 16,
  attr: 88,
  entryOut: 128,
  attrOut: 104,
  openOut: 16,
  writeOut: 8,
  statfsOut: 80,
  getxattrOut: 8,
  initOut: 64,
  /** fuse_init_in before 7.36 (major, minor, max_readahead, flags). */
  initInCompat: 16,
  direntHeader: 24,
  notifyInvalInode: 24,
  notifyInvalEntry: 16,
  notifyStore: 24,
  forgetOne: 16,
} as const;

/** Aligns a dirent record to 8 bytes (FUSE_DIRENT_ALIGN). */
export function direntAlign(sizeBytes: number): number {
  return (sizeBytes + 7) & ~7;
}
