// Every limit in NoKV, in one place. Each is enforced where input crosses a boundary and has a
// test that crosses it. The assertions at the bottom keep the limits consistent with each other.

export const LIMITS = {
  /** POSIX NAME_MAX: one path component, in UTF-8 bytes. */
  nameMaxBytes: 255,
  /** POSIX PATH_MAX: a whole path, in UTF-8 bytes. */
  pathMaxBytes: 4096,
  /** Symlink targets follow PATH_MAX as well. */
  symlinkTargetMaxBytes: 4096,
  /** Symlinks followed while resolving one path before ELOOP. */
  symlinkFollowMax: 40,
  /** Hard links to one inode. */
  nlinkMax: 65_000,

  /** Entries in one readdir page, and the default when the caller names none. */
  readdirPageMaxEntries: 4_096,
  readdirPageDefaultEntries: 1_024,
  /** Names in one create-many command. */
  createManyMaxNames: 4_096,
  /** Watch events returned by one replay page. */
  watchPageMaxEvents: 4_096,
  /** Watch log kept per mount, in commit versions behind the clock; older cursors get ESTALE. */
  watchRetainVersions: 1_000_000,
  /** Dedupe records older than this are dropped; a retry after it may be applied twice. */
  dedupeRetainMs: 10 * 60_000,

  /** Commands committed in one SQLite transaction by group commit. */
  groupCommitMaxCommands: 1_024,
  /** Mutations in one command (a publish of a very large file is the biggest). */
  commandMaxMutations: 100_000,

  /** Body layout defaults and bounds. */
  blockSizeDefaultBytes: 4 * 1024 * 1024,
  blockSizeMinBytes: 4 * 1024,
  blockSizeMaxBytes: 64 * 1024 * 1024,
  chunkSizeBytes: 64 * 1024 * 1024,
  /** The largest file body (stays an exact JavaScript number with room to spare). */
  fileMaxBytes: 2 ** 50,
  /** A prepared publish not published by then is garbage. */
  stagedExpiryDefaultMs: 60 * 60_000,
  stagedExpiryMaxMs: 7 * 24 * 60 * 60_000,
  /** Snapshot pins per mount. */
  snapshotsPerMountMax: 10_000,

  /** Allocation reservations persisted ahead of use, so a restart never reuses a number. */
  versionReserveBlock: 4_096,
  inodeReserveBlock: 4_096,
  /** Rows deleted by one GC pass per family, so GC never holds the writer for long. */
  gcPassMaxRows: 10_000,
} as const;

function assertLimit(ok: boolean, what: string): void {
  if (!ok) throw new Error(`limits: ${what}`);
}

assertLimit(LIMITS.readdirPageDefaultEntries <= LIMITS.readdirPageMaxEntries, "readdir default page above max");
assertLimit(LIMITS.blockSizeDefaultBytes >= LIMITS.blockSizeMinBytes, "default block below min");
assertLimit(LIMITS.blockSizeDefaultBytes <= LIMITS.blockSizeMaxBytes, "default block above max");
assertLimit(LIMITS.chunkSizeBytes % LIMITS.blockSizeDefaultBytes === 0, "chunk not a multiple of block");
assertLimit(LIMITS.fileMaxBytes < Number.MAX_SAFE_INTEGER, "file size not exact in a double");
assertLimit(LIMITS.nameMaxBytes < LIMITS.pathMaxBytes, "name above path");
