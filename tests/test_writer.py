"""Tests for migrator.writer."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from migrator import writer
from migrator.writer import TEMP_MARKER, ReadError, WriteError, atomic_write, read_source

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions/symlinks")


def leftovers(directory: Path):
    return sorted(p.name for p in directory.iterdir() if TEMP_MARKER in p.name)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# ---------------------------------------------------------------- atomic_write


def test_replaces_content(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"old\n")
    atomic_write(f, b"new\r\ncontent \xe2\x9c\x93\n")
    assert f.read_bytes() == b"new\r\ncontent \xe2\x9c\x93\n"  # bytes kept verbatim
    assert leftovers(tmp_path) == []


def test_accepts_str_path_and_empty_data(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"old")
    atomic_write(str(f), b"")
    assert f.read_bytes() == b""


def test_relative_path(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_bytes(b"old")
    monkeypatch.chdir(tmp_path)
    atomic_write(Path("pkg/a.py"), b"new")
    assert (tmp_path / "pkg" / "a.py").read_bytes() == b"new"
    assert leftovers(tmp_path / "pkg") == []


@posix_only
@pytest.mark.parametrize("mode", [0o755, 0o600, 0o640, 0o644, 0o700, 0o750])
def test_keeps_permission_bits(tmp_path, mode):
    f = tmp_path / "script.py"
    f.write_bytes(b"old")
    os.chmod(f, mode)
    atomic_write(f, b"new")
    assert mode_of(f) == mode
    assert f.read_bytes() == b"new"


@posix_only
def test_keeps_mode_regardless_of_umask(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"old")
    os.chmod(f, 0o666)
    old = os.umask(0o077)
    try:
        atomic_write(f, b"new")
    finally:
        os.umask(old)
    assert mode_of(f) == 0o666


@posix_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_keeps_owner_when_root(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"old")
    os.chown(f, 12345, 23456)
    atomic_write(f, b"new")
    st = os.stat(f)
    assert (st.st_uid, st.st_gid) == (12345, 23456)


def test_temp_file_name_and_location(tmp_path, monkeypatch):
    f = tmp_path / "module.py"
    f.write_bytes(b"old")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src), Path(dst)))
        assert Path(src).read_bytes() == b"new"  # fully written before the swap
        real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", spy)
    atomic_write(f, b"new")
    ((src, dst),) = seen
    assert src.parent == tmp_path
    assert src.name.startswith(".module.py.") and TEMP_MARKER in src.name
    assert src.name.endswith(".tmp")
    assert dst == f


def test_fsyncs_before_replacing(tmp_path, monkeypatch):
    f = tmp_path / "a.py"
    f.write_bytes(b"old")
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(writer.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        writer.os, "replace", lambda s, d: (events.append("replace"), real_replace(s, d))
    )
    atomic_write(f, b"new")
    assert events.index("fsync") < events.index("replace")


def test_long_file_name(tmp_path):
    f = tmp_path / ("n" * 240 + ".py")
    f.write_bytes(b"old")
    atomic_write(f, b"new")
    assert f.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_failure_in_replace_leaves_original_and_no_temp(tmp_path, monkeypatch):
    f = tmp_path / "a.py"
    f.write_bytes(b"original")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer.os, "replace", boom)
    with pytest.raises(WriteError) as info:
        atomic_write(f, b"new")
    assert str(f) in str(info.value) and "No space left" in str(info.value)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value.__cause__, OSError)
    assert f.read_bytes() == b"original"
    assert leftovers(tmp_path) == []


def test_failure_while_writing_leaves_no_temp(tmp_path, monkeypatch):
    f = tmp_path / "a.py"
    f.write_bytes(b"original")

    def bad_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(writer.os, "fsync", bad_fsync)
    with pytest.raises(WriteError, match="Input/output error"):
        atomic_write(f, b"new")
    assert f.read_bytes() == b"original"
    assert leftovers(tmp_path) == []


def test_interrupt_is_reraised_unchanged_and_cleaned_up(tmp_path, monkeypatch):
    f = tmp_path / "a.py"
    f.write_bytes(b"original")

    def interrupt(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(f, b"new")
    assert f.read_bytes() == b"original"
    assert leftovers(tmp_path) == []


@posix_only
def test_refuses_symlink(tmp_path):
    target = tmp_path / "real.py"
    target.write_bytes(b"real")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    with pytest.raises(WriteError, match="symlink") as info:
        atomic_write(link, b"new")
    assert str(link) in str(info.value)
    assert target.read_bytes() == b"real"
    assert link.is_symlink()
    assert leftovers(tmp_path) == []


@posix_only
def test_refuses_broken_symlink(tmp_path):
    link = tmp_path / "link.py"
    link.symlink_to(tmp_path / "missing.py")
    with pytest.raises(WriteError, match="symlink"):
        atomic_write(link, b"new")
    assert not (tmp_path / "missing.py").exists()


@posix_only
@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555, 0o044])
def test_refuses_read_only_file(tmp_path, mode):
    # Tests may run as root, where os.access() says everything is writable:
    # the decision must come from the mode bits.
    f = tmp_path / "ro.py"
    f.write_bytes(b"original")
    os.chmod(f, mode)
    try:
        with pytest.raises(WriteError, match="read-only; not modified") as info:
            atomic_write(f, b"new")
        assert str(f) in str(info.value)
        assert mode_of(f) == mode
        assert leftovers(tmp_path) == []
    finally:
        os.chmod(f, 0o644)
    assert f.read_bytes() == b"original"


def test_refuses_when_os_access_denies(tmp_path, monkeypatch):
    f = tmp_path / "theirs.py"
    f.write_bytes(b"original")
    monkeypatch.setattr(writer.os, "access", lambda path, how: False)
    with pytest.raises(WriteError, match="read-only"):
        atomic_write(f, b"new")
    assert f.read_bytes() == b"original"


def test_refuses_missing_file(tmp_path):
    with pytest.raises(WriteError, match="no such file"):
        atomic_write(tmp_path / "missing.py", b"new")
    assert list(tmp_path.iterdir()) == []


def test_refuses_directory(tmp_path):
    d = tmp_path / "pkg.py"
    d.mkdir()
    with pytest.raises(WriteError, match="not a regular file"):
        atomic_write(d, b"new")
    assert d.is_dir()


@posix_only
def test_unwritable_directory(tmp_path, monkeypatch):
    f = tmp_path / "a.py"
    f.write_bytes(b"original")

    def no_temp(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writer.tempfile, "mkstemp", no_temp)
    with pytest.raises(WriteError, match="temporary file"):
        atomic_write(f, b"new")
    assert f.read_bytes() == b"original"


def test_rejects_text(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write(f, "text")  # type: ignore[arg-type]
    assert f.read_bytes() == b"old"


@posix_only
def test_hard_link_keeps_old_content(tmp_path):
    # Documented behaviour: the path gets a new inode.
    f = tmp_path / "a.py"
    f.write_bytes(b"old")
    other = tmp_path / "b.py"
    os.link(f, other)
    atomic_write(f, b"new")
    assert f.read_bytes() == b"new" and other.read_bytes() == b"old"


# ---------------------------------------------------------------- read_source


def test_read_source(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"print('hi')\r\n\xff")
    assert read_source(f) == b"print('hi')\r\n\xff"
    assert read_source(str(f)) == b"print('hi')\r\n\xff"


def test_read_missing(tmp_path):
    with pytest.raises(ReadError, match="no such file") as info:
        read_source(tmp_path / "missing.py")
    assert str(tmp_path / "missing.py") in str(info.value)


def test_read_directory(tmp_path):
    with pytest.raises(ReadError, match="is a directory"):
        read_source(tmp_path)


@posix_only
def test_read_through_symlink(tmp_path):
    target = tmp_path / "real.py"
    target.write_bytes(b"x")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    assert read_source(link) == b"x"


@posix_only
def test_read_broken_symlink(tmp_path):
    link = tmp_path / "link.py"
    link.symlink_to(tmp_path / "missing.py")
    with pytest.raises(ReadError, match="broken symlink"):
        read_source(link)


def test_read_permission_denied(tmp_path, monkeypatch):
    f = tmp_path / "secret.py"
    f.write_bytes(b"x")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writer, "open", denied, raising=False)
    with pytest.raises(ReadError, match="permission denied") as info:
        read_source(f)
    assert str(f) in str(info.value)


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_read_unreadable_file_for_real(tmp_path):
    f = tmp_path / "secret.py"
    f.write_bytes(b"x")
    os.chmod(f, 0)
    try:
        with pytest.raises(ReadError, match="permission denied"):
            read_source(f)
    finally:
        os.chmod(f, 0o644)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_read_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    with pytest.raises(ReadError, match="not a regular file"):
        read_source(fifo)


def test_other_os_errors_are_wrapped(tmp_path, monkeypatch):
    f = tmp_path / "a.py"
    f.write_bytes(b"x")

    def eio(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(writer, "open", eio, raising=False)
    with pytest.raises(ReadError, match="Input/output error"):
        read_source(f)


def test_error_types_are_oserrors():
    assert issubclass(ReadError, OSError) and issubclass(WriteError, OSError)


def test_round_trip_many_times_leaves_nothing(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"0")
    for i in range(50):
        atomic_write(f, read_source(f) + str(i).encode())
    assert f.read_bytes().startswith(b"00123")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]


@pytest.mark.skipif(sys.platform != "win32", reason="Windows retry path")
def test_windows_replace_retries(tmp_path, monkeypatch):  # pragma: no cover
    f = tmp_path / "a.py"
    f.write_bytes(b"old")
    real_replace = os.replace
    attempts = []

    def flaky(src, dst):
        attempts.append(1)
        if len(attempts) < 3:
            raise PermissionError(13, "Access is denied")
        real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", flaky)
    atomic_write(f, b"new")
    assert f.read_bytes() == b"new" and len(attempts) == 3
