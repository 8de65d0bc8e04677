"""PyTorch datasets over NoKV and checkpoint save/load.

`NoKVDataset` (map-style) lists its files once, then fetches samples with batched read plans
(`__getitems__`: one round trip per DataLoader batch, then parallel gets from the object store).
It pickles as its address and file table: each DataLoader worker opens its own connection, also
after a fork. `NoKVShardDataset` streams shards (an IterableDataset split across workers).
`save`/`load` stream a checkpoint through torch.save/torch.load: blocks upload while torch
serializes, and the file appears whole or not at all.
"""

import io
import os
import posixpath

import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from .client import connect


def _split(url, mount):
    """`nokv://host:port/mount/path` -> (server url, mount, /path); a bare server url keeps `mount`."""
    if url.startswith("nokv://"):
        rest = url[len("nokv://") :]
        netloc, _, path = rest.partition("/")
        if path:
            m, _, inner = path.partition("/")
            return "nokv://" + netloc, m, "/" + inner
        return "nokv://" + netloc, mount, None
    return url, mount, None


class _Remote:
    """An address that connects lazily, once per process (workers fork or spawn)."""

    def __init__(self, url, mount, token, client=None, cache_dir=None, cache_max_bytes=None):
        self.url, self.mount, self.token = url, mount, token
        self.cache_dir, self.cache_max_bytes = cache_dir, cache_max_bytes
        self._client = client
        self._pid = os.getpid() if client is not None else None

    @property
    def client(self):
        if self._client is None or self._pid != os.getpid():
            self._client = connect(self.url, mount=self.mount, token=self.token, cache_dir=self.cache_dir,
                                   cache_max_bytes=self.cache_max_bytes)
            self._pid = os.getpid()
        return self._client

    def __getstate__(self):
        return {"url": self.url, "mount": self.mount, "token": self.token, "cache_dir": self.cache_dir,
                "cache_max_bytes": self.cache_max_bytes}

    def __setstate__(self, state):
        self.__init__(state["url"], state["mount"], state["token"], cache_dir=state.get("cache_dir"),
                      cache_max_bytes=state.get("cache_max_bytes"))


class NoKVDataset(Dataset):
    """Samples are files: every regular file under `root` (recursively, in name order), or the
    given `paths`. Item i is `transform(bytes)` (bytes when no transform)."""

    def __init__(self, url, root=None, paths=None, mount="default", token=None, transform=None, cache_dir=None,
                 cache_max_bytes=None):
        server, mount, inner = _split(url, mount)
        self._remote = _Remote(server, mount, token, cache_dir=cache_dir, cache_max_bytes=cache_max_bytes)
        root = root if root is not None else inner
        client = self._remote.client
        if paths is None:
            if root is None:
                raise ValueError("NoKVDataset needs a root directory or a list of paths")
            self.paths, stats = [], []
            for directory, _dirs, _files in client.walk(root):
                for st in client.listdir(directory, detail=True):
                    if st.is_file():
                        self.paths.append(posixpath.join(directory, st.name))
                        stats.append(st)
        else:
            self.paths = list(paths)
            stats = client.stat_many(self.paths)
            for st in stats:
                if isinstance(st, OSError):
                    raise st
        # (inode, generation, size) per sample: a read is then one read_plan, no lookup.
        self._table = [(st.inode, st.generation, st.size) for st in stats]
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return self.__getitems__([index])[0]

    def __getitems__(self, indices):
        view = self._remote.client
        plans = view.read_plans([(self._table[i][0], 0, self._table[i][2], self._table[i][1]) for i in indices])
        for plan, i in zip(plans, indices):
            if isinstance(plan, OSError):
                raise OSError(plan.errno, plan.strerror, self.paths[i])
        samples = view._fetch(plans)
        return [self.transform(s) for s in samples] if self.transform else samples


class NoKVShardDataset(IterableDataset):
    """Streams shard files, each worker its share (shard i goes to worker i % num_workers). With
    `decode` (a function of a readable, seekable file object yielding samples) it yields samples,
    else each shard's bytes."""

    def __init__(self, url, paths, mount="default", token=None, decode=None, cache_dir=None, cache_max_bytes=None):
        server, mount, _ = _split(url, mount)
        self._remote = _Remote(server, mount, token, cache_dir=cache_dir, cache_max_bytes=cache_max_bytes)
        self.paths = list(paths)
        self.decode = decode

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        client = self._remote.client
        for path in self.paths[worker::workers]:
            with client.open(path, "rb") as f:
                if self.decode is None:
                    yield f.read()
                else:
                    yield from self.decode(f)


def _open_target(target, mount, token):
    if isinstance(target, str):
        server, mount, inner = _split(target, mount)
        if inner is None:
            raise ValueError("checkpoint target %r needs a path: nokv://HOST:PORT/MOUNT/path" % target)
        return connect(server, mount=mount, token=token), inner, True
    client, path = target
    return client, path, False


def save(obj, target, mount="default", token=None, block_size=None, **torch_kwargs):
    """torch.save(obj) to `target` (`nokv://host:port/mount/path` or `(client, path)`), streamed:
    blocks upload while torch writes, one publish at the end; a failure publishes nothing."""
    client, path, owned = _open_target(target, mount, token)
    try:
        with client.open(path, "wb", block_size=block_size) as writer:
            torch.save(obj, _Unseekable(writer), **torch_kwargs)
        return writer.stat
    finally:
        if owned:
            client.close()


def load(target, mount="default", token=None, map_location=None, **torch_kwargs):
    """torch.load from `target`, reading windows on demand (never the whole file in memory)."""
    client, path, owned = _open_target(target, mount, token)
    try:
        with client.open(path, "rb") as reader:
            return torch.load(io.BufferedReader(reader, 4 * 1024 * 1024), map_location=map_location, **torch_kwargs)
    finally:
        if owned:
            client.close()


class _Unseekable(io.RawIOBase):
    """torch.save writes a zip archive; told the sink cannot seek, it streams it in order."""

    def __init__(self, writer):
        super().__init__()
        self._writer = writer

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, data):
        return self._writer.write(data)

    def tell(self):
        return self._writer.tell()

    def flush(self):
        pass


__all__ = ["NoKVDataset", "NoKVShardDataset", "save", "load", "torch"]
