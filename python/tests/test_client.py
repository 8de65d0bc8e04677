import errno
import os
import queue
import threading

import msgpack
import pytest

import nokv
from nokv import _wire


def test_connect_hello_names_mount_and_store(client):
    assert client.hello["mount"]["name"] == "default"
    assert isinstance(client.mount_id, int)
    assert client.hello["objects"].startswith("file://")


def test_path_api_and_errors_are_python_exceptions(client, tmp_root):
    client.mkdir(tmp_root + "/a/b/c", parents=True)
    assert client.stat(tmp_root + "/a/b").is_dir()
    client.mkdir(tmp_root + "/a/b", exist_ok=True)
    with pytest.raises(FileExistsError) as info:
        client.mkdir(tmp_root + "/a")
    assert info.value.filename == tmp_root + "/a"
    with pytest.raises(FileNotFoundError) as missing:
        client.stat(tmp_root + "/nope")
    assert missing.value.errno == errno.ENOENT and "ENOENT" in missing.value.strerror
    client.write_file(tmp_root + "/a/f.txt", b"hello")
    with pytest.raises(NotADirectoryError):
        client.listdir(tmp_root + "/a/f.txt/x")
    with pytest.raises(IsADirectoryError):
        client.read(tmp_root + "/a")
    with pytest.raises(OSError) as notempty:
        client.rmdir(tmp_root + "/a")
    assert notempty.value.errno == errno.ENOTEMPTY
    entries = client.listdir(tmp_root + "/a", detail=True)
    assert [(e.name, e.type) for e in entries] == [("b", "dir"), ("f.txt", "file")]
    assert entries[1].size == 5
    client.symlink(tmp_root + "/link", tmp_root + "/a/f.txt")
    assert client.readlink(tmp_root + "/link") == tmp_root + "/a/f.txt"
    assert client.lstat(tmp_root + "/link").is_symlink()
    assert client.read(tmp_root + "/link") == b"hello"
    client.rename(tmp_root + "/a/f.txt", tmp_root + "/g.txt")
    assert client.read(tmp_root + "/g.txt") == b"hello"
    with pytest.raises(FileExistsError):
        client.rename(tmp_root + "/g.txt", tmp_root + "/link", no_replace=True)
    client.rm(tmp_root + "/a", recursive=True)
    assert not client.exists(tmp_root + "/a")
    with pytest.raises(IsADirectoryError):
        client.rm(tmp_root)


def test_batch_returns_values_and_errors_in_order(client, tmp_root):
    results = client.batch([("mkdir_path", {"path": tmp_root + "/x"}), ("stat_path", {"path": tmp_root + "/missing"}),
                            ("create_file_path", {"path": tmp_root + "/x/y"})])
    assert isinstance(results[0], list) and isinstance(results[2], list)
    assert isinstance(results[1], FileNotFoundError) and results[1].filename == tmp_root + "/missing"


def test_bodies_round_trip_across_blocks_and_ranges(client, tmp_root):
    data = os.urandom(3 * 65536 + 123)
    st = client.write_file(tmp_root + "/big.bin", data, block_size=65536)
    assert st.size == len(data)
    assert client.read(tmp_root + "/big.bin") == data
    assert client.read(tmp_root + "/big.bin", 65530, 20) == data[65530:65550]
    with client.open(tmp_root + "/big.bin") as f:
        f.seek(100000)
        assert f.read(70000) == data[100000:170000]
        f.seek(-10, os.SEEK_END)
        assert f.read() == data[-10:]
    ranges = [(tmp_root + "/big.bin", i * 1000, 100) for i in range(50)]
    assert client.read_ranges(ranges) == [data[i * 1000 : i * 1000 + 100] for i in range(50)]
    client.write_file(tmp_root + "/empty", b"")
    assert client.read(tmp_root + "/empty") == b""
    with pytest.raises(FileExistsError):
        client.write_file(tmp_root + "/empty", b"x", replace=False)


def test_blocks_count_what_blocks_hold_not_holes(client, tmp_root):
    path = tmp_root + "/sparse.bin"
    st = client.write_file(path, b"x" * 1000)
    assert (st.size, st.hole_bytes, st.blocks) == (1000, 0, 2)
    # Grown by a truncate: the new bytes are a hole (zeros no block holds), and the wire says so.
    st = client.truncate(path, 1 << 20)
    assert (st.size, st.hole_bytes, st.blocks) == (1 << 20, (1 << 20) - 1000, 2)
    assert client.stat(path).blocks == 2
    assert client.read(path, 999, 3) == b"x\0\0"


def test_writer_publishes_nothing_until_close_and_nothing_on_error(client, tmp_root):
    w = client.open(tmp_root + "/pending", "wb")
    w.write(b"a" * 100)
    assert not client.exists(tmp_root + "/pending")
    w.close()
    assert client.read(tmp_root + "/pending") == b"a" * 100
    with pytest.raises(RuntimeError):
        with client.open(tmp_root + "/failed", "wb") as w:
            w.write(b"partial")
            raise RuntimeError("producer failed")
    assert not client.exists(tmp_root + "/failed")


def test_snapshot_is_a_read_only_view(client, tmp_root):
    client.write_file(tmp_root + "/keep", b"v1")
    snap = client.snapshot(tmp_root)
    client.write_file(tmp_root + "/keep", b"version 2")
    client.unlink(tmp_root + "/keep")
    # Paths in a snapshot are the live namespace's absolute paths; only the pinned directory's
    # subtree resolves.
    assert snap.read(tmp_root + "/keep") == b"v1"
    assert snap.listdir(tmp_root) == ["keep"]
    with pytest.raises(FileNotFoundError):
        snap.listdir("/")
    with pytest.raises(OSError) as rofs:
        snap.open(tmp_root + "/new", "wb")
    assert rofs.value.errno == errno.EROFS
    snap.retire()


def test_watch_yields_typed_events_and_resumes_from_cursor(client, tmp_root):
    watcher = client.watch(tmp_root)
    client.mkdir(tmp_root + "/d1")
    client.write_file(tmp_root + "/f1", b"x")
    first = watcher.next(timeout=10)
    assert (first.kind, first.name) == ("create", "d1")
    second = watcher.next(timeout=10)
    assert isinstance(second, nokv.WatchEvent) and second.name == "f1" and second.kind in ("create", "publish")
    cursor = watcher.cursor
    watcher.close()
    client.rename(tmp_root + "/f1", tmp_root + "/f2")
    resumed = client.watch(tmp_root, cursor=cursor)
    event = resumed.next(timeout=10)
    assert event.kind == "rename" and event.name == "f1" and event.to_name == "f2"
    with pytest.raises(queue.Empty):
        resumed.next(timeout=0.3)
    resumed.close()


def test_retries_after_a_dropped_connection_apply_writes_once(client, tmp_root):
    names = ["%s/r%d" % (tmp_root, i) for i in range(200)]
    conn = client._conn
    calls = conn.submit_many([("mkdir_path", {"mount": client.mount_id, "path": n}, client.next_key()) for n in names])
    conn.drop_connection()
    for call in calls:
        call.result(30)  # each succeeds once: a re-sent mkdir with its key is not EEXIST
    assert len(client.listdir(tmp_root)) == 200
    assert client.stat(names[-1]).is_dir()


def test_pipelined_calls_from_many_threads(client, tmp_root):
    client.write_file(tmp_root + "/s", b"shared")
    errors = []

    def reader():
        try:
            for _ in range(50):
                assert client.read(tmp_root + "/s") == b"shared"
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_large_integers_arrive_as_integers_and_no_extension_types(metad, client):
    """Item 7 of issue 11: raw frames, decoded by Python's msgpack with no ext hook at all."""
    import socket

    sock = socket.create_connection(("127.0.0.1", metad.port))
    big = 2 ** 40 + 7

    def rpc(request_id, op, args):
        payload = msgpack.packb({"op": op, "args": args}, use_bin_type=True)
        sock.sendall(_wire.HEADER.pack(request_id, 0, len(payload)) + payload)
        header = b""
        while len(header) < 16:
            header += sock.recv(16 - len(header))
        _, flags, length = _wire.HEADER.unpack(header)
        body = b""
        while len(body) < length:
            body += sock.recv(length - len(body))
        return msgpack.unpackb(body, raw=False)

    sock.sendall(_wire.MAGIC)
    hello = rpc(1, "hello", {"mount": "default"})
    mount = hello["value"]["mount"]["id"]
    for value in _walk(hello):
        assert not isinstance(value, (float, msgpack.ExtType)) or value != int(value) if isinstance(value, float) else True
    # An inode number above 2^32 is echoed back in the error text; a size above 2^32 round-trips as int.
    reply = rpc(2, "getattr", {"mount": mount, "inode": big})
    assert reply["ok"] is False and reply["error"]["code"] == "ENOENT"
    stats = rpc(3, "stats", {"mount": mount})
    for value in _walk(stats):
        assert not isinstance(value, msgpack.ExtType)
        if isinstance(value, float):
            assert value != int(value) or abs(value) > 2 ** 64, "integral value sent as float: %r" % value
    # A reply without a value is nil, not an extension.
    sub = rpc(4, "watch_subscribe", {"mount": mount, "path": "/"})
    unsub = rpc(5, "watch_unsubscribe", {"mount": mount, "subscription": sub["value"]["subscription"]})
    assert unsub["ok"] is True
    mkdir = rpc(6, "mkdir_path", {"mount": mount, "path": "/int-check-%d" % os.getpid(), "recursive": True})
    rm = rpc(7, "remove_path", {"mount": mount, "path": "/int-check-%d" % os.getpid()})
    assert rm == {"ok": True, "value": None}
    assert isinstance(mkdir["value"][0], int) and isinstance(mkdir["value"][10], int)
    sock.close()


def test_encoder_sizes_above_2_32_are_exact_integers():
    for value in (2 ** 32, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 64 - 1):
        assert msgpack.unpackb(_wire.encode(value)) == value
    with pytest.raises(OSError) as err:
        _wire.encode(2 ** 64)
    assert err.value.errno == errno.EINVAL
    with pytest.raises(nokv.ProtocolError):
        _wire.decode(b"\xd4\x00\x00")


def _walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def test_bad_server_address_and_bad_paths():
    with pytest.raises(OSError):
        nokv.connect("nokv://127.0.0.1:1", timeout_s=2)
    with pytest.raises(OSError) as err:
        nokv.connect("http://x")
    assert err.value.errno == errno.EINVAL


def test_read_ranges_verify_crc32_segments_when_the_plan_carries_them(tmp_path):
    """A read-plan range with a checksum (the integrity format) is verified segment by segment."""
    from nokv._objects import FileStore, block_checksum
    from nokv.client import _fill

    store = FileStore(str(tmp_path))
    data = os.urandom(200_000)
    store.put("blocks/1/2/3/0/0", data)
    whole = block_checksum(data, 65536)
    assert len(whole["crc32"]) == 4 * 8
    # Bytes 70,000..150,000 lie in segments 1 and 2: the reader fetches those whole and checks them.
    ranged = dict(whole, firstSegment=1, crc32=whole["crc32"][8:24])
    out = bytearray(80_000)
    _fill(store, out, {"key": "blocks/1/2/3/0/0", "objectOffset": 70_000, "lengthBytes": 80_000, "outputOffset": 0, "checksum": ranged})
    assert bytes(out) == data[70_000:150_000]
    corrupt = bytearray(data)
    corrupt[140_000] ^= 1
    store.put("blocks/1/2/3/0/0", bytes(corrupt))
    with pytest.raises(OSError) as err:
        _fill(store, out, {"key": "blocks/1/2/3/0/0", "objectOffset": 70_000, "lengthBytes": 80_000, "outputOffset": 0, "checksum": ranged})
    assert err.value.errno == errno.EIO and "segment 2 fails its CRC-32 check" in err.value.strerror


def test_token_protected_metad_admits_only_the_right_token():
    from conftest import Metad

    server = Metad(None, extra=("--token", "s3cret-token-for-tests"))
    try:
        with pytest.raises(PermissionError):
            nokv.connect(server.url, token="wrong")
        with pytest.raises(PermissionError):
            nokv.connect(server.url)
        client = nokv.connect(server.url, token="s3cret-token-for-tests")
        client.mkdir("/ok")
        client._conn.drop_connection()  # the reconnect presents the token again
        assert client.stat("/ok").is_dir()
        client.close()
    finally:
        server.stop()
