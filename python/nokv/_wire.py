"""One pipelined connection to metad (docs/wire-protocol.md), in plain Python threads.

Requests are framed (16-byte header, msgpack payload) and written as they come; a reader thread
resolves replies by request id in any order and routes PUSH frames to watch subscriptions. When
the connection drops, every request still waiting is sent again on a new connection: reads are
safe to repeat and every write carries a request key that metad deduplicates, so none is applied
twice. A forked child must not use its parent's connection (its reader thread did not survive
the fork); the Client opens a new one per process.
"""

import errno
import itertools
import os
import socket
import struct
import threading
import time

import msgpack

from ._errors import ProtocolError, os_error, wire_error

MAGIC = b"NKVRPC1\n"
HEADER = struct.Struct(">QII")
FLAG_RESPONSE = 0x1
FLAG_ERROR = 0x2
FLAG_PUSH = 0x4
FLAGS_KNOWN = FLAG_RESPONSE | FLAG_ERROR | FLAG_PUSH
FRAME_MAX_BYTES = 64 * 1024 * 1024
REQUEST_TIMEOUT_S = 60.0
RECONNECT_MAX_ATTEMPTS = 8
RECONNECT_BACKOFF_S = 0.05
READ_BUFFER_BYTES = 1 << 20


def _refuse_extension(code, data):
    # The protocol has no extension types; an ExtType would otherwise reach the caller as a value.
    raise ProtocolError("metad sent msgpack extension type %d: not wire data" % code)


def encode(value):
    try:
        return msgpack.packb(value, use_bin_type=True)
    except (TypeError, OverflowError, ValueError) as err:
        raise os_error(errno.EINVAL, "value cannot be encoded as msgpack: %s" % err)


def decode(payload):
    try:
        return msgpack.unpackb(payload, raw=False, ext_hook=_refuse_extension, strict_map_key=True)
    except ProtocolError:
        raise
    except Exception as err:  # msgpack raises several unrelated types for bad input
        raise ProtocolError("bad msgpack payload: %s" % err)


class _Call:
    __slots__ = ("op", "args", "key", "auth", "event", "value", "error")

    def __init__(self, op, args, key, auth=False):
        self.op, self.args, self.key, self.auth = op, args, key, auth
        self.event = threading.Event()
        self.value = None
        self.error = None

    def frame(self, request_id):
        envelope = {"op": self.op, "args": self.args}
        if self.key is not None:
            envelope["requestKey"] = self.key
        payload = encode(envelope)
        if len(payload) > FRAME_MAX_BYTES:
            raise os_error(errno.EFBIG, "request of %d bytes, limit %d: split the batch" % (len(payload), FRAME_MAX_BYTES))
        return HEADER.pack(request_id, 0, len(payload)) + payload

    def settle(self, value=None, error=None):
        self.value, self.error = value, error
        self.event.set()

    def result(self, timeout_s):
        if not self.event.wait(timeout_s):
            raise os_error(errno.ETIMEDOUT, "%s had no reply within %g s" % (self.op, timeout_s))
        if self.error is not None:
            raise self.error
        return self.value


class Connection:
    """Pipelined requests over one socket at a time; reconnects and re-sends what was in flight."""

    def __init__(self, host, port, mount="default", token=None, timeout_s=REQUEST_TIMEOUT_S):
        self.host, self.port, self.mount_name, self.token = host, port, mount, token
        self.timeout_s = timeout_s
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._connect_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending = {}
        self._push = {}
        self._sock = None
        self._closed = False
        self.on_reconnect = []
        self.hello = None
        self._open()

    # -- calls

    def call(self, op, args, key=None):
        return self.submit(op, args, key).result(self.timeout_s)

    def submit(self, op, args, key=None):
        return self.submit_many([(op, args, key)])[0]

    def submit_many(self, requests):
        """Sends every (op, args, key) in one write; returns their calls, in order."""
        calls = [_Call(op, args, key) for op, args, key in requests]
        self._send(calls)
        return calls

    def subscribe_push(self, subscription, handler):
        with self._lock:
            if handler is None:
                self._push.pop(subscription, None)
            else:
                self._push[subscription] = handler

    def close(self):
        with self._lock:
            self._closed = True
            sock, self._sock = self._sock, None
            pending = list(self._pending.values())
            self._pending.clear()
        for call in pending:
            call.settle(error=os_error(errno.EBADF, "client closed"))
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def drop_connection(self):
        """Cuts the socket as a network failure would (tests use it to prove retries are safe)."""
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- sending

    def _send(self, calls):
        if self._closed:
            raise os_error(errno.EBADF, "client is closed")
        if os.getpid() != self.pid:
            raise os_error(errno.EBADF, "connection belongs to process %d (opened before a fork)" % self.pid)
        if self._sock is None:
            self._open()
        with self._lock:
            sock = self._sock
            frames = []
            for call in calls:
                request_id = next(self._ids)
                try:
                    frames.append(call.frame(request_id))
                except OSError as err:
                    call.settle(error=err)
                    continue
                self._pending[request_id] = call
            if sock is None:
                return  # dropped meanwhile: the reader's reconnect re-sends what is pending
            try:
                sock.sendall(b"".join(frames))
            except OSError:
                pass  # the reader sees the same failure and re-sends on a new connection

    # -- connecting

    def _open(self):
        with self._connect_lock:
            if self._sock is not None:
                return
            last = None
            for attempt in range(RECONNECT_MAX_ATTEMPTS):
                if self._closed:
                    break
                if attempt:
                    time.sleep(RECONNECT_BACKOFF_S * 2 ** min(attempt - 1, 6))
                try:
                    self._open_once()
                    return
                except (OSError, ProtocolError) as err:
                    if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.ENOENT, errno.EINVAL):
                        raise  # a wrong token or mount will not get better by retrying
                    last = err
            raise os_error(errno.ECONNRESET, "cannot reach metad at %s:%d: %s" % (self.host, self.port, last or "client closed"))

    def _open_once(self):
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        hello_args = {"mount": self.mount_name}
        if self.token is not None:
            hello_args["token"] = self.token
        hello = _Call("hello", hello_args, None, auth=True)
        with self._lock:
            request_id = next(self._ids)
            self._pending[request_id] = hello
            sock.sendall(MAGIC + hello.frame(request_id))
            self._sock = sock
        threading.Thread(target=self._read_loop, args=(sock,), name="nokv-reader", daemon=True).start()
        try:
            reply = hello.result(self.timeout_s)
        except Exception:
            self._drop(sock, reconnect=False)
            raise
        if self.hello is not None and reply["mount"]["id"] != self.hello["mount"]["id"]:
            raise ProtocolError("mount %r changed id across a reconnect" % self.mount_name)
        self.hello = reply

    def _read_loop(self, sock):
        stream = sock.makefile("rb", buffering=READ_BUFFER_BYTES)
        failure = None
        try:
            while True:
                header = stream.read(HEADER.size)
                if len(header) < HEADER.size:
                    break
                request_id, flags, length = HEADER.unpack(header)
                if flags & ~FLAGS_KNOWN or length > FRAME_MAX_BYTES:
                    raise ProtocolError("bad frame header: flags 0x%x, %d bytes" % (flags, length))
                payload = stream.read(length)
                if len(payload) < length:
                    break
                message = decode(payload)
                if flags & FLAG_PUSH:
                    handler = self._push.get(request_id)
                    if handler is not None:
                        handler(message)
                    continue
                if request_id == 0:
                    raise wire_error(message.get("error") if isinstance(message, dict) else None)
                self._settle(request_id, message)
        except (OSError, ProtocolError, ValueError) as err:
            failure = err
        finally:
            stream.close()
        if isinstance(failure, ProtocolError) or (isinstance(failure, OSError) and failure.errno not in (None, errno.ECONNRESET, errno.EPIPE, errno.EBADF)):
            # A stream we cannot read, or a connection-level error: what waits fails, nothing is re-sent.
            self._drop(sock, reconnect=False, error=failure)
        else:
            self._drop(sock, reconnect=True)

    def _settle(self, request_id, message):
        with self._lock:
            call = self._pending.pop(request_id, None)
        if call is None:
            return
        if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
            call.settle(error=ProtocolError("response must be a map with boolean ok, got %r" % type(message).__name__))
        elif message["ok"]:
            call.settle(value=message.get("value"))
        else:
            call.settle(error=wire_error(message.get("error")))

    def _drop(self, sock, reconnect, error=None):
        with self._lock:
            if self._sock is not sock:
                sock.close()
                return
            self._sock = None
            pending = list(self._pending.values())
            self._pending.clear()
        sock.close()
        retry = [call for call in pending if not call.auth]
        for call in pending:
            if call.auth:
                call.settle(error=error or os_error(errno.ECONNRESET, "connection closed during hello"))
        if not reconnect or self._closed or (not retry and not self._push):
            for call in retry:
                call.settle(error=error or os_error(errno.ECONNRESET, "connection to metad closed"))
            return
        try:
            self._open()
        except OSError as err:
            for call in retry:
                call.settle(error=err)
            return
        for callback in list(self.on_reconnect):
            callback()
        self._send(retry)
