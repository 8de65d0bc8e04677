"""The node-local block cache (issue #19): whole blocks in a directory that every NoKV process on
the machine (Python and TypeScript) shares, so a block is downloaded once per node.

Layout under CACHE_DIR/v1 (the TypeScript SDK uses the same one):
  blocks/<h[0:2]>/<h[2:]>  a block's whole bytes; h = sha256(storeId + "\\n" + objectKey) in hex
  tmp/<h>.<pid>.<hex>      a fill in progress, renamed onto its entry when complete
  locks/<h>                the one process downloading the block (O_EXCL; holds its pid)
  evict.lock               the one process evicting (O_EXCL; holds its pid)
  stats/<pid>-<startMs>.json  each process's counters

Blocks are immutable (a rewrite is a new generation under new keys), so an entry is never stale;
it can only be damaged, and every read is verified against the block's CRC-32 segments (blocks
without checksums: against the size) before a byte is returned. A damaged entry is deleted and
the block fetched again. A lock whose pid is dead or that is older than LOCK_STALE_S is removed.
"""

import atexit
import errno
import hashlib
import json
import os
import re
import secrets
import threading
import time

from ._errors import os_error
from ._objects import CRC_HEX_CHARS, pread_fully, segment_window, verify_segments

DEFAULT_MAX_BYTES = 10 * 1024**3
LOCK_STALE_S = 30.0
FILL_WAIT_MAX_S = 30.0  # a reader waiting for another process's fill gives up and reads the store itself
POLL_MIN_S = 0.005
POLL_MAX_S = 0.02
RECENCY_BUMP_S = 60.0
STATS_INTERVAL_S = 1.0
EVICT_TARGET = 0.9
SCAN_INTERVAL_S = 10.0  # the total on disk is counted after a fill at most this often (or after 5% of the limit)
TMP_STALE_S = 3600.0
TRUSTED_ENTRIES_MAX = 100_000  # bounds the per-process memo of verified segments
_UNITS = {"": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3, "t": 1024**4,
          "tib": 1024**4}
STAT_FIELDS = ("hits", "misses", "bytesFromCache", "bytesFilled", "evictions", "corrupt")


def entry_hash(store_id, key):
    return hashlib.sha256((store_id + "\n" + key).encode("utf-8")).hexdigest()


def parse_byte_size(value, what="size"):
    """10737418240, "10GiB", "512M", "4 k" (binary units, as the TypeScript SDK reads them) as bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        bytes_ = value
    else:
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$", str(value))
        unit = _UNITS.get(match.group(2).lower()) if match else None
        bytes_ = int(float(match.group(1)) * unit) if unit is not None else -1
    if bytes_ <= 0:
        raise os_error(errno.EINVAL, "%s %r is not a positive byte count (e.g. 10GiB, 512MiB, 1048576)" % (what, value))
    return bytes_


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now_ms():
    return int(time.time() * 1000)


def _unlink(path):
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


class _Corrupt(Exception):
    pass


class NodeCache:
    """One per cache directory per process (see `node_cache`); safe across threads and forks."""

    def __init__(self, directory, max_bytes=DEFAULT_MAX_BYTES):
        self.root = os.path.join(os.path.abspath(directory), "v1")
        self.max_bytes = int(max_bytes)
        for sub in ("blocks", "tmp", "locks", "stats"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        self._reset()
        atexit.register(self.flush_stats)

    def _reset(self):
        """Per-process state (also in a forked child, which is a new process with its own stats)."""
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._start_ms = _now_ms()
        self.stats = dict.fromkeys(STAT_FIELDS, 0)
        self._stats_written = 0.0
        self._stats_timer = None
        self._trusted = {}  # h -> (st_ino, st_size, set of verified segment indices)
        self._bumped = {}  # h -> monotonic time of our last mtime bump
        self._filled_since_scan = 0
        self._last_scan = 0.0

    def _check_fork(self):
        if self._pid != os.getpid():
            self._reset()

    # -- paths

    def entry_path(self, h):
        return os.path.join(self.root, "blocks", h[:2], h[2:])

    def _lock_path(self, h):
        return os.path.join(self.root, "locks", h)

    @property
    def stats_path(self):
        return os.path.join(self.root, "stats", "%d-%d.json" % (self._pid, self._start_ms))

    # -- reads

    def read(self, store, store_id, r):
        """The verified bytes of read-plan range `r` (key, objectOffset, lengthBytes, checksum?):
        from the entry when there is a good one, else the whole block from `store`, kept."""
        self._check_fork()
        h = entry_hash(store_id, r["key"])
        for _attempt in range(3):
            data = self._read_entry(h, r)
            if data is not None:
                return data
            data = self._fill(store, h, r)
            if data is not None:
                return data
        self._count(misses=1)
        return _fetch_range(store, r)  # the entry keeps going bad: serve from the store, uncached

    def _read_entry(self, h, r):
        path = self.entry_path(h)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            data = self._verified_pread(fd, st, h, r)
        except _Corrupt:
            # Delete it unless another process has replaced it meanwhile.
            try:
                if os.stat(path).st_ino == st.st_ino:
                    _unlink(path)
            except FileNotFoundError:
                pass
            with self._lock:
                self._trusted.pop(h, None)
            self._count(corrupt=1)
            return None
        finally:
            os.close(fd)
        self._count(hits=1, bytesFromCache=len(data))
        self._bump(h, path, st.st_mtime)
        return data

    def _verified_pread(self, fd, st, h, r):
        offset, length, checksum = r["objectOffset"], r["lengthBytes"], r.get("checksum")
        if not checksum:
            if st.st_size < offset + length:
                raise _Corrupt()
            return pread_fully(fd, length, offset)
        if st.st_size != checksum["objectSizeBytes"]:
            raise _Corrupt()
        window_offset, window_length = segment_window(checksum)
        first = checksum["firstSegment"]
        segments = range(first, first + len(checksum["crc32"]) // CRC_HEX_CHARS)
        with self._lock:
            trusted = self._trusted.get(h)
            known = trusted[2] if trusted and trusted[:2] == (st.st_ino, st.st_size) else set()
            all_known = all(s in known for s in segments)
        if all_known:
            return pread_fully(fd, length, offset)
        window = pread_fully(fd, window_length, window_offset)
        try:
            verify_segments(h, checksum, window)
        except OSError:
            raise _Corrupt()
        self._trust(h, st, segments)
        return window[offset - window_offset : offset - window_offset + length]

    def _trust(self, h, st, segments):
        with self._lock:
            trusted = self._trusted.get(h)
            if not trusted or trusted[:2] != (st.st_ino, st.st_size):
                if len(self._trusted) >= TRUSTED_ENTRIES_MAX:
                    self._trusted.clear()
                trusted = self._trusted[h] = (st.st_ino, st.st_size, set())
            trusted[2].update(segments)

    def _bump(self, h, path, mtime):
        """Marks the entry recently used (eviction goes oldest mtime first), sparingly."""
        if time.time() - mtime < RECENCY_BUMP_S:
            return  # filled or bumped lately, by us or another process
        now = time.monotonic()
        with self._lock:
            last = self._bumped.get(h)
            if last is not None and now - last < RECENCY_BUMP_S:
                return
            if len(self._bumped) >= TRUSTED_ENTRIES_MAX:
                self._bumped.clear()
            self._bumped[h] = now
        try:
            os.utime(path)
        except OSError:
            pass

    # -- fills

    def _fill(self, store, h, r):
        """Downloads the whole block into its entry, holding its lock, and returns the range; or
        waits for the process holding the lock and returns None (the caller reads the entry)."""
        lock = self._lock_path(h)
        deadline = time.monotonic() + FILL_WAIT_MAX_S
        poll = POLL_MIN_S
        while True:
            try:
                if _try_lock(lock):
                    break
            except OSError:
                # An unwritable or full cache directory costs the cache, never the read.
                self._count(misses=1)
                return _fetch_range(store, r)
            if os.path.exists(self.entry_path(h)):
                return None
            if time.monotonic() > deadline:
                self._count(misses=1)
                return _fetch_range(store, r)
            time.sleep(poll)
            poll = min(POLL_MAX_S, poll * 2)
        try:
            if os.path.exists(self.entry_path(h)):
                return None  # filled between our look and our lock
            data = _fetch_whole(store, r)
            installed = len(data) <= self.max_bytes and self._install(h, data, r)
        finally:
            _unlink(lock)
        self._count(misses=1, bytesFilled=len(data) if installed else 0)
        if installed:
            self._filled_since_scan += len(data)
            self._maybe_evict()
        offset, length = r["objectOffset"], r["lengthBytes"]
        return data[offset : offset + length]

    def _install(self, h, data, r):
        temp = os.path.join(self.root, "tmp", "%s.%d.%s" % (h, os.getpid(), secrets.token_hex(4)))
        try:
            # Made again each time: `nokv-fs cache clear` may have removed them under us.
            os.makedirs(os.path.join(self.root, "blocks", h[:2]), exist_ok=True)
            os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)
            with open(temp, "xb") as f:
                f.write(data)
                st = os.fstat(f.fileno())
            os.rename(temp, self.entry_path(h))
        except OSError:
            _unlink(temp)
            return False  # a full or unwritable cache never fails a read
        checksum = r.get("checksum")
        if checksum:
            first = checksum["firstSegment"]
            self._trust(h, st, range(first, first + len(checksum["crc32"]) // CRC_HEX_CHARS))
        return True

    # -- eviction

    def _maybe_evict(self):
        now = time.monotonic()
        if self._filled_since_scan * 20 < self.max_bytes and now - self._last_scan < SCAN_INTERVAL_S:
            return
        self._filled_since_scan = 0
        self._last_scan = now
        total, _ = self._scan(with_entries=False)
        if total > self.max_bytes:
            self.evict()

    def _scan(self, with_entries):
        total, entries = 0, []
        blocks = os.path.join(self.root, "blocks")
        try:
            shards = list(os.scandir(blocks))
        except FileNotFoundError:
            return 0, []
        for shard in shards:
            try:
                for e in os.scandir(shard.path):
                    try:
                        st = e.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    total += st.st_size
                    if with_entries:
                        entries.append((st.st_mtime_ns, st.st_size, e.path))
            except (FileNotFoundError, NotADirectoryError):
                continue
        return total, entries

    def evict(self):
        """Removes least recently used entries down to EVICT_TARGET of the limit, unless another
        process is already at it. Returns how many it removed."""
        self._check_fork()
        lock = os.path.join(self.root, "evict.lock")
        if not _try_lock(lock):
            return 0
        removed = 0
        try:
            total, entries = self._scan(with_entries=True)
            entries.sort()
            target = self.max_bytes * EVICT_TARGET
            for _mtime, size, path in entries:
                if total <= target:
                    break
                if _unlink(path):
                    removed += 1
                total -= size
            self._sweep_tmp()
        finally:
            _unlink(lock)
        if removed:
            self._count(evictions=removed)
        return removed

    def _sweep_tmp(self):
        """Fills of crashed processes left their temp files behind."""
        cutoff = time.time() - TMP_STALE_S
        try:
            for e in os.scandir(os.path.join(self.root, "tmp")):
                try:
                    if e.stat().st_mtime < cutoff:
                        _unlink(e.path)
                except FileNotFoundError:
                    pass
        except FileNotFoundError:
            pass

    # -- stats

    def _count(self, **deltas):
        with self._lock:
            for name, delta in deltas.items():
                self.stats[name] += delta
            due = time.monotonic() - self._stats_written >= STATS_INTERVAL_S
            if not due and self._stats_timer is None:
                # Written at most once a second, but never left unwritten for longer than that.
                timer = threading.Timer(STATS_INTERVAL_S, self.flush_stats)
                timer.daemon = True
                timer.start()
                self._stats_timer = timer
        if due:
            self.flush_stats()

    def flush_stats(self):
        if self._pid != os.getpid():
            return  # a forked child's inherited copy; the parent writes its own
        with self._lock:
            if self._stats_timer is not None:
                self._stats_timer.cancel()
                self._stats_timer = None
            self._stats_written = time.monotonic()
            doc = dict(self.stats, updatedMs=_now_ms())
        if not any(doc[name] for name in STAT_FIELDS):
            return
        path = self.stats_path
        temp = os.path.join(self.root, "tmp", "stats-%d.%d.%s" % (self._pid, self._pid, secrets.token_hex(4)))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.makedirs(os.path.dirname(temp), exist_ok=True)
            with open(temp, "w") as f:
                json.dump(doc, f)
            os.rename(temp, path)
        except OSError:
            _unlink(temp)


def _try_lock(path):
    """Creates the lock file O_EXCL holding our pid; removes a stale one (dead pid, or older than
    LOCK_STALE_S) and tries again once. True when we hold it."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _lock_stale(path):
                return False
            _unlink(path)
            continue
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            continue
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)
        return True
    return False


def _lock_stale(path):
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            text = f.read().strip()
    except FileNotFoundError:
        return False
    if time.time() - st.st_mtime > LOCK_STALE_S:
        return True
    if not text:
        return False  # just created, its pid not yet written
    try:
        return not _pid_alive(int(text))
    except ValueError:
        return True




def _fetch_range(store, r):
    """The range straight from the store, verified (the path without a node cache)."""
    offset, length, checksum = r["objectOffset"], r["lengthBytes"], r.get("checksum")
    if not checksum:
        return store.get(r["key"], offset, length)
    window_offset, window_length = segment_window(checksum)
    data = store.get(r["key"], window_offset, window_length)
    verify_segments(r["key"], checksum, data)
    return data[offset - window_offset : offset - window_offset + length]


def _fetch_whole(store, r):
    """The whole block, its range's segments verified (read twice before EIO: a torn read is not
    corruption). Later reads verify their own segments as they hit."""
    key, checksum = r["key"], r.get("checksum")
    for attempt in (1, 2):
        if checksum:
            data = store.get(key, 0, checksum["objectSizeBytes"])
            window_offset, window_length = segment_window(checksum)
            try:
                if len(data) != checksum["objectSizeBytes"]:
                    raise os_error(errno.EIO, "object %r is truncated: %d of %d bytes" % (key, len(data), checksum["objectSizeBytes"]), key)
                verify_segments(key, checksum, data[window_offset : window_offset + window_length])
            except OSError:
                if attempt == 2:
                    raise
                continue
            return data
        data = store.get_whole(key)
        if len(data) >= r["objectOffset"] + r["lengthBytes"]:
            return data
        if attempt == 2:
            raise os_error(errno.EIO, "object %r holds %d bytes, the read needs %d" % (key, len(data), r["objectOffset"] + r["lengthBytes"]), key)


_caches = {}
_caches_lock = threading.Lock()


def node_cache(directory=None, max_bytes=None):
    """The process's NodeCache for `directory` (default $NOKV_CACHE_DIR), or None when no cache
    directory is configured. `max_bytes` (bytes, or "10GiB"/"512M") defaults to
    $NOKV_CACHE_MAX_BYTES, else 10 GiB. One directory has one NodeCache (one stats file) per
    process; the latest limit given for it applies."""
    if directory is None:
        directory = os.environ.get("NOKV_CACHE_DIR") or None
    if not directory:
        return None
    if max_bytes is not None:
        max_bytes = parse_byte_size(max_bytes, "cache_max_bytes")
    elif os.environ.get("NOKV_CACHE_MAX_BYTES"):
        max_bytes = parse_byte_size(os.environ["NOKV_CACHE_MAX_BYTES"], "NOKV_CACHE_MAX_BYTES")
    else:
        max_bytes = DEFAULT_MAX_BYTES
    key = os.path.abspath(directory)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = NodeCache(key, max_bytes)
        else:
            cache.max_bytes = max_bytes
        return cache


def _after_fork_in_child():
    global _caches_lock
    _caches_lock = threading.Lock()
    for cache in _caches.values():
        cache._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["NodeCache", "node_cache", "entry_hash", "parse_byte_size", "DEFAULT_MAX_BYTES", "STAT_FIELDS"]
