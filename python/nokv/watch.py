"""Watching a directory: events metad pushes, each delivered once in commit order, resumable
from any event's cursor (a reconnect resubscribes from the last one taken)."""

import queue
import threading

from ._errors import wire_error


class WatchEvent:
    """One change in a watched directory; `cursor` resumes a later watch right after it."""

    __slots__ = ("kind", "scope", "name", "inode", "to_scope", "to_name", "generation", "version", "ordinal")

    def __init__(self, wire):
        self.kind, self.scope, self.name, self.inode = wire["kind"], wire["scope"], wire["name"], wire["inode"]
        self.to_scope, self.to_name, self.generation = wire.get("toScope"), wire.get("toName"), wire.get("generation")
        self.version, self.ordinal = wire["version"], wire["ordinal"]

    @property
    def cursor(self):
        return "%d.%d" % (self.version, self.ordinal)

    def __repr__(self):
        return "WatchEvent(%s %r in %d at %s)" % (self.kind, self.name, self.scope, self.cursor)



class Watcher:
    """Events pushed by metad, delivered once each in commit order; `.cursor` is where to resume."""

    _next_id = 0
    _ids_lock = threading.Lock()

    def __init__(self, client, path, cursor):
        self._client = client
        self._conn = client._conn
        self._path = path
        self._queue = queue.Queue()
        self._position = None
        self.cursor = cursor
        self._subscription = None
        self._conn.on_reconnect.append(self._resubscribe)
        self._subscribe(cursor or "now")

    def _args(self, cursor):
        return {"mount": self._client.mount_id, "path": self._path, "cursor": cursor}

    def _subscribe(self, cursor):
        # The id is ours and its handler is in place before the request goes out, so no push can
        # arrive for an id we do not know yet. metad pushes every event after the cursor, first
        # from its log and then live, in commit order, each once.
        with Watcher._ids_lock:
            Watcher._next_id += 1
            subscription = Watcher._next_id
        self._conn.subscribe_push(subscription, self._accept)
        args = self._args(cursor)
        args["subscription"] = subscription
        try:
            reply = self._conn.call("watch_subscribe", args)
        except BaseException:
            self._conn.subscribe_push(subscription, None)
            raise
        self._subscription = subscription
        if self.cursor is None:
            self.cursor = reply["cursor"]

    def _resubscribe(self):
        threading.Thread(target=self._subscribe, args=(self.cursor,), daemon=True).start()

    def _accept(self, push):
        if push.get("error"):
            # The subscription ended (ESTALE: its cursor fell behind what metad retains).
            self._queue.put(wire_error(push["error"], self._path))
            return
        for wire in push.get("events") or []:
            self._queue.put(WatchEvent(wire))

    def next(self, timeout=None):
        """The next event, waiting up to `timeout` seconds (None: forever); queue.Empty on timeout."""
        while True:
            event = self._queue.get(timeout=timeout)
            if isinstance(event, BaseException):
                raise event
            position = (event.version, event.ordinal)
            # Replays and pushes may overlap: drop what is at or before the last delivered event.
            if self.cursor is not None and position <= tuple(int(x) for x in self.cursor.split(".")):
                continue
            self.cursor = event.cursor
            return event

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def close(self):
        self._conn.subscribe_push(self._subscription, None)
        if self._resubscribe in self._conn.on_reconnect:
            self._conn.on_reconnect.remove(self._resubscribe)
        try:
            self._conn.call("watch_unsubscribe", {"mount": self._client.mount_id, "subscription": self._subscription})
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = ["WatchEvent", "Watcher"]
