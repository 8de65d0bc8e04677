"""Files written from Python read byte-exact from TypeScript and the other way round, over a
file:// store and over S3 (s3rver)."""

import hashlib
import os
import subprocess

import pytest

import nokv
from conftest import BUN, REPO, S3RVER_ENV

PEER = os.path.join(REPO, "python", "tests", "ts_peer.ts")


def peer(url, *args, env=None):
    run = subprocess.run([BUN, PEER, url, *args], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr
    return [line.split(" ", 2) for line in run.stdout.strip().splitlines()]


def ts_bytes(path, size):
    out = bytearray()
    n = 0
    while len(out) < size:
        out += hashlib.sha256(("%s:%d" % (path, n)).encode()).digest()
        n += 1
    return bytes(out[:size])


def _round_trip(server, env=None):
    client = nokv.connect(server.url)
    root = "/xlang-%d" % os.getpid()
    client.mkdir(root, exist_ok=True)
    # Python -> TypeScript: sizes around block edges (64 KiB blocks), empty, and several MiB.
    sizes = [0, 1, 65535, 65536, 65537, 5 * 1024 * 1024 + 17]
    written = {}
    for size in sizes:
        path = "%s/py-%d" % (root, size)
        data = os.urandom(size)
        client.write_file(path, data, block_size=65536 if size < 1 << 20 else None)
        written[path] = data
    for digest, size, path in peer(server.url, "read", *written, env=env):
        assert digest == hashlib.sha256(written[path]).hexdigest() and int(size) == len(written[path])
    # TypeScript -> Python.
    paths = ["%s/ts-%d" % (root, i) for i in range(3)]
    lines = peer(server.url, "write", str(4 * 1024 * 1024 + 5), *paths, env=env)
    for (digest, size, path), i in zip(lines, range(3)):
        data = client.read(path)
        assert len(data) == int(size) and hashlib.sha256(data).hexdigest() == digest
        assert data == ts_bytes(path, 4 * 1024 * 1024 + 5 + i * 1000)
        assert client.read_ranges([(path, 4 * 1024 * 1024 - 3, 10)]) == [data[4 * 1024 * 1024 - 3 : 4 * 1024 * 1024 + 7]]
    client.rm(root, recursive=True)
    client.close()


def test_python_and_typescript_read_each_others_files_file_store(metad):
    _round_trip(metad)


def test_python_and_typescript_read_each_others_files_s3(s3_metad):
    pytest.importorskip("boto3", reason="python3-boto3 is not installed")
    _round_trip(s3_metad, env=S3RVER_ENV)


def test_s3_store_reads_through_boto3_with_checksums(s3_metad):
    pytest.importorskip("boto3", reason="python3-boto3 is not installed")
    client = nokv.connect(s3_metad.url)
    assert client.hello["objects"].startswith("s3://")
    data = os.urandom(300_000)
    client.write_file("/s3-checked", data, block_size=65536)
    assert client.read("/s3-checked") == data
    assert client.read_ranges([("/s3-checked", 70_000, 100_000)]) == [data[70_000:170_000]]
    client.close()
