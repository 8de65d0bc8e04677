"""metad errors as Python's own: OSError(errno, message, path), which Python itself turns into
FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError..."""

import errno as _errno


class ProtocolError(OSError):
    """The peer sent something the wire protocol does not allow (EPROTO)."""

    def __init__(self, message):
        super().__init__(_errno.EPROTO, message)


def errno_of(code):
    """The errno number of a POSIX errno name; an unknown name is EIO (docs/wire-protocol.md)."""
    number = getattr(_errno, code, None) if isinstance(code, str) and code.isupper() else None
    return number if isinstance(number, int) else _errno.EIO


def wire_error(error, path=None):
    """The OSError for a wire error map {code, message, path?, syscall?}."""
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return ProtocolError("malformed error reply: %r" % (error,))
    code = error.get("code")
    number = errno_of(code)
    message = error["message"]
    if number == _errno.EIO and code != "EIO":
        message = "peer error %r: %s" % (code, message)
    where = error.get("path") if isinstance(error.get("path"), str) else path
    return OSError(number, message, where) if where is not None else OSError(number, message)


def os_error(number, message, path=None):
    return OSError(number, "%s: %s" % (_errno.errorcode.get(number, "EIO"), message), path) if path is not None else OSError(
        number, "%s: %s" % (_errno.errorcode.get(number, "EIO"), message)
    )
