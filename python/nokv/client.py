"""The NoKV client: the path API, batch, snapshots, watch, and file bodies read and written
straight against the object store (read plans in, prepare/upload/publish out)."""

import errno
import hashlib
import os
import posixpath
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ._errors import os_error, wire_error
from ._objects import block_checksum, open_store, segment_size_for, segment_window, verify_segments
from ._node_cache import node_cache
from ._wire import Connection
from .watch import WatchEvent, Watcher

TYPES = ("file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket")
DEFAULT_PORT = 7777
BATCH_MAX_OPS = 1024
READDIR_PAGE = 1024
READ_PLAN_WINDOW_BYTES = 64 * 1024 * 1024
UPLOAD_CONCURRENCY = 4
FETCH_THREADS = 16
PRODUCER = "nokv-python"


class Stat:
    """Inode attributes (the 14-element wire tuple; special files add rdev as a 15th, sparse files
    rdev and hole bytes as a 16th) with a name when they came from a listing. ``blocks`` is
    st_blocks: 512-byte units of the bytes blocks hold (holes are not counted)."""

    __slots__ = ("name", "inode", "version", "type", "mode", "uid", "gid", "size", "generation", "nlink", "parent",
                 "atime_ns", "mtime_ns", "ctime_ns", "target", "rdev", "hole_bytes")

    def __init__(self, attrs, name=None):
        if not isinstance(attrs, list) or len(attrs) not in (14, 15, 16):
            raise os_error(errno.EPROTO, "inode attributes must be a 14-element array (15 with rdev, 16 with hole bytes)")
        (self.inode, self.version, type_code, self.mode, self.uid, self.gid, self.size, self.generation, self.nlink,
         self.parent, self.atime_ns, self.mtime_ns, self.ctime_ns, self.target) = attrs[:14]
        self.rdev = attrs[14] if len(attrs) >= 15 else 0
        self.hole_bytes = attrs[15] if len(attrs) == 16 else 0
        if not isinstance(type_code, int) or not 0 <= type_code < len(TYPES):
            raise os_error(errno.EPROTO, "unknown inode type code %r" % (type_code,))
        self.type = TYPES[type_code]
        self.name = name

    @property
    def blocks(self):
        return -(-max(0, self.size - self.hole_bytes) // 512)

    def is_dir(self):
        return self.type == "dir"

    def is_file(self):
        return self.type == "file"

    def is_symlink(self):
        return self.type == "symlink"

    @property
    def mtime(self):
        return self.mtime_ns / 1e9

    def __repr__(self):
        return "Stat(%r, inode=%d, type=%s, size=%d, generation=%d)" % (self.name, self.inode, self.type, self.size, self.generation)


def parse_url(url):
    parts = urlsplit(url if "://" in url else "nokv://" + url)
    if parts.scheme != "nokv" or not parts.hostname:
        raise os_error(errno.EINVAL, "server url %r is not nokv://HOST:PORT" % url)
    return parts.hostname, parts.port or DEFAULT_PORT


def _norm(path):
    if not isinstance(path, str) or not path:
        raise os_error(errno.EINVAL, "path must be a non-empty string, got %r" % (path,))
    path = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if path == "//" else path


def connect(url="nokv://127.0.0.1:7777", mount="default", token=None, objects=None, timeout_s=60.0, cache_dir=None,
            cache_max_bytes=None):
    """A Client of metad at `url` for `mount`. `objects` overrides the store URL metad names.
    `cache_dir` (default $NOKV_CACHE_DIR; "" for none) is the node-local block cache every NoKV
    process on the machine shares, at most `cache_max_bytes` (default $NOKV_CACHE_MAX_BYTES, else
    10 GiB)."""
    host, port = parse_url(url)
    return Client(host, port, mount=mount, token=token, objects=objects, timeout_s=timeout_s, cache_dir=cache_dir,
                  cache_max_bytes=cache_max_bytes)


class _View:
    """Reads shared by the live namespace and snapshots (`_read_args` adds the snapshot)."""

    _snapshot = None

    def _read_args(self, args):
        args["mount"] = self._client.mount_id
        if self._snapshot is not None:
            args["snapshot"] = self._snapshot
        return args

    def _read(self, op, args, path=None):
        try:
            return self._client._conn.call(op, self._read_args(args))
        except OSError as err:
            raise _with_path(err, path)

    def stat(self, path):
        path = _norm(path)
        return Stat(self._read("stat_path", {"path": path}, path), posixpath.basename(path))

    def lstat(self, path):
        path = _norm(path)
        return Stat(self._read("lstat_path", {"path": path}, path), posixpath.basename(path))

    def exists(self, path):
        try:
            self.lstat(path)
            return True
        except FileNotFoundError:
            return False

    def readlink(self, path):
        path = _norm(path)
        return self._read("readlink_path", {"path": path}, path)

    def listdir(self, path="/", detail=False):
        """Names in the directory, or with detail=True a Stat (with .name) for each, in name order."""
        path = _norm(path)
        out = []
        after = None
        while True:
            args = {"path": path, "plus": True, "limit": READDIR_PAGE}
            if after is not None:
                args["after"] = after
            page = self._read("readdir_path", args, path)
            for name, attrs in page.get("plus") or []:
                out.append(Stat(attrs, name) if detail else name)
            after = page.get("nextAfter")
            if after is None:
                return out

    def walk(self, path="/"):
        """(dirpath, dirnames, filenames) like os.walk, top down."""
        path = _norm(path)
        entries = self.listdir(path, detail=True)
        dirs = [e.name for e in entries if e.is_dir()]
        yield path, dirs, [e.name for e in entries if not e.is_dir()]
        for name in dirs:
            yield from self.walk(posixpath.join(path, name))

    def stat_many(self, paths):
        """Stats of many paths in few round trips; a missing one is its OSError in the list."""
        ops = [("stat_path", {"path": _norm(p)}) for p in paths]
        return [r if isinstance(r, OSError) else Stat(r, posixpath.basename(_norm(p))) for p, r in zip(paths, self._batch(ops))]

    def _batch(self, ops):
        results = []
        for at in range(0, len(ops), BATCH_MAX_OPS):
            chunk = [{"op": op, "args": self._read_args(dict(args))} for op, args in ops[at : at + BATCH_MAX_OPS]]
            results.extend(_batch_results(self._client._conn.call("batch", {"ops": chunk}), [a.get("path") for _, a in ops[at : at + BATCH_MAX_OPS]]))
        return results

    # -- bodies

    def read_plans(self, requests):
        """read_plan for many (inode, offset, length, generation) in one batch per 1,024."""
        ops = []
        for inode, offset, length, generation in requests:
            args = {"inode": inode, "offsetBytes": offset, "lengthBytes": length}
            if generation is not None:
                args["generation"] = generation
            ops.append(("read_plan", args))
        return self._batch(ops)

    def read_file(self, path):
        return self.read(path)

    def read(self, path, offset=0, length=None):
        """Bytes [offset, offset + length) of the file (to its end when length is None)."""
        st = self.stat(path)
        if st.is_dir():
            raise os_error(errno.EISDIR, "is a directory, read '%s'" % _norm(path), _norm(path))
        return self.read_inode(st.inode, offset, st.size - offset if length is None else length, st.generation, path=_norm(path))

    def read_inode(self, inode, offset, length, generation=None, path=None):
        parts = []
        while length > 0:
            piece = min(length, READ_PLAN_WINDOW_BYTES)
            plan = self.read_plans([(inode, offset, piece, generation)])[0]
            if isinstance(plan, OSError):
                raise _with_path(plan, path)
            parts.append(self._client._fetch([plan])[0])
            if plan["lengthBytes"] < piece:
                break
            offset += piece
            length -= piece
        return b"".join(parts)

    def read_ranges(self, ranges):
        """Bytes of many (path, offset, length) in few round trips: one batch of stats, one of
        read plans, then parallel gets from the object store."""
        stats = self.stat_many([p for p, _, _ in ranges])
        requests = []
        for (path, offset, length), st in zip(ranges, stats):
            if isinstance(st, OSError):
                raise st
            if st.is_dir():
                raise os_error(errno.EISDIR, "is a directory, read '%s'" % path, path)
            requests.append((st.inode, offset, min(length, READ_PLAN_WINDOW_BYTES), st.generation))
        plans = self.read_plans(requests)
        for plan, (path, _, _) in zip(plans, ranges):
            if isinstance(plan, OSError):
                raise _with_path(plan, path)
        out = self._client._fetch(plans)
        # A range above the plan window (64 MiB) is finished one window at a time.
        for i, ((path, offset, length), st) in enumerate(zip(ranges, stats)):
            if length > READ_PLAN_WINDOW_BYTES and plans[i]["lengthBytes"] == READ_PLAN_WINDOW_BYTES:
                rest = self.read_inode(st.inode, offset + READ_PLAN_WINDOW_BYTES, length - READ_PLAN_WINDOW_BYTES, st.generation, path)
                out[i] = out[i] + rest
        return out

    def open(self, path, mode="rb", **kwargs):
        from .files import NoKVReader, NoKVWriter

        if mode in ("rb", "r"):
            return NoKVReader(self, path, **kwargs)
        if mode in ("wb", "w", "xb", "x"):
            if self._snapshot is not None:
                raise os_error(errno.EROFS, "read-only file system, open '%s'" % path, path)
            return NoKVWriter(self._client, path, replace=mode[0] == "w", **kwargs)
        raise os_error(errno.EINVAL, "mode %r: use rb, wb or xb" % mode)


class Client(_View):
    def __init__(self, host, port, mount="default", token=None, objects=None, timeout_s=60.0, cache_dir=None,
                 cache_max_bytes=None):
        self._client = self
        self.host, self.port, self.mount, self.token, self.timeout_s = host, port, mount, token, timeout_s
        self._objects_override = objects
        self.node_cache = node_cache(cache_dir, cache_max_bytes)
        self.cache_dir, self.cache_max_bytes = cache_dir, cache_max_bytes
        self._key_prefix = secrets.token_hex(8)
        self._key_count = 0
        self._key_lock = threading.Lock()
        self._pid = None
        self._conn_obj = None
        self._store = None
        self._pool = None
        self._conn  # noqa: connect now, so a bad address or token fails here

    # A forked child gets a new connection, store client and thread pool of its own.
    @property
    def _conn(self):
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._conn_obj = Connection(self.host, self.port, self.mount, self.token, self.timeout_s)
            self._store = None
            self._pool = None
        return self._conn_obj

    @property
    def hello(self):
        return self._conn.hello

    @property
    def mount_id(self):
        return self._conn.hello["mount"]["id"]

    @property
    def store(self):
        conn = self._conn
        if self._store is None:
            self._store = open_store(self._objects_override or conn.hello["objects"])
        return self._store

    @property
    def store_id(self):
        """The object store's identity (metad's hello): it keys the node cache's entries."""
        return self.hello.get("storeId")

    @property
    def pool(self):
        self._conn
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix="nokv-io")
        return self._pool

    def __getstate__(self):
        raise TypeError("a nokv Client holds a connection; pickle its url and mount and connect in the new process")

    def close(self):
        if self._conn_obj is not None and self._pid == os.getpid():
            self._conn_obj.close()
            if self._pool is not None:
                self._pool.shutdown(wait=False)
        self._conn_obj = None
        self._pid = None
        if self.node_cache is not None:
            self.node_cache.flush_stats()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next_key(self):
        with self._key_lock:
            self._key_count += 1
            return "%s:%d" % (self._key_prefix, self._key_count)

    def _write(self, op, args, path=None):
        args["mount"] = self.mount_id
        try:
            return self._conn.call(op, args, self.next_key())
        except OSError as err:
            raise _with_path(err, path)

    # -- namespace changes

    def mkdir(self, path, parents=False, exist_ok=False, mode=None):
        path = _norm(path)
        args = {"path": path, "recursive": bool(parents)}
        if mode is not None:
            args["mode"] = mode
        try:
            made = self._write("mkdir_path", args, path)
        except FileExistsError:
            if exist_ok and self.stat(path).is_dir():
                return None
            raise
        if made is None and not (parents or exist_ok):
            raise os_error(errno.EEXIST, "file already exists, mkdir '%s'" % path, path)
        return None if made is None else Stat(made, posixpath.basename(path))

    def makedirs(self, path, exist_ok=True):
        return self.mkdir(path, parents=True, exist_ok=exist_ok)

    def create(self, path, mode=None):
        path = _norm(path)
        return Stat(self._write("create_file_path", {"path": path} if mode is None else {"path": path, "mode": mode}, path))

    def unlink(self, path):
        path = _norm(path)
        self._write("remove_path", {"path": path, "fileOnly": True}, path)

    def rmdir(self, path):
        path = _norm(path)
        self._write("remove_path", {"path": path, "dirOnly": True}, path)

    def rm(self, path, recursive=False, missing_ok=False):
        """Removes a file, or with recursive=True a whole tree (files in batches)."""
        path = _norm(path)
        try:
            st = self.lstat(path)
        except FileNotFoundError:
            if missing_ok:
                return
            raise
        if not st.is_dir():
            return self.unlink(path)
        if not recursive:
            raise os_error(errno.EISDIR, "is a directory, rm '%s'" % path, path)
        entries = self.listdir(path, detail=True)
        files = [("remove_path", {"path": posixpath.join(path, e.name)}) for e in entries if not e.is_dir()]
        for result in self.batch(files):
            if isinstance(result, OSError) and not (missing_ok and result.errno == errno.ENOENT):
                raise result
        for e in entries:
            if e.is_dir():
                self.rm(posixpath.join(path, e.name), recursive=True, missing_ok=missing_ok)
        self.rmdir(path)

    def rename(self, src, dst, no_replace=False, exchange=False):
        src, dst = _norm(src), _norm(dst)
        args = {"path": src, "newPath": dst}
        if no_replace:
            args["noReplace"] = True
        if exchange:
            args["exchange"] = True
        self._write("rename_path", args, src)

    def clone(self, src, dst, snapshot=None):
        """A writable copy of ``src`` (file or tree; as snapshot ``snapshot`` saw it) at ``dst``:
        one atomic step, metadata only, no byte copied. Returns ``{"inode", "entries", "version"}``."""
        src, dst = _norm(src), _norm(dst)
        args = {"path": src, "newPath": dst}
        if snapshot is not None:
            args["snapshot"] = int(snapshot)
        return self._write("clone_path", args, src)

    def rollback(self, path, snapshot):
        """The directory at ``path`` becomes what snapshot ``snapshot`` saw, in one atomic step."""
        path = _norm(path)
        return self._write("rollback_path", {"path": path, "snapshot": int(snapshot)}, path)

    def diff(self, a, b, snapshot=None, other_snapshot=None):
        """Yields what differs from directory ``a`` to ``b`` (dicts: kind, path, type, ...), page by page."""
        args = {"path": _norm(a), "otherPath": _norm(b), "cursor": ""}
        if snapshot is not None:
            args["snapshot"] = int(snapshot)
        if other_snapshot is not None:
            args["otherSnapshot"] = int(other_snapshot)
        while args["cursor"] is not None:
            page = self._read("diff", dict(args), args["path"])
            yield from page["entries"]
            args["cursor"] = page["nextCursor"]

    def symlink(self, path, target):
        path = _norm(path)
        return Stat(self._write("symlink_path", {"path": path, "target": target}, path))

    def link(self, existing, new_path):
        existing, new_path = _norm(existing), _norm(new_path)
        return Stat(self._write("link_path", {"path": existing, "newPath": new_path}, existing))

    def chmod(self, path, mode):
        path = _norm(path)
        return Stat(self._write("setattr_path", {"path": path, "mode": mode}, path))

    def utime(self, path, atime_ns, mtime_ns):
        path = _norm(path)
        return Stat(self._write("setattr_path", {"path": path, "atimeNs": int(atime_ns), "mtimeNs": int(mtime_ns)}, path))

    def truncate(self, path, size):
        path = _norm(path)
        return Stat(self._write("setattr_path", {"path": path, "sizeBytes": int(size)}, path))

    def batch(self, ops):
        """Many operations in one round trip per 1,024: [(op, args), ...] -> results in order, each
        the op's value or its OSError (not raised). Paths are normalized; `mount` is added."""
        results = []
        for at in range(0, len(ops), BATCH_MAX_OPS):
            chunk = ops[at : at + BATCH_MAX_OPS]
            wire = [{"op": op, "args": dict(args, mount=self.mount_id)} for op, args in chunk]
            results.extend(_batch_results(self._write("batch", {"ops": wire}), [a.get("path") for _, a in chunk]))
        return results

    # -- bodies

    def write_file(self, path, data, replace=True, block_size=None, mode=None):
        """Publishes `data` (bytes-like) as the file's whole body, atomically."""
        from .files import NoKVWriter

        with NoKVWriter(self, path, replace=replace, block_size=block_size, mode=mode) as w:
            w.write(data)
        return w.stat

    def _fetch(self, plans):
        """The bytes of each read plan: every range fetched straight from the object store (in
        parallel unless the store is local and the reads small), holes as zeros."""
        store = self.store
        # Without a store id (an older metad) entries could not tell stores apart: no node cache.
        node = self.node_cache if self.node_cache is not None and self.store_id else None
        jobs = []
        outputs = []
        for plan in plans:
            out = bytearray(plan["lengthBytes"])
            outputs.append(out)
            for r in plan["ranges"]:
                jobs.append((out, r))
        total = sum(r["lengthBytes"] for _, r in jobs)
        if store.inline_reads and total <= 4 * 1024 * 1024 or len(jobs) <= 1:
            for out, r in jobs:
                _fill(store, out, r, node, self.store_id)
        else:
            for future in [self.pool.submit(_fill, store, out, r, node, self.store_id) for out, r in jobs]:
                future.result()
        return [bytes(out) for out in outputs]

    # -- snapshots and watches

    def snapshot(self, path="/"):
        """A read-only view of `path`'s subtree (the namespace pinned now)."""
        path = _norm(path)
        return Snapshot(self, self._write("snapshot_create", {"path": path}, path))

    def open_snapshot(self, snapshot_id):
        return Snapshot(self, self._conn.call("snapshot_get", {"mount": self.mount_id, "snapshot": snapshot_id}))

    def snapshots(self):
        return self._conn.call("snapshot_list", {"mount": self.mount_id})

    def watch(self, path, cursor=None):
        """An iterator of WatchEvents in `path`; `cursor` (an event's .cursor) resumes after it."""
        return Watcher(self, _norm(path), cursor)

    def server_stats(self):
        return self._conn.call("stats", {"mount": self.mount_id})


class Snapshot(_View):
    """A read-only view pinned at creation; reads take the snapshot id, writes are EROFS."""

    def __init__(self, client, info):
        self._client = client
        self.info = info
        self.id = info["snapshotId"]
        self._snapshot = self.id

    def retire(self):
        self._client._write("snapshot_retire", {"snapshot": self.id})


def _fill(store, out, r, node=None, store_id=None):
    offset, length, at = r["objectOffset"], r["lengthBytes"], r["outputOffset"]
    checksum = r.get("checksum")
    if node is not None:
        data = node.read(store, store_id, r)
    elif checksum:
        window_offset, window_length = segment_window(checksum)
        data = store.get(r["key"], window_offset, window_length)
        verify_segments(r["key"], checksum, data)
        data = data[offset - window_offset : offset - window_offset + length]
    else:
        data = store.get(r["key"], offset, length)
    if len(data) != length:
        raise os_error(errno.EIO, "object %r returned %d of %d bytes" % (r["key"], len(data), length), r["key"])
    out[at : at + length] = data


def _with_path(err, path):
    if path is not None and getattr(err, "filename", None) is None and isinstance(err, OSError) and err.errno is not None:
        return OSError(err.errno, err.strerror, path)
    return err


def _batch_results(replies, paths):
    out = []
    for reply, path in zip(replies, paths):
        if isinstance(reply, dict) and reply.get("ok"):
            out.append(reply.get("value"))
        else:
            out.append(wire_error(reply.get("error") if isinstance(reply, dict) else None, path))
    return out


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


__all__ = ["Client", "Snapshot", "Stat", "WatchEvent", "Watcher", "connect", "block_checksum", "segment_size_for"]
