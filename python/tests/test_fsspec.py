import datetime
import os
import subprocess
import sys

import fsspec
import pytest

import nokv.fsspec  # noqa: registers the protocol for a checkout that is not pip-installed


@pytest.fixture
def fs(metad):
    return fsspec.filesystem("nokv", host="127.0.0.1", port=metad.port, mount="default")


def test_fsspec_open_url_and_filesystem_api(metad, fs, tmp_root):
    url = "nokv://127.0.0.1:%d/default%s/a/file.bin" % (metad.port, tmp_root)
    fs.makedirs(tmp_root + "/a", exist_ok=True)
    data = os.urandom(300_000)
    with fsspec.open(url, "wb") as f:
        f.write(data[:1000])
        f.write(data[1000:])
    with fsspec.open(url, "rb") as f:
        f.seek(12345)
        assert f.read(100) == data[12345:12445]
    assert fs.cat_file(tmp_root + "/a/file.bin") == data
    assert fs.cat_file(tmp_root + "/a/file.bin", start=10, end=20) == data[10:20]
    fs.pipe_file(tmp_root + "/a/small", b"small")
    info = fs.info(tmp_root + "/a/file.bin")
    assert info["type"] == "file" and info["size"] == len(data)
    listing = fs.ls(tmp_root + "/a", detail=True)
    assert sorted((e["name"], e["type"]) for e in listing) == [(tmp_root + "/a/file.bin", "file"), (tmp_root + "/a/small", "file")]
    assert fs.find(tmp_root) == [tmp_root + "/a/file.bin", tmp_root + "/a/small"]
    assert fs.cat_ranges([tmp_root + "/a/file.bin", tmp_root + "/a/small"], [0, 1], [5, 3]) == [data[:5], b"ma"]
    fs.cp_file(tmp_root + "/a/file.bin", tmp_root + "/a/copy.bin")
    assert fs.cat_file(tmp_root + "/a/copy.bin") == data
    before = fs.checksum(tmp_root + "/a/small")
    fs.pipe_file(tmp_root + "/a/small", b"changed")
    assert fs.checksum(tmp_root + "/a/small") != before
    fs.mv(tmp_root + "/a/small", tmp_root + "/moved")
    assert fs.exists(tmp_root + "/moved") and not fs.exists(tmp_root + "/a/small")
    assert isinstance(fs.modified(tmp_root + "/moved"), datetime.datetime)
    fs.rm(tmp_root + "/a", recursive=True)
    assert not fs.exists(tmp_root + "/a")
    with pytest.raises(FileNotFoundError):
        fs.info(tmp_root + "/a")


def test_pandas_reads_and_writes_csv_over_nokv(metad, tmp_root):
    pd = pytest.importorskip("pandas", reason="python3-pandas is not installed")
    url = "nokv://127.0.0.1:%d/default%s/table.csv" % (metad.port, tmp_root)
    frame = pd.DataFrame({"x": range(1000), "y": [i * 0.5 for i in range(1000)]})
    frame.to_csv(url, index=False)
    back = pd.read_csv(url)
    assert back.equals(frame)


def test_entry_point_registers_the_protocol_when_pip_installed(tmp_path, metad):
    """pip install ./python (offline: no build isolation), then a fresh interpreter finds `nokv`."""
    target = tmp_path / "site"
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    built = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                            "--target", str(target), repo], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip("pip cannot build the package here: %s" % built.stderr[-300:])
    code = ("import fsspec, sys; fs = fsspec.filesystem('nokv', host='127.0.0.1', port=%d); "
            "import nokv; assert nokv.__file__.startswith(sys.argv[1]); print(type(fs).__module__, fs.ls('/', detail=False) is not None)") % metad.port
    run = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(target)}, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["nokv.fsspec", "True"]
