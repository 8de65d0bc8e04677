"""fsspec filesystem for `nokv://HOST:PORT/MOUNT/path`, registered for the `nokv` protocol through
the `fsspec.specs` entry point (and on import of this module, for checkouts not pip-installed).

One instance serves one mount of one metad; paths inside it are absolute in that mount ("/a/b").
"""

import datetime
import errno
import posixpath

from fsspec.registry import register_implementation
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from .client import DEFAULT_PORT, connect
from .files import NoKVWriter

_TYPES = {"file": "file", "dir": "directory", "symlink": "link"}


def _split_url(url):
    """nokv://host:port/mount/rest -> (host, port, mount, /rest)."""
    rest = url[len("nokv://") :] if url.startswith("nokv://") else url
    netloc, _, path = rest.partition("/")
    host, _, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
    mount, _, inner = path.partition("/")
    return host, int(port) if port else DEFAULT_PORT, mount or "default", "/" + inner


class NoKVFileSystem(AbstractFileSystem):
    protocol = "nokv"
    root_marker = "/"

    def __init__(self, host="127.0.0.1", port=DEFAULT_PORT, mount="default", token=None, objects=None, cache_dir=None,
                 cache_max_bytes=None, **kwargs):
        """`cache_dir`/`cache_max_bytes` (storage options): the node-local block cache, as in nokv.connect."""
        super().__init__(**kwargs)
        self.host, self.port, self.mount, self.token = host, int(port), mount, token
        self.objects, self.cache_dir, self.cache_max_bytes = objects, cache_dir, cache_max_bytes
        self.client = connect("nokv://%s:%d" % (host, self.port), mount=mount, token=token, objects=objects,
                              cache_dir=cache_dir, cache_max_bytes=cache_max_bytes)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("nokv://"):
            path = _split_url(path)[3]
        path = posixpath.normpath("/" + path.lstrip("/"))
        return "/" if path == "//" else path

    @staticmethod
    def _get_kwargs_from_urls(path):
        if not str(path).startswith("nokv://"):
            return {}
        host, port, mount, _ = _split_url(str(path))
        return {"host": host, "port": port, "mount": mount}

    def unstrip_protocol(self, name):
        return "nokv://%s:%d/%s%s" % (self.host, self.port, self.mount, self._strip_protocol(name))

    def __reduce__(self):
        # A DataLoader worker or a dask task rebuilds the filesystem (and its connection) itself.
        return (NoKVFileSystem, (self.host, self.port, self.mount, self.token, self.objects, self.cache_dir, self.cache_max_bytes))

    # -- metadata

    def _info_of(self, path, st):
        info = {"name": path, "size": st.size if st.type == "file" else 0, "type": _TYPES[st.type], "inode": st.inode,
                "generation": st.generation, "mode": st.mode, "mtime": st.mtime_ns / 1e9, "nlink": st.nlink}
        if st.type == "symlink":
            info["destination"] = st.target
        return info

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        st = self.client.lstat(path)
        if st.type == "symlink":
            try:
                target = self.client.stat(path)
                out = self._info_of(path, target)
                out["islink"] = True
                out["destination"] = st.target
                return out
            except FileNotFoundError:
                pass
        return self._info_of(path, st)

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        st = self.client.stat(path)
        if not st.is_dir():
            return [self._info_of(path, st)] if detail else [path]
        entries = self.client.listdir(path, detail=True)
        paths = [posixpath.join(path, e.name) for e in entries]
        if not detail:
            return paths
        return [self._info_of(p, e) for p, e in zip(paths, entries)]

    def makedirs(self, path, exist_ok=False):
        self.client.mkdir(self._strip_protocol(path), parents=True, exist_ok=exist_ok)

    def mkdir(self, path, create_parents=True, **kwargs):
        self.client.mkdir(self._strip_protocol(path), parents=create_parents, exist_ok=False)

    def rmdir(self, path):
        self.client.rmdir(self._strip_protocol(path))

    def rm_file(self, path):
        self.client.unlink(self._strip_protocol(path))

    def _rm(self, path):
        path = self._strip_protocol(path)
        if self.client.lstat(path).is_dir():
            self.client.rmdir(path)
        else:
            self.client.unlink(path)

    def rm(self, path, recursive=False, maxdepth=None):
        for p in path if isinstance(path, list) else [path]:
            self.client.rm(self._strip_protocol(p), recursive=recursive)

    def mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        self.client.rename(self._strip_protocol(path1), self._strip_protocol(path2))

    def cp_file(self, path1, path2, **kwargs):
        # A clone: one metadata step that shares the source's blocks, whatever the file's size.
        src, dst = self._strip_protocol(path1), self._strip_protocol(path2)
        try:
            self.client.clone(src, dst)
        except FileExistsError:
            if self.client.stat(dst).is_dir():
                raise
            self.client.unlink(dst)
            self.client.clone(src, dst)

    def modified(self, path):
        st = self.client.stat(self._strip_protocol(path))
        return datetime.datetime.fromtimestamp(st.mtime_ns / 1e9, tz=datetime.timezone.utc)

    def created(self, path):
        return self.modified(path)

    def checksum(self, path):
        """Changes whenever the content does: a publish gives the file a new generation."""
        st = self.client.stat(self._strip_protocol(path))
        return hash((st.inode, st.generation, st.size))

    def ukey(self, path):
        return str(self.checksum(path))

    # -- bytes

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        if start is None and end is None:
            return self.client.read(path)
        st = self.client.stat(path)
        start, end = _clip(start, end, st.size)
        return self.client.read_inode(st.inode, start, end - start, st.generation, path)

    def pipe_file(self, path, value, **kwargs):
        self.client.write_file(self._strip_protocol(path), value)

    def cat_ranges(self, paths, starts, ends, max_gap=None, on_error="return", **kwargs):
        """Many small reads in few round trips: one batch of stats, one of read plans."""
        if not isinstance(starts, list):
            starts = [starts] * len(paths)
        if not isinstance(ends, list):
            ends = [ends] * len(paths)
        paths = [self._strip_protocol(p) for p in paths]
        stats = self.client.stat_many(paths)
        ranges, index, out = [], [], [None] * len(paths)
        for i, (p, st) in enumerate(zip(paths, stats)):
            if isinstance(st, OSError):
                if on_error != "return":
                    raise st
                out[i] = st
                continue
            s, e = _clip(starts[i], ends[i], st.size)
            ranges.append((p, s, e - s))
            index.append(i)
        for i, data in zip(index, self.client.read_ranges(ranges) if ranges else []):
            out[i] = data
        return out

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        return NoKVBufferedFile(self, self._strip_protocol(path), mode, block_size=block_size or "default",
                                autocommit=autocommit, cache_options=cache_options, **kwargs)


class NoKVBufferedFile(AbstractBufferedFile):
    """Reads fetch ranges through read plans; writes stream blocks and publish on close."""

    def __init__(self, fs, path, mode="rb", **kwargs):
        self._writer = None
        if "r" in mode:
            st = fs.client.stat(path)
            if st.is_dir():
                raise IsADirectoryError(errno.EISDIR, "EISDIR: is a directory, open '%s'" % path, path)
            self._stat = st
            kwargs["size"] = st.size
        super().__init__(fs, path, mode, **kwargs)

    def _fetch_range(self, start, end):
        st = self._stat
        start, end = _clip(start, end, st.size)
        return self.fs.client.read_inode(st.inode, start, end - start, st.generation, self.path)

    def _initiate_upload(self):
        self._writer = NoKVWriter(self.fs.client, self.path, replace=True)

    def _upload_chunk(self, final=False):
        if self._writer is None:
            self._initiate_upload()
        self._writer.write(self.buffer.getvalue())
        if final:
            self._writer.close()
        return True

    def discard(self):
        if self._writer is not None:
            self._writer.abort()
        super().discard()


def _clip(start, end, size):
    start = 0 if start is None else (start + size if start < 0 else start)
    end = size if end is None else (end + size if end < 0 else end)
    start = max(0, min(start, size))
    return start, max(start, min(end, size))


register_implementation("nokv", NoKVFileSystem, clobber=True)
