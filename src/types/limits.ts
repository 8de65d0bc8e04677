// Every limit in NoKV, in one place. Each is enforced where input crosses a boundary and has a
// test that crosses it. Grouped by where they apply (the `//` headers: namespace, metad's store,
// bodies, maintenance, connections, SDK, object stores, wire, FUSE, cluster, CSI); the assertions
// at the bottom keep the limits consistent with each other.

export const LIMITS = {
  // Namespace: names, paths, links, pages of listings and watch events.
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
  /** Names in one remove-many command (remove_files, and a batch's run of unlinks in one directory). */
  removeManyMaxNames: 4_096,
  /** Watch events returned by one replay page. */
  watchPageMaxEvents: 4_096,
  /**
   * Commands of the log one replay page reads (events are read from the command log): a scope
   * with few events in a busy mount gets a page with fewer events, and a cursor past what was read.
   */
  watchPageMaxCommands: 2_048,
  /** metad: watch subscriptions one connection holds, and all connections together. */
  watchSubscriptionsPerConnectionMax: 1_024,
  watchSubscriptionsMax: 65_536,
  // metad's store: row caches, dedupe and history retention, group commit, the WAL, commands.
  /** metad: current inode and dentry rows kept in memory (a projection of applied commands). */
  inodeCacheMaxEntries: 200_000,
  dentryCacheMaxEntries: 200_000,
  /** metad: log pages catching-up subscriptions read per event-loop turn, all together. */
  watchCatchUpPagesPerTick: 16,
  /** metad: a catching-up subscription waits while its connection has this many reply bytes unsent. */
  watchCatchUpOutboundMaxBytes: 8 * 1024 * 1024,
  /** metad: how soon a catch-up stalled on slow consumers looks again. */
  watchCatchUpRetryMs: 5,
  /** Watch log kept per mount, in commit versions behind the clock; older cursors get ESTALE. */
  watchRetainVersions: 1_000_000,
  /** Dedupe records older than this are dropped; a retry after it may be applied twice. */
  dedupeRetainMs: 10 * 60_000,
  /**
   * Dedupe GC walks the command log from its floor (the log keeps at least the entries of the
   * last dedupeRetainMs). With no expired record to delete, the floor is raised only once it
   * would move this many entries, so quiet shards do not log a trim at every pass.
   */
  dedupeFloorMinAdvance: 1_024,
  /** Dedupe GC: log entries read per page of its walk. */
  gcDedupeLogPageEntries: 256,

  /** Commands committed in one SQLite transaction by group commit. */
  groupCommitMaxCommands: 1_024,
  /**
   * metad checkpoints SQLite's WAL from a worker thread this often, so the event loop never copies
   * pages or waits on the checkpoint's fsyncs.
   */
  walCheckpointIntervalMs: 50,
  /**
   * Past this many WAL frames (4 KiB pages) the writer itself finishes the checkpoint once the
   * worker has copied all but walCatchUpFrames of them: under steady writes the worker never
   * sees an idle moment, and only a complete checkpoint lets the next write reuse the WAL from
   * its start instead of growing it.
   */
  walRestartFrames: 16_384,
  walCatchUpFrames: 1_024,
  /**
   * When writes outrun the worker, the writer checkpoints itself once the WAL file passes this
   * (checked every walSizeCheckCommits commits); after a restart SQLite truncates the file back
   * to walRestartFrames pages (journal_size_limit), so its size says how long the WAL is.
   */
  walMaxBytes: 256 * 1024 * 1024,
  walSizeCheckCommits: 256,
  /** The stopping store waits this long for the checkpoint worker to close its connection. */
  walCheckpointerStopTimeoutMs: 5_000,
  /** Mutations in one command: replacing the largest body (a reference per new and per old block) is the biggest. */
  commandMaxMutations: 300_000,
  /** Entries (files, directories, symlinks) one clone or rollback copies or changes: one mutation each, in one command. */
  cloneMaxEntries: 200_000,
  /** Entries one diff page returns, and entries it may visit before it returns a shorter page. */
  diffPageMaxEntries: 1_024,
  diffPageMaxVisited: 50_000,
  // File bodies: blocks, chunks, staged publishes, orphans, xattrs, snapshots, mounts and shards.
  /** Blocks in one file body: with 4 MiB blocks a 256 GiB file; larger files need larger blocks. */
  bodyMaxBlocks: 65_536,

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
  /**
   * An unlinked file a mount session holds open stays this long after the session last renewed its
   * lease; a session that dies (its client gone) leaks nothing past it.
   */
  orphanLeaseMs: 120_000,
  /** FUSE: how often a mount holding orphans renews their lease (well inside orphanLeaseMs). */
  orphanRenewIntervalMs: 30_000,
  /** Orphans one session may hold in a mount; past it an unlink of an open file frees it at once. */
  orphansPerSessionMax: 100_000,
  /** A mount session id (client-chosen, random). */
  sessionIdMaxBytes: 64,
  /** Extended attributes (Linux's limits): a name with its namespace prefix, and one value. */
  xattrNameMaxBytes: 255,
  xattrValueMaxBytes: 64 * 1024,
  /** All names and values of one inode together (listxattr's buffer is bounded likewise). */
  xattrInodeMaxBytes: 256 * 1024,
  /** Snapshot pins per mount. */
  snapshotsPerMountMax: 10_000,
  /**
   * Mount ids a store hands out over its life (never reused), and commands in one shard's log:
   * command_log is keyed by shard * 2^43 + version in one 64-bit integer (src/schema/ddl.ts).
   * 2^43 commands is 2.7 years of 100,000 commands per second in one mount.
   */
  mountIdMax: 2 ** 20 - 1,
  shardVersionMax: 2 ** 43 - 1,

  // metad maintenance and HTTP: GC passes, the command log, health and slow-op logging.
  /** Rows deleted by one GC pass per family, so GC never holds the writer for long. */
  gcPassMaxRows: 10_000,
  /** Mounts one GC pass visits per family; the next pass goes on round-robin. */
  gcMountsPerPass: 1_000,
  /** Command log entries in one log_read page. */
  logPageMaxEntries: 1_000,
  /** Command log entries kept per shard behind its clock (a replica further behind restores a checkpoint). */
  logRetainVersions: 1_000_000,

  /** metad HTTP: request headers, and a request body (read past, never kept). */
  httpHeaderMaxBytes: 16 * 1024,
  httpBodyMaxBytes: 64 * 1024,
  /** An op slower than this is logged (event "slow_op"); at most slowOpLogMaxPerSecond lines a second. */
  slowOpLogThresholdUs: 250_000,
  slowOpLogMaxPerSecond: 10,
  /** GET /readyz probes the object store at most this often, and waits this long for it. */
  readyCheckCacheMs: 2_000,
  readyCheckTimeoutMs: 3_000,
  /** GC: object deletes in flight at once: enough to hide store latency, few enough to stay polite. */
  gcDeleteConcurrency: 16,
  /** SDK: watch events buffered for a consumer that is not reading; past it the watch fails (EOVERFLOW). */
  watchBufferMaxEvents: 100_000,
  // metad connections: admission, in-flight requests, outbound budgets, authentication, tokens.
  /** metad: open RPC and HTTP connections; one more is closed at once. */
  connectionsMax: 1_024,
  /** metad: requests read from one connection and not yet answered; more get EAGAIN. */
  inFlightPerConnectionMax: 4_096,
  /** metad: sub-requests in one batch. */
  batchMaxOps: 4_096,
  /** metad: reply bytes queued for a connection that does not read them; past it, it is closed. */
  connectionOutboundMaxBytes: 256 * 1024 * 1024,
  /**
   * metad: reply bytes queued (plus those expected from requests still running) above which a
   * connection's further requests wait and its socket is not read: replies are produced no
   * faster than the client reads them.
   */
  connectionOutboundPauseBytes: 8 * 1024 * 1024,
  /** metad: requests of one connection running at once (in group commit, not yet answered). */
  connectionExecutingMax: 256,
  /**
   * metad: reply bytes one connection's running requests are expected to produce; past it (one
   * always may run) its further requests wait, so one connection adds a bounded amount of work
   * to each group commit and others' requests are not stuck behind a pile of big replies.
   */
  connectionExecutingReplyBytesMax: 1024 * 1024,
  /** metad: request bytes read from one connection and waiting to run, above which its socket is not read. */
  connectionInboundPauseBytes: 4 * 1024 * 1024,
  /** metad: reply bytes queued across all connections; past it only connections with none queued run requests, one at a time. */
  outboundTotalMaxBytes: 256 * 1024 * 1024,
  /** metad: bytes coalesced into one socket write. */
  connectionWriteChunkBytes: 256 * 1024,
  /** metad: a connection whose queued replies make no progress for this long is closed. */
  connectionOutboundStallTimeoutMs: 60_000,
  /** metad: a connection must authenticate (no token configured: send its first frame) within this. */
  authDeadlineMs: 10_000,
  /** metad: a connection with nothing in flight and no watch is closed after this long (0: never); --idle-timeout-ms. */
  connectionIdleTimeoutMs: 15 * 60_000,
  /** metad: connections not yet authenticated; one more evicts the oldest of them. */
  preAuthConnectionsMax: 256,
  /** metad: connections not yet authenticated from one peer address; one more evicts that address's oldest. */
  preAuthPerAddressMax: 32,
  /** metad: connections from one peer address; past it (none of them unauthenticated) a new one is closed. */
  connectionsPerAddressMax: 512,
  /** metad: failed authentications on one connection before it is closed. */
  authFailuresPerConnectionMax: 3,
  /** metad: a failed authentication is answered after this, doubling per recent failure from the same address. */
  authFailureDelayMs: 250,
  authFailureDelayMaxMs: 5_000,
  /** metad: how long an address's failures count towards its delay, and how many addresses are tracked. */
  authThrottleWindowMs: 60_000,
  authThrottleAddressesMax: 10_000,
  /** metad: stored access tokens, the mounts one token names, and its label. */
  tokensMax: 10_000,
  tokenMountsMax: 64,
  tokenNameMaxBytes: 128,
  /** metad: how long a connection may sit on a partial frame or request before it is closed. */
  partialFrameTimeoutMs: 30_000,
  /** metad: bytes of the shared token clients present in hello (longer ones are refused unread). */
  authTokenMaxBytes: 1_024,
  /** fsck: violations listed in one report; past it they are only counted. */
  fsckViolationsMax: 100_000,
  // SDK clients: requests, uploads, reads and read plans, checksums, block and node caches.
  /** SDK: requests one client keeps in flight on its connection before callers queue. */
  clientInFlightMax: 1_024,
  /** SDK: distinct ops a client keeps round-trip stats for (RpcClient.opStats); the rest share one entry. */
  clientOpStatsMax: 64,
  /** SDK: reconnect attempts before a request fails with ECONNRESET, and the first backoff. */
  clientReconnectMaxAttempts: 8,
  clientReconnectBackoffMs: 50,
  /** SDK: a request with no reply by then fails with ETIMEDOUT. */
  clientRequestTimeoutMs: 60_000,
  /** SDK, replicated metad: pause before asking again when no leader is elected yet (grows per attempt, to the max). */
  clientRedirectBackoffMs: 25,
  /** Low, so a client notices a new leader within this of its election (retries are tiny requests). */
  clientRedirectBackoffMaxMs: 100,
  /** SDK, several replicas: a replica that answers nothing this long while requests wait is left for the next. */
  clientReplicaStallMs: 3_000,
  /** SDK: block uploads one publish keeps in flight (default, and the most a caller may ask). */
  uploadConcurrencyDefault: 8,
  uploadConcurrencyMax: 64,
  /** SDK: object range reads one read keeps in flight. */
  readConcurrencyMax: 8,
  /** SDK: plans one read makes when the body moved (ESTALE) or its blocks were collected. */
  readReplanMaxAttempts: 8,
  /** SDK: tries of one block read that failed in a way that may pass (EIO, timeout), and the first backoff. */
  readRetryMaxAttempts: 3,
  readRetryBackoffMs: 20,
  /** metad: ranges in one read plan; a longer plan stops at a chunk boundary and says where to go on. */
  readPlanMaxRanges: 16_384,
  /** metad: chunk rows read per step while building a plan. */
  readPlanChunksPerScan: 64,
  /** SDK: body bytes one read_plan request covers; longer reads plan window by window. */
  readPlanWindowBytes: 64 * 1024 * 1024,
  /** SDK: bytes a read stream fetches per step; it holds the step in use and one read ahead. */
  readStreamWindowBytes: 8 * 1024 * 1024,
  /** SDK: how far past its window a read stream's plan reaches (windows inside it ask metad nothing). */
  readStreamPlanAheadBytes: 56 * 1024 * 1024,
  /** SDK: the most bytes one read returns (readFile, handle and inode reads): node's 2 GiB - 1 buffer limit. */
  readResultMaxBytes: 2 ** 31 - 1,
  /**
   * Bytes covered by one CRC-32 in a block's checksum list: a ranged read fetches and verifies
   * whole segments, so a 16 KiB read of a 4 MiB block reads 64 KiB, not the block.
   */
  checksumSegmentBytes: 64 * 1024,
  /** Checksums in one block's list: larger blocks get larger segments, so a manifest stays within a frame. */
  checksumSegmentsPerBlockMax: 64,
  /** SDK: reads of a range whose checksum failed, the first included, before it is EIO (a torn read is not corruption). */
  checksumReadMaxAttempts: 2,
  /** fsck --verify-data: blocks read and checked at once. */
  fsckVerifyConcurrency: 8,
  /** SDK: deletes of already-uploaded blocks in flight when a publish's upload failed. */
  uploadCleanupConcurrency: 8,
  /** SDK: block cache capacity unless connect() names one; 0 turns the cache off. */
  blockCacheDefaultBytes: 64 * 1024 * 1024,
  /** SDK: cached ranges of one object; past it the object's oldest range goes first. */
  blockCacheRangesPerObjectMax: 64,
  /** Node cache (src/sdk/node-cache): bytes on disk unless --cache-max-bytes / NOKV_CACHE_MAX_BYTES names a limit. */
  nodeCacheDefaultMaxBytes: 10 * 1024 * 1024 * 1024,
  /** Node cache: eviction removes oldest entries until the total is at most this share of the limit (in percent). */
  nodeCacheEvictTargetPercent: 90,
  /** Node cache: a fill lock (or the eviction lock) older than this is stale: its holder hung or died. */
  nodeCacheLockStaleMs: 30_000,
  /** Node cache: how often a process waiting for another's fill looks for the entry. */
  nodeCacheFillPollMs: 10,
  /** Node cache: how long a process waits for another's fill before it reads the store itself. */
  nodeCacheFillWaitMaxMs: 30_000,
  /** Node cache: a hit bumps the entry's mtime (its LRU age) at most this often per entry and process. */
  nodeCacheTouchIntervalMs: 60_000,
  /**
   * Node cache: an open entry is checked against its path (evicted? replaced?) at most this often.
   * Its bytes stay right meanwhile (an inode is never rewritten); only an evicted entry's space
   * waits for the check (bounded by nodeCacheOpenBytesMax).
   */
  nodeCacheRevalidateMs: 60_000,
  /** Node cache: entry files kept open per process (reads skip open/close); fewer when the process runs out of descriptors. */
  nodeCacheOpenFilesMax: 4096,
  /**
   * Node cache: an entry read in place (readSync) taking longer than this fixed cost plus a copy
   * at this rate went to the disk, not the page cache. When most of a window of reads did,
   * reads run in the thread pool (many at once, the event loop free) for nodeCacheThreadedReadsMs.
   */
  nodeCacheMemoryReadFixedUs: 50,
  nodeCacheMemoryReadBytesPerUs: 2_000,
  nodeCacheReadJudgeWindow: 64,
  nodeCacheThreadedReadsMs: 1_000,
  /** Node cache: bytes of the entry files kept open per process (an evicted one's space returns only when it is closed). */
  nodeCacheOpenBytesMax: 1024 * 1024 * 1024,
  /** Node cache: a process rewrites its stats file at most this often (and at exit). */
  nodeCacheStatsWriteMs: 1_000,
  /** Node cache: the running total is re-counted from disk at most this often (fills add in between). */
  nodeCacheScanIntervalMs: 10_000,
  /** Metadata cache: directories watched to keep cached attributes fresh; past it nothing more is cached. */
  metaCacheWatchedDirsMax: 256,
  /** Metadata cache: a directory listed whole (readdir-plus) on its first miss only up to this many entries. */
  metaCacheListMaxEntries: 65_536,
  /** Metadata cache: a directory watch that failed or ended is started again on a miss after this long. */
  metaCacheWatchRetryMs: 1_000,
  /** Metadata cache: plans of listed files asked for along with one plan miss (one batch request). */
  metaCachePlanPrefetch: 256,
  /** Metadata cache: attributes and read plans kept per process; past it the oldest go first. */
  metaCacheEntriesMax: 100_000,
  /** warmup: blocks fetched into the node cache at once. */
  warmupConcurrency: 16,

  // Object stores: keys, S3 requests, the file:// store.
  /** Object keys, in UTF-8 bytes: S3 allows 1,024 for the whole key, the store prefix included. */
  objectKeyMaxBytes: 896,
  objectStorePrefixMaxBytes: 127,
  /** One key component, so a key always maps to a path on a POSIX filesystem (file:// stores). */
  objectKeyComponentMaxBytes: 255,
  /** The largest single object: far above the largest block, within one S3 PUT (5 GiB). */
  objectMaxBytes: 1024 * 1024 * 1024,
  /** Keys in one list page (S3 returns at most 1,000 per request), and the default. */
  objectListPageMaxKeys: 1_000,
  objectListPageDefaultKeys: 1_000,
  /** One S3 request, and how often a failed one (timeout, 5xx, network) is tried in all. */
  s3RequestTimeoutMs: 30_000,
  s3RequestMaxAttempts: 3,
  s3RetryBackoffBaseMs: 50,
  /**
   * file:// temp files (a writer killed between write and rename) older than this are garbage:
   * far longer than any one block write takes, so GC never removes a write in progress.
   */
  tempFileMinAgeMs: 60 * 60_000,
  /** A file:// put retried when a concurrent delete pruned its freshly made directory. */
  filePutDirRaceMaxAttempts: 5,
  /**
   * file:// reads into a caller's buffer of at least this many bytes go around the page cache
   * (O_DIRECT): such a read is a readahead window whose bytes the reader above already caches
   * (the mount's page cache, the SDK's block cache), so a second cached copy only cost a copy
   * per byte and memory. Smaller reads stay buffered: repeated small reads hit the page cache.
   */
  fileDirectReadMinBytes: 1024 * 1024,
  /** The alignment O_DIRECT asks of offsets, lengths and buffers (a page covers every block device's). */
  fileDirectReadAlignBytes: 4096,

  // Wire: frames and msgpack payloads.
  /** Wire: the largest frame payload; a header announcing more is refused before its payload. */
  frameMaxBytes: 64 * 1024 * 1024,
  /** Wire: unconsumed bytes one FrameDecoder holds: a max frame plus a large socket read. */
  frameBufferMaxBytes: 96 * 1024 * 1024,
  /** Wire: nesting of arrays and maps in one payload (a publish manifest nests about 10 deep). */
  payloadMaxDepth: 64,
  /** Wire: msgpack items (keys included) in one payload; bounds decoded objects, not just bytes. */
  payloadMaxItems: 4_000_000,
  /** Wire: a request's op name and its exactly-once retry key. */
  opNameMaxBytes: 64,
  requestKeyMaxBytes: 128,

  // FUSE mount (src/fuse).
  /** FUSE: the largest WRITE the kernel sends, and the read buffer (a max write plus its headers). */
  fuseMaxWriteBytes: 1024 * 1024,
  fuseReadBufferBytes: 1024 * 1024 + 4096,
  /**
   * FUSE: a reply body up to this size is copied behind its header and written as one buffer;
   * a larger one (READ data) is written as it is, header and body in one writev, since copying
   * each MiB into a fresh buffer cost a sequential read more than the read itself.
   */
  fuseReplyCopyMaxBytes: 16 * 1024,
  /** FUSE: async requests (readahead, background writes) the kernel keeps in flight. */
  fuseMaxBackgroundRequests: 64,
  /** FUSE: how long the kernel trusts names and attributes; live mounts also invalidate on watch events. */
  fuseLiveCacheTimeoutMs: 10_000,
  fuseSnapshotCacheTimeoutMs: 60 * 60_000,
  /** FUSE: the same for directories we cannot watch (past fuseWatchedDirsMax, or metad refused). */
  fuseUnwatchedCacheTimeoutMs: 1_000,
  /** FUSE: directories with a watch subscription at once; past it, entries expire by timeout only. */
  fuseWatchedDirsMax: 10_000,
  /**
   * FUSE: a file created for writing gets its first body prepared with the create; the prepare
   * serves a publish until this long after (later, the publish prepares its own). Every prepare
   * of the mount lives this long: blocks streamed out while a large file is written wait under it
   * for the publish. Unused ones expire at metad. The mount keeps at most fusePreparedMax.
   */
  fusePreparedExpiryMs: 60 * 60_000,
  fusePreparedMarginMs: 30_000,
  fusePreparedMax: 65_536,
  /**
   * FUSE: how long close(2) and fsync(2) keep trying to publish while metad cannot be reached
   * (restart, failover), and the backoff between tries. Past it they fail with EIO; they never
   * report success for bytes that were not published.
   */
  fusePublishRetryMaxMs: 60_000,
  fusePublishRetryBackoffMs: 100,
  fusePublishRetryBackoffMaxMs: 2_000,
  /** FUSE: names of fully known directories kept to answer absent-name lookups locally, all together. */
  fuseListedNamesMax: 1_000_000,
  /** FUSE: names this mount removed from watched directories it has not listed, kept as known absent, all together. */
  fuseRemovedNamesMax: 10_000,
  /** FUSE: a directory whose lookups miss is listed in the background when it holds at most this many names. */
  fuseListingNamesMax: 10_000,
  /** FUSE: small files of a listing fetched ahead of a program reading them in order. */
  fusePrefetchFilesAhead: 32,
  /**
   * FUSE: a file opened within this many listing places of the furthest one reached still counts
   * as reading in order (parallel readers finish out of step); further off, nothing is fetched.
   */
  fusePrefetchOrderSlackFiles: 4,
  /** FUSE: bytes of small files fetched ahead and held until read, all directories together. */
  fusePrefetchHeldMaxBytes: 8 * 1024 * 1024,
  /** FUSE: files up to this size are fetched ahead (one read each). */
  fusePrefetchFileMaxBytes: 256 * 1024,
  /** FUSE: small files the mount published, kept to answer reads of them after the last close. */
  fusePublishedKeptFileMaxBytes: 256 * 1024,
  fusePublishedKeptMaxBytes: 16 * 1024 * 1024,
  /** FUSE: listed files whose listing order is kept for fetching ahead, all directories together. */
  fusePrefetchListedMax: 100_000,
  /** FUSE: listing pages whose attribute names are fetched together on the first question about one of them. */
  fuseXattrPagesKept: 64,
  /** FUSE: the mount's own recent commands remembered to recognize their watch events. */
  fuseOwnCommitsKept: 8_192,
  /** FUSE: background listings (and directories remembered as too large for one) at a time. */
  fuseListingReadsMax: 64,
  /** FUSE: invalidations waiting for the kernel; past it they are dropped and timeouts take over. */
  fuseNotifyQueueMax: 65_536,
  /**
   * FUSE: the block size of bodies the mount writes (a file that already has blocks keeps its
   * own): an fsync uploads the blocks a write touched, so smaller blocks make small writes cheap.
   */
  fuseWriteBlockBytes: 256 * 1024,
  /**
   * FUSE: the block size of a new (or O_TRUNC) file whose first this-many bytes are written whole
   * before its first flush: a copy, a download, a checkpoint. Wide blocks read back at disk speed
   * (a 256 KiB object per read caps a cold sequential read well below it); small writes to such
   * a file later rebuild a whole wide block.
   */
  fuseWideBlockBytes: 4 * 1024 * 1024,
  /**
   * FUSE: one open file's unpublished bytes held in memory. Fully written blocks stream out to
   * the object store as they fill; past this the mount publishes what it holds.
   */
  fuseOpenFileBufferedMaxBytes: 32 * 1024 * 1024,
  /** file:// store: puts up to this size (without "full" durability) are synchronous writes, not a thread-pool round trip. */
  fileStoreSyncPutMaxBytes: 256 * 1024,
  /** FUSE: bytes of its own last-published blocks one open file keeps, to rebuild them without reading them back. */
  fuseCleanBlocksCachedMaxBytes: 8 * 1024 * 1024,
  /**
   * FUSE: the mount's SDK block cache. The kernel's page cache holds what files read (they open
   * with FOPEN_KEEP_CACHE), so this only keeps the verified checksum segments around small
   * scattered reads (SQLite's pages) rather than a second copy of everything read.
   */
  fuseBlockCacheBytes: 8 * 1024 * 1024,
  /** FUSE: blocks one open file streams out (or rebuilds for a publish) at once. */
  fuseBlockUploadsMax: 8,
  /** FUSE: bytes of blocks one open file streams out at once (fewer uploads at a time of wide blocks). */
  fuseBlockUploadsMaxBytes: 16 * 1024 * 1024,
  /** FUSE: bytes written (or published) between garbage collections the mount asks for. */
  fuseGcAfterWrittenBytes: 16 * 1024 * 1024,
  /** FUSE: bytes fetched per read of a file being read sequentially (one default block). */
  fuseReadaheadBytes: 4 * 1024 * 1024,
  /**
   * FUSE: how far past its window a sequential reader's plan reaches (up to readPlanWindowBytes in
   * all): the windows inside it are read with no plan from metad.
   */
  fusePlanAheadBytes: 60 * 1024 * 1024,
  /** FUSE: a mount that answered no request for this long after answering some runs one full garbage collection. */
  fuseIdleCollectIntervalMs: 1_000,
  /** FUSE: readahead windows a sequential reader keeps in flight ahead of itself. */
  fuseReadaheadWindows: 4,
  /** FUSE: free WRITE request buffers (one read buffer each) kept for the next writes. */
  fuseWriteRequestBuffersKept: 8,
  /** FUSE: requests read from the device in one turn of the event loop before other events get theirs. */
  fuseRequestsPerTurnMax: 64,
  /** FUSE: how often the device is read without a SIGIO (a backstop: a lost signal delays a request at most this long). */
  fuseDevicePollMs: 50,
  /** FUSE: free block buffers of each size (small, wide) a mount keeps for the next file written (see buffer-pool.ts). */
  fuseWriteBufferPoolBytes: 16 * 1024 * 1024,
  /** FUSE: free readahead window buffers a mount keeps for reuse (windows in use are not counted). */
  fuseReadaheadPoolBytes: 32 * 1024 * 1024,

  // Replicated metad (src/cluster): etcd, shard logs, leases, replicas, checkpoints.
  /** etcd: one request (a log append is one), etcd's default --max-request-bytes (1.5 MiB). */
  etcdRequestMaxBytes: 1_572_864,
  /** etcd: operations in one transaction (--max-txn-ops default). */
  etcdTxnMaxOps: 128,
  /** etcd: room left in a request for the entry's key, the fencing compares and framing. */
  etcdRequestHeadroomBytes: 16 * 1024,
  /** etcd: one request to one member before the next member is tried. */
  etcdRequestTimeoutMs: 1_500,
  /** etcd: how long one call keeps trying members (rides through an etcd election, ~1-2 s). */
  etcdRequestDeadlineMs: 4_000,
  /** etcd: pause after a round in which no member answered, doubling up to the max. */
  etcdRetryBackoffMs: 50,
  etcdRetryBackoffMaxMs: 400,
  /** Shard log: bytes of one entry's value (commands packed up to it; a bigger group is split). */
  shardEntryMaxBytes: 1_572_864 - 16 * 1024,
  /** Shard log: one command; past an entry's size it is written as fragments of shardEntryMaxBytes. */
  shardCommandMaxBytes: 64 * 1024 * 1024,
  /** Shard log: commands (positions) in one entry. */
  shardEntryMaxCommands: 4_096,
  /** Shard log: fragments of a big command fetched by one range read. */
  shardFragmentsPerRead: 4,
  /** Shard log: entries fetched by one range read while catching up. */
  shardReadPageEntries: 32,
  /** Leadership: the leader key's lease, in whole seconds (etcd's unit; it raises anything below ~1.5 s). */
  leaderLeaseTtlS: 2,
  /** Leadership: lease refresh period; a refresh not answered by the TTL ends leadership. */
  leaderKeepAliveIntervalMs: 400,
  /** Replica: how often a follower re-reads leader and log besides its watch (a stalled watch is silent). */
  replicaPollIntervalMs: 500,
  /** Replica: how long a stop waits for its loops and lease revoke before closing anyway. */
  replicaStopMaxMs: 5_000,
  /** Replica: log positions a replica may trail its shard's log by and still report ready. */
  replicaReadyLagMaxPositions: 10_000,
  /** Replica: not ready once it has not read its log for this long (etcd unreachable: its lag is unknown). */
  replicaReadyStaleMs: 5_000,
  /** Replica: how often a replica publishes its applied positions (status, lag). */
  replicaReportIntervalMs: 1_000,
  /** Replica: how long a replica not preferred for a shard (--prefer-lead) lets it stay leaderless before campaigning. */
  replicaCampaignDeferMs: 600,
  /** metad cluster: starts tried when joining finds the database behind the trimmed log (each restores a checkpoint). */
  clusterJoinAttemptsMax: 3,
  /** metad cluster: how long a write that creates a mount waits to lead the new mount's shard. */
  clusterNewShardLeadTimeoutMs: 5_000,
  /** Checkpoints: default period, how many are kept (the log is trimmed behind the oldest), part size. */
  checkpointIntervalDefaultMs: 10 * 60_000,
  checkpointRetainCount: 2,
  checkpointPartBytes: 64 * 1024 * 1024,
  /** etcd maintenance: compaction keeps one period of history; defragmentation goes member by member. */
  etcdCompactIntervalMs: 5 * 60_000,
  etcdDefragIntervalMs: 60 * 60_000,

  // CSI driver (src/csi).
  /** CSI: the spec's bound on volume and snapshot ids (and names), in bytes. */
  csiIdMaxBytes: 128,
  /** CSI: a name kept as is for a directory, registry entry or mount; a longer or unusual one is hashed. */
  csiPlainNameMaxBytes: 64,
  /** CSI: how long NodeStageVolume waits for its FUSE mount process to have mounted. */
  csiMountReadyTimeoutMs: 20_000,
  /** CSI: how long NodeUnstageVolume waits for a mount process to exit after SIGTERM before SIGKILL. */
  csiMountExitTimeoutMs: 5_000,
  /** CSI: how long a staged FUSE mount has to answer a stat before it counts as dead. */
  csiMountCheckTimeoutMs: 5_000,
  /** CSI: how long Probe waits for metad before it answers "not ready". */
  csiProbeTimeoutMs: 2_000,
  /** CSI: metad connections the driver keeps open (one per metad, token and NoKV mount in use). */
  csiMetadClientsMax: 64,
  /** CSI: requests to metad made for one CSI call wait at most this long. */
  csiMetadRequestTimeoutMs: 20_000,
  /** CSI: entries NodeGetVolumeStats counts in a volume; past it the figures are the count so far. */
  csiStatsMaxEntries: 100_000,
  /** CSI: ListSnapshots entries in one reply when the CO gives no max_entries. */
  csiListSnapshotsDefaultEntries: 1_000,
  /** CSI: bytes of a mount process's log the driver quotes when the mount failed. */
  csiMountLogTailBytes: 2_000,
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
// Replacing a body moves a reference off every old block and onto every new one, and writes every chunk of both.
assertLimit(
  LIMITS.commandMaxMutations >= 2 * LIMITS.bodyMaxBlocks + 2 * Math.ceil((LIMITS.bodyMaxBlocks * LIMITS.blockSizeMaxBytes) / LIMITS.chunkSizeBytes) + 64,
  "a body replace does not fit one command",
);
// A clone is one mutation per entry plus the destination's parent; a rollback at most two per entry.
assertLimit(LIMITS.commandMaxMutations >= LIMITS.cloneMaxEntries + 64, "a clone of the most entries does not fit one command");
assertLimit(LIMITS.diffPageMaxEntries <= LIMITS.diffPageMaxVisited, "diff page above the entries it may visit");
assertLimit(LIMITS.batchMaxOps <= LIMITS.inFlightPerConnectionMax, "one batch above the in-flight limit");
assertLimit(LIMITS.connectionOutboundMaxBytes >= 2 * LIMITS.frameMaxBytes, "outbound buffer below two max frames");
assertLimit(LIMITS.connectionOutboundPauseBytes < LIMITS.connectionOutboundMaxBytes, "outbound pause above the outbound cut-off");
assertLimit(LIMITS.connectionExecutingMax <= LIMITS.inFlightPerConnectionMax, "executing requests above the in-flight limit");
assertLimit(LIMITS.connectionExecutingReplyBytesMax <= LIMITS.connectionOutboundPauseBytes, "running replies above the outbound pause");
assertLimit(LIMITS.outboundTotalMaxBytes >= LIMITS.connectionOutboundPauseBytes, "total outbound budget below one connection's");
assertLimit(LIMITS.preAuthConnectionsMax < LIMITS.connectionsMax, "unauthenticated connections could take every slot");
assertLimit(LIMITS.preAuthPerAddressMax <= LIMITS.preAuthConnectionsMax, "per-address pre-auth cap above the pre-auth budget");
assertLimit(LIMITS.authFailureDelayMs <= LIMITS.authFailureDelayMaxMs, "auth failure delay above its max");
assertLimit(LIMITS.authFailureDelayMaxMs < LIMITS.authDeadlineMs, "auth failure delay outlasts the auth deadline");
assertLimit(LIMITS.objectKeyMaxBytes + 1 + LIMITS.objectStorePrefixMaxBytes <= 1024, "object key above the S3 key limit");
assertLimit(LIMITS.objectMaxBytes >= LIMITS.blockSizeMaxBytes, "largest block above the largest object");
assertLimit(LIMITS.objectListPageDefaultKeys <= LIMITS.objectListPageMaxKeys, "list default page above max");
assertLimit(LIMITS.frameBufferMaxBytes >= LIMITS.frameMaxBytes + 1024 * 1024, "frame buffer leaves no room for a read");
assertLimit(LIMITS.frameMaxBytes < 2 ** 32, "frame payload length does not fit the u32 header field");
assertLimit(LIMITS.uploadConcurrencyDefault <= LIMITS.uploadConcurrencyMax, "upload concurrency default above max");
assertLimit(LIMITS.readStreamWindowBytes <= LIMITS.readPlanWindowBytes, "read stream window above the plan window");
assertLimit(LIMITS.readPlanMaxRanges >= LIMITS.chunkSizeBytes / LIMITS.blockSizeMinBytes, "one chunk of the smallest blocks above a plan's ranges");
// A plan of the smallest blocks: one range per block, each a map of 4 fields (9 items) and a key.
// With its checksum (a map of 4 fields, one CRC-32 segment per small block): 9 items, ~80 bytes more.
assertLimit((LIMITS.readPlanWindowBytes / LIMITS.blockSizeMinBytes) * (LIMITS.objectKeyMaxBytes + 64 + 96) <= LIMITS.frameMaxBytes, "read plan window reply above a frame");
assertLimit((LIMITS.readPlanWindowBytes / LIMITS.blockSizeMinBytes) * 18 <= LIMITS.payloadMaxItems, "read plan window reply above the payload items");
assertLimit(LIMITS.checksumSegmentBytes <= LIMITS.blockSizeDefaultBytes && LIMITS.blockSizeDefaultBytes % LIMITS.checksumSegmentBytes === 0, "default block not whole checksum segments");
// A body's checksums (8 hex digits each) take at most half a publish frame.
assertLimit(LIMITS.bodyMaxBlocks * LIMITS.checksumSegmentsPerBlockMax * 8 <= LIMITS.frameMaxBytes / 2, "a body's checksums above half a frame");
assertLimit(LIMITS.nodeCacheEvictTargetPercent > 0 && LIMITS.nodeCacheEvictTargetPercent < 100, "node cache eviction target not a share below the limit");
assertLimit(LIMITS.metaCachePlanPrefetch < LIMITS.batchMaxOps, "a plan prefetch above one batch");
assertLimit(LIMITS.nodeCacheFillPollMs < LIMITS.nodeCacheFillWaitMaxMs, "node cache poll above its wait");
assertLimit(LIMITS.checksumReadMaxAttempts >= 2, "a checksum mismatch must be read again once before it is EIO");
assertLimit(LIMITS.fuseReadBufferBytes >= LIMITS.fuseMaxWriteBytes + 4096, "fuse read buffer below a max write plus headers");
assertLimit(LIMITS.fuseMaxWriteBytes % 4096 === 0 && LIMITS.fuseMaxWriteBytes / 4096 <= 0xffff, "fuse max write not whole pages within max_pages");
assertLimit(
  LIMITS.fuseOpenFileBufferedMaxBytes >= 2 * LIMITS.fuseMaxWriteBytes + LIMITS.fuseBlockUploadsMaxBytes + LIMITS.fuseWideBlockBytes,
  "fuse open file memory below two writes, the uploads in flight and a wide block waiting to be cut",
);
assertLimit(LIMITS.fuseBlockUploadsMaxBytes >= LIMITS.fuseBlockUploadsMax * LIMITS.fuseWriteBlockBytes && LIMITS.fuseBlockUploadsMaxBytes >= LIMITS.fuseWideBlockBytes, "fuse upload bytes below the uploads of small blocks or one wide block");
assertLimit(
  LIMITS.fuseWideBlockBytes % LIMITS.fuseWriteBlockBytes === 0 && LIMITS.fuseWideBlockBytes <= LIMITS.blockSizeMaxBytes && LIMITS.chunkSizeBytes % LIMITS.fuseWideBlockBytes === 0,
  "fuse wide block not whole small blocks, or not a valid block size",
);
assertLimit(LIMITS.fuseWriteBlockBytes >= LIMITS.blockSizeMinBytes && LIMITS.fuseWriteBlockBytes <= LIMITS.blockSizeMaxBytes && LIMITS.chunkSizeBytes % LIMITS.fuseWriteBlockBytes === 0, "fuse write block not a valid block size");
assertLimit(LIMITS.fusePreparedExpiryMs <= LIMITS.stagedExpiryMaxMs, "fuse prepare expiry above metad's largest");
assertLimit(LIMITS.fuseReadaheadBytes >= LIMITS.fuseMaxWriteBytes, "fuse readahead below one kernel read");
assertLimit(LIMITS.fuseUnwatchedCacheTimeoutMs <= LIMITS.fuseLiveCacheTimeoutMs, "fuse unwatched cache timeout above the watched one");
assertLimit(LIMITS.orphanRenewIntervalMs * 3 <= LIMITS.orphanLeaseMs, "orphan lease renewed too rarely to survive a missed renew");
assertLimit(LIMITS.xattrValueMaxBytes <= LIMITS.xattrInodeMaxBytes, "xattr value above an inode's xattr budget");
// A publish manifest of commandMaxMutations blocks (each a map of 4 fields: 9 items) must fit.
assertLimit(LIMITS.payloadMaxItems >= 9 * LIMITS.commandMaxMutations, "payload items below a max manifest");
assertLimit(LIMITS.shardEntryMaxBytes + LIMITS.etcdRequestHeadroomBytes <= LIMITS.etcdRequestMaxBytes, "shard entry above an etcd request");
assertLimit(LIMITS.leaderKeepAliveIntervalMs * 3 <= LIMITS.leaderLeaseTtlS * 1000, "leader lease refreshed fewer than three times per TTL");
assertLimit(LIMITS.checkpointPartBytes <= LIMITS.objectMaxBytes, "checkpoint part above the largest object");
assertLimit(LIMITS.checkpointRetainCount >= 1, "no checkpoint kept to trim the log behind");
assertLimit(LIMITS.shardCommandMaxBytes <= LIMITS.frameMaxBytes, "replicated command above a wire frame");
