"""Streaming file objects: a writer that uploads blocks as they fill and publishes once on close
(the file appears whole or not at all), and a seekable reader that fetches windows on demand.
Neither ever holds the whole file: the writer keeps at most UPLOAD_CONCURRENCY + 1 blocks."""

import errno
import hashlib
import io
import posixpath
from concurrent.futures import ThreadPoolExecutor, wait, FIRST_COMPLETED

from ._errors import os_error
from ._objects import block_checksum, segment_size_for
from .client import PRODUCER, UPLOAD_CONCURRENCY, Stat, _norm, _with_path

READ_WINDOW_BYTES = 8 * 1024 * 1024


class NoKVWriter(io.RawIOBase):
    def __init__(self, client, path, replace=True, block_size=None, mode=None, concurrency=UPLOAD_CONCURRENCY,
                 content_type="application/octet-stream"):
        super().__init__()
        self._client = client
        self.path = _norm(path)
        self._replace = replace
        self._mode = mode
        self._content_type = content_type
        if not replace and client.exists(self.path):
            raise os_error(errno.EEXIST, "file already exists, open '%s'" % self.path, self.path)
        args = {"path": self.path}
        if block_size is not None:
            args["blockSizeBytes"] = int(block_size)
        self._prepared = client._write("prepare", args, self.path)
        self._block = self._prepared["blockSizeBytes"]
        self._chunk = self._prepared["chunkSizeBytes"]
        self._segment = segment_size_for(self._block)
        self._buffer = bytearray()
        self._size = 0
        self._chunks = []
        self._hash = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="nokv-upload")
        self._running = set()
        self._concurrency = concurrency
        self.stat = None

    def writable(self):
        return True

    def seekable(self):
        return False

    def tell(self):
        return self._size + len(self._buffer)

    def write(self, data):
        if self.closed:
            raise ValueError("write to a closed NoKV file")
        view = memoryview(data).cast("B")
        self._buffer += view
        while len(self._buffer) >= self._block:
            block = bytes(self._buffer[: self._block])
            del self._buffer[: self._block]
            self._upload(block)
        return len(view)

    def _upload(self, block):
        while len(self._running) >= self._concurrency:
            done, _ = wait(self._running, return_when=FIRST_COMPLETED)
            for future in done:
                self._running.discard(future)
                future.result()
        chunk_index, offset_in_chunk = divmod(self._size, self._chunk)
        key = "%s/%d/%d" % (self._prepared["keyPrefix"], chunk_index, offset_in_chunk // self._block)
        ref = {"key": key, "offsetInChunk": offset_in_chunk, "lengthBytes": len(block), "objectOffset": 0,
               "checksum": block_checksum(block, self._segment)}
        while len(self._chunks) <= chunk_index:
            self._chunks.append({"chunkIndex": len(self._chunks), "blocks": []})
        self._chunks[chunk_index]["blocks"].append(ref)
        self._size += len(block)
        self._running.add(self._pool.submit(self._client.store.put, key, block))
        self._hash.update(block)

    def close(self):
        if self.closed:
            return
        try:
            if self._buffer:
                self._upload(bytes(self._buffer))
                self._buffer = bytearray()
            for future in self._running:
                future.result()
            manifest = {
                "summary": {"sizeBytes": self._size, "chunkSizeBytes": self._chunk, "blockSizeBytes": self._block,
                            "chunkCount": len(self._chunks), "digest": "sha256:" + self._hash.hexdigest(),
                            "producer": PRODUCER, "contentType": self._content_type},
                "chunks": self._chunks,
            }
            args = {"path": self.path, "prepareId": self._prepared["prepareId"], "manifest": manifest, "replace": self._replace}
            if self._mode is not None:
                args["mode"] = self._mode
            self.stat = Stat(self._client._write("publish", args, self.path), posixpath.basename(self.path))
        finally:
            self._pool.shutdown(wait=True)
            super().close()

    def abort(self):
        """Closes without publishing: nothing becomes visible; metad's GC removes the blocks."""
        for future in self._running:
            future.cancel()
        self._pool.shutdown(wait=True)
        self._buffer = bytearray()
        super().close()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class NoKVReader(io.RawIOBase):
    """A seekable reader pinned to the file's generation at open; fetches READ_WINDOW_BYTES ahead."""

    def __init__(self, view, path, window_bytes=READ_WINDOW_BYTES):
        super().__init__()
        self._view = view
        self.path = _norm(path)
        st = view.stat(self.path)
        if st.is_dir():
            raise os_error(errno.EISDIR, "is a directory, open '%s'" % self.path, self.path)
        self.stat = st
        self.size = st.size
        self._window = window_bytes
        self._pos = 0
        self._buf = b""
        self._buf_at = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self.size
        if offset < 0:
            raise os_error(errno.EINVAL, "negative seek position %d" % offset, self.path)
        self._pos = offset
        return offset

    def _range(self, offset, length):
        try:
            return self._view.read_inode(self.stat.inode, offset, length, self.stat.generation, self.path)
        except OSError as err:
            raise _with_path(err, self.path)

    def readinto(self, target):
        view = memoryview(target).cast("B")
        want = min(len(view), max(0, self.size - self._pos))
        if want == 0:
            return 0
        start = self._pos - self._buf_at
        if not (0 <= start and start + want <= len(self._buf)):
            if want >= self._window:
                data = self._range(self._pos, want)
                view[: len(data)] = data
                self._pos += len(data)
                return len(data)
            self._buf_at = self._pos
            self._buf = self._range(self._pos, min(self._window, self.size - self._pos))
            start = 0
        n = min(want, len(self._buf) - start)
        view[:n] = self._buf[start : start + n]
        self._pos += n
        return n

    def read(self, size=-1):
        if size is None or size < 0:
            size = max(0, self.size - self._pos)
        out = bytearray(min(size, max(0, self.size - self._pos)))
        got = 0
        while got < len(out):
            n = self.readinto(memoryview(out)[got:])
            if n == 0:
                break
            got += n
        return bytes(out[:got])

    def readall(self):
        return self.read(-1)
