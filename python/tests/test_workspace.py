import fsspec
import pytest

import nokv.fsspec  # noqa: registers the protocol


def test_clone_diff_rollback_from_python(client, tmp_root):
    client.mkdir(tmp_root + "/ws/sub", parents=True)
    client.write_file(tmp_root + "/ws/a.txt", b"alpha")
    client.write_file(tmp_root + "/ws/sub/b.txt", b"bravo")
    made = client.clone(tmp_root + "/ws", tmp_root + "/try")
    assert made["entries"] == 4
    client.write_file(tmp_root + "/try/a.txt", b"changed")
    assert client.read_file(tmp_root + "/ws/a.txt") == b"alpha"
    diff = list(client.diff(tmp_root + "/ws", tmp_root + "/try"))
    assert [(e["kind"], e["path"], e["changes"]) for e in diff] == [("changed", "a.txt", ["content"])]
    snap = client.snapshot(tmp_root + "/try")
    client.unlink(tmp_root + "/try/sub/b.txt")
    assert [(e["kind"], e["path"]) for e in client.diff(tmp_root + "/try", tmp_root + "/try", snapshot=snap.id)] == [("removed", "sub/b.txt")]
    assert client.rollback(tmp_root + "/try", snap.id)["changed"] == 1
    assert client.read_file(tmp_root + "/try/sub/b.txt") == b"bravo"
    with pytest.raises(FileExistsError):
        client.clone(tmp_root + "/ws", tmp_root + "/try")


def test_fsspec_cp_file_clones_and_replaces(metad, tmp_root):
    fs = fsspec.filesystem("nokv", host="127.0.0.1", port=metad.port, mount="default")
    fs.pipe_file(tmp_root + "/big.bin", b"x" * 100_000)
    fs.pipe_file(tmp_root + "/old.bin", b"old")
    fs.cp_file(tmp_root + "/big.bin", tmp_root + "/copy.bin")
    fs.cp_file(tmp_root + "/big.bin", tmp_root + "/old.bin")
    assert fs.cat_file(tmp_root + "/copy.bin") == b"x" * 100_000
    assert fs.cat_file(tmp_root + "/old.bin") == b"x" * 100_000
    assert fs.info(tmp_root + "/copy.bin")["size"] == 100_000
