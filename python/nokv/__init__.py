"""NoKV for Python: a client of metad's wire protocol (no Node or Bun at run time), an fsspec
filesystem (`nokv://HOST:PORT/MOUNT/path`) and PyTorch datasets and checkpoint helpers
(`nokv.torch`). File bytes go straight between this process and the object store."""

from ._errors import ProtocolError
from .client import Client, Snapshot, Stat, WatchEvent, Watcher, connect
from .files import NoKVReader, NoKVWriter

__all__ = ["Client", "NoKVReader", "NoKVWriter", "ProtocolError", "Snapshot", "Stat", "WatchEvent", "Watcher", "connect"]
__version__ = "0.1.0"
