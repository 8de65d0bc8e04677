"""Fixtures: a real metad (bun src/server/main.ts) on an OS-chosen port over a temp directory, with
a file:// store or a real S3 server (s3rver, the one the TypeScript suite runs)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))
BUN = os.path.join(REPO, "node_modules", ".bin", "bun")
S3RVER_ENV = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}
START_TIMEOUT_S = 30


class Metad:
    def __init__(self, objects_url, env=None, extra=()):
        self.dir = tempfile.mkdtemp(prefix="nokv-py-")
        args = [BUN, "src/server/main.ts", "--listen", "127.0.0.1:0", "--data", os.path.join(self.dir, "data"),
                "--objects", objects_url or "file://" + os.path.join(self.dir, "objects"), *extra]
        self.proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        text = ""
        while True:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError("metad did not start: %s%s" % (text, self.proc.stderr.read().decode()))
            text += line
            match = re.search(r"ready on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
        self.url = "nokv://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class S3rver:
    def __init__(self, bucket="nokv-test"):
        self.dir = tempfile.mkdtemp(prefix="nokv-py-s3rver-")
        main = os.path.join(REPO, "src", "objstore", "s3", "testing", "s3rver-main.mjs")
        self.proc = subprocess.Popen(["node", "--openssl-legacy-provider", main, self.dir, bucket], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line:
            raise RuntimeError("s3rver did not start: %s" % self.proc.stderr.read().decode())
        self.port = json.loads(line)["port"]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.bucket = bucket

    def store_url(self, prefix):
        from urllib.parse import quote

        return "s3://%s/%s?endpoint=%s&region=us-east-1" % (self.bucket, prefix, quote(self.endpoint, safe=""))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def metad():
    server = Metad(None)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3rver():
    for name, value in S3RVER_ENV.items():
        os.environ.setdefault(name, value)
    server = S3rver()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_metad(s3rver):
    server = Metad(s3rver.store_url("py-%d" % os.getpid()), env=S3RVER_ENV)
    yield server
    server.stop()


@pytest.fixture
def client(metad):
    import nokv

    c = nokv.connect(metad.url)
    yield c
    c.close()


_counter = [0]


@pytest.fixture
def tmp_root(client):
    """A fresh directory in the namespace for one test."""
    _counter[0] += 1
    root = "/t%d-%d" % (os.getpid(), _counter[0])
    client.mkdir(root)
    return root
