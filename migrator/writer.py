"""Safe file I/O: read sources and replace files atomically.

:func:`atomic_write` never leaves a half-written file behind: the new content
goes to a temporary file in the same directory (``.{name}.openai-migrate-*.tmp``),
is flushed and fsynced, gets the original file's permission bits, and then
atomically replaces the target with :func:`os.replace`. It refuses to write
through symlinks and to modify read-only files.

Note: replacing a file gives it a new inode, so other hard links to the old
file keep the old content.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Union

__all__ = ["ReadError", "WriteError", "atomic_write", "read_source", "TEMP_MARKER"]

#: Every temporary file created by :func:`atomic_write` has a name starting
#: with "." and containing this marker.
TEMP_MARKER = "openai-migrate"

_WINDOWS = os.name == "nt"
_MAX_NAME_IN_TEMP = 100  # keep temp names well below the 255-byte name limit

PathLike = Union[str, "os.PathLike[str]"]


class WriteError(OSError):
    """The target cannot or must not be written. The message is complete and
    human-readable (it names the path)."""


class ReadError(OSError):
    """The source cannot be read. The message is complete and human-readable
    (it names the path)."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or exc.__class__.__name__


def read_source(path: PathLike) -> bytes:
    """Return the bytes of the regular file *path* (symlinks are followed
    for reading), raising :class:`ReadError` with a clear message otherwise."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ReadError(f"{path}: is a broken symlink") from None
        raise ReadError(f"{path}: no such file") from None
    except PermissionError as exc:
        raise ReadError(f"{path}: cannot be read (permission denied)") from exc
    except OSError as exc:
        raise ReadError(f"{path}: cannot be read ({_reason(exc)})") from exc
    if stat.S_ISDIR(st.st_mode):
        raise ReadError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        # FIFOs, sockets, devices: reading could block or never end.
        raise ReadError(f"{path}: is not a regular file")
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except PermissionError as exc:
        raise ReadError(f"{path}: cannot be read (permission denied)") from exc
    except OSError as exc:
        raise ReadError(f"{path}: cannot be read ({_reason(exc)})") from exc


def _replace(src: str, dst: str) -> None:
    if not _WINDOWS:
        os.replace(src, dst)
        return
    # On Windows, virus scanners and indexers briefly hold files open, which
    # makes os.replace fail with "access denied"; retry a few times.
    for attempt in range(5):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))


def _fsync_dir(directory: str) -> None:
    """Persist the rename itself (POSIX only; best effort)."""
    if _WINDOWS or not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_owner(tmp: str, st: os.stat_result) -> None:
    """Best effort: give the temp file the original owner/group (POSIX)."""
    if not hasattr(os, "chown"):
        return
    try:
        tst = os.stat(tmp)
        if (tst.st_uid, tst.st_gid) == (st.st_uid, st.st_gid):
            return
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        if is_root:
            os.chown(tmp, st.st_uid, st.st_gid)
        elif tst.st_gid != st.st_gid:
            os.chown(tmp, -1, st.st_gid)  # works if we belong to that group
    except OSError:
        pass


def atomic_write(path: PathLike, data: bytes) -> None:
    """Atomically replace the existing regular file *path* with *data*,
    keeping its permission bits (and, best effort, owner and group).

    Raises :class:`WriteError` if *path* is a symlink, does not exist, is not
    a regular file, is read-only (no owner write bit, or not writable by us),
    or if writing fails; in every failure case the temporary file is removed
    and the target is left untouched.
    """
    path = Path(path)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"atomic_write() needs bytes, not {type(data).__name__}")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise WriteError(f"{path}: no such file; not written") from None
    except OSError as exc:
        raise WriteError(f"{path}: cannot be accessed ({_reason(exc)}); not modified") from exc
    if stat.S_ISLNK(st.st_mode):
        raise WriteError(
            f"{path}: is a symlink; refusing to write through it (not modified)"
        )
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f"{path}: is not a regular file; not modified")
    mode = stat.S_IMODE(st.st_mode)
    # Checked on the mode bits (os.access says "writable" to root) and with
    # os.access (files of other users for an unprivileged user).
    if not mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise WriteError(f"{path}: is read-only; not modified")

    directory = os.path.dirname(os.path.abspath(path))
    name = path.name[:_MAX_NAME_IN_TEMP]
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{name}.{TEMP_MARKER}-", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise WriteError(
            f"{path}: cannot create a temporary file in {directory} ({_reason(exc)}); not modified"
        ) from exc

    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _copy_owner(tmp, st)  # before chmod: chown may clear set-id bits
        os.chmod(tmp, mode)
        _replace(tmp, str(path))
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(f"{path}: could not be written ({_reason(exc)}); not modified") from exc
        raise
    _fsync_dir(directory)
