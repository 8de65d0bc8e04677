"""The object store, reached directly: file:// as plain files, s3:// through boto3.

Bytes never pass through metad. metad's hello names the store (`objects`, without secrets); S3
credentials come from the standard AWS chain (environment, config files, instance roles).
"""

import errno
import os
import secrets
import zlib
from urllib.parse import parse_qs, unquote, urlsplit

from ._errors import os_error

TEMP_COMPONENT_PREFIX = ".nokv-tmp-"
CRC_HEX_CHARS = 8
CHECKSUM_SEGMENT_BYTES = 64 * 1024
CHECKSUM_SEGMENTS_PER_BLOCK_MAX = 64
S3_POOL_CONNECTIONS = 64


def segment_size_for(block_size_bytes):
    """Bytes per CRC-32 segment of a block: 64 KiB, larger for blocks past 64 segments."""
    per_segment = -(-block_size_bytes // CHECKSUM_SEGMENTS_PER_BLOCK_MAX)
    return max(CHECKSUM_SEGMENT_BYTES, per_segment)


def block_checksum(data, segment_size_bytes):
    """The checksum map of a whole object: CRC-32 (zlib's) of each segment, 8 hex digits each."""
    view = memoryview(data)
    crcs = "".join("%08x" % zlib.crc32(view[at : at + segment_size_bytes]) for at in range(0, len(view), segment_size_bytes))
    return {"segmentSizeBytes": segment_size_bytes, "objectSizeBytes": len(view), "crc32": crcs}


def segment_window(checksum):
    """Object bytes [offset, offset + length) a verified read of a read-plan range fetches."""
    size = checksum["segmentSizeBytes"]
    offset = checksum["firstSegment"] * size
    segments = len(checksum["crc32"]) // CRC_HEX_CHARS
    end = min(checksum["objectSizeBytes"], (checksum["firstSegment"] + segments) * size)
    return offset, max(0, end - offset)


def verify_segments(key, checksum, data):
    """Raises EIO naming the object unless `data` (the segment window) matches its CRC-32 list."""
    size = checksum["segmentSizeBytes"]
    crcs = checksum["crc32"]
    _, window = segment_window(checksum)
    if len(data) != window:
        raise os_error(errno.EIO, "object %r is truncated: %d of %d bytes" % (key, len(data), window), key)
    view = memoryview(data)
    for i in range(len(crcs) // CRC_HEX_CHARS):
        expected = crcs[i * CRC_HEX_CHARS : (i + 1) * CRC_HEX_CHARS]
        actual = "%08x" % zlib.crc32(view[i * size : (i + 1) * size])
        if actual != expected:
            segment = checksum["firstSegment"] + i
            raise os_error(
                errno.EIO, "object %r segment %d fails its CRC-32 check: stored %s, read %s" % (key, segment, expected, actual), key
            )


# The file:// layout metad and the TypeScript SDK use (src/objstore/file/layout.ts): a key's first
# DIR_COMPONENTS components are directories, the rest one file name with "\\" for "/" (no key holds
# a backslash); a tail longer than one file name, and every key of stores written before this
# layout, stay nested (a directory per component). Reads look in both places.
DIR_COMPONENTS = 3
FLAT_SEPARATOR = "\\"
NAME_MAX_BYTES = 255


class FileStore:
    """file://DIR: one file per object (see the layout above); a put writes a temp file and renames it."""

    inline_reads = True

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.url = "file://" + self.root

    def _parts(self, key):
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or p.startswith(TEMP_COMPONENT_PREFIX) or FLAT_SEPARATOR in p for p in parts):
            raise os_error(errno.EINVAL, "object key %r is not valid" % key, key)
        return parts

    def _paths(self, key):
        """Where a put writes the key, then where older stores kept it."""
        parts = self._parts(key)
        nested = os.path.join(self.root, *parts)
        tail = FLAT_SEPARATOR.join(parts[DIR_COMPONENTS:])
        if len(parts) <= DIR_COMPONENTS + 1 or len(tail.encode("utf-8")) > NAME_MAX_BYTES:
            return [nested]
        return [os.path.join(self.root, *parts[:DIR_COMPONENTS], tail), nested]

    def _open(self, key, opener):
        paths = self._paths(key)
        for path in paths:
            try:
                return opener(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
        raise os_error(errno.ENOENT, "no object %r in %s" % (key, self.url), key)

    def get(self, key, offset, length):
        fd = self._open(key, lambda path: os.open(path, os.O_RDONLY))
        try:
            return pread_fully(fd, length, offset)
        finally:
            os.close(fd)

    def get_whole(self, key):
        with self._open(key, lambda path: open(path, "rb")) as f:
            return f.read()

    def put(self, key, data):
        path = self._paths(key)[0]
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        temp = os.path.join(directory, TEMP_COMPONENT_PREFIX + secrets.token_hex(8))
        try:
            with open(temp, "xb") as f:
                f.write(data)
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise


class S3Store:
    """s3://BUCKET[/PREFIX]?endpoint=URL&region=R with path-style addressing, as metad uses it."""

    inline_reads = False

    def __init__(self, url):
        import boto3  # noqa: imported here so file:// users need no boto3
        from botocore.config import Config

        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.bucket = parts.hostname
        self.prefix = unquote(parts.path).strip("/")
        region = (query.get("region") or ["us-east-1"])[0]
        endpoint = (query.get("endpoint") or ["https://s3.%s.amazonaws.com" % region])[0]
        self.url = url
        config = Config(s3={"addressing_style": "path"}, max_pool_connections=S3_POOL_CONNECTIONS, retries={"max_attempts": 4})
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=region, config=config)
        from botocore.exceptions import ClientError

        self._client_error = ClientError

    def _key(self, key):
        return "%s/%s" % (self.prefix, key) if self.prefix else key

    def get(self, key, offset, length):
        if length == 0:
            return b""
        return self._get_object(key, Range="bytes=%d-%d" % (offset, offset + length - 1))

    def get_whole(self, key):
        return self._get_object(key)

    def _get_object(self, key, **extra):
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except self._client_error as err:
            code = err.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise os_error(errno.ENOENT, "no object %r in %s" % (key, self.url), key)
            raise os_error(errno.EIO, "s3 get %r: %s" % (key, err), key)
        return reply["Body"].read()

    def put(self, key, data):
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(data))
        except self._client_error as err:
            raise os_error(errno.EIO, "s3 put %r: %s" % (key, err), key)


def open_store(url):
    if url.startswith("file://"):
        directory = url[len("file://") :]
        if not directory:
            raise os_error(errno.EINVAL, "object store url %r: no directory" % url)
        return FileStore(directory)
    if url.startswith("s3://"):
        return S3Store(url)
    raise os_error(errno.EINVAL, "object store url %r: expected file://DIR or s3://BUCKET[/PREFIX]" % url)


def pread_fully(fd, length, offset):
    """`length` bytes at `offset`, or fewer only at the end of the file (os.pread may return less)."""
    data = os.pread(fd, length, offset)
    while len(data) < length:
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            break
        data += more
    return data
