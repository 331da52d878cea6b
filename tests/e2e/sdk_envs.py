"""Cached virtualenvs holding the two openai SDKs the end-to-end tests run.

The e2e tests run a program written for openai 0.28.1 in the ``"old"`` env and
its migrated form in the ``"new"`` env (the latest ``openai`` on PyPI), both
against the fake server. Building an env takes a while, so they are cached:

* location: ``$OPENAI_MIGRATE_E2E_ENVS`` if set, else
  ``~/.cache/openai-migrate/e2e-envs/``;
* one directory per env and base-Python version, e.g. ``new-py311``;
* an env is complete only when its marker file (written last) exists and
  records the same spec; anything else is deleted and rebuilt;
* builds happen in a temporary sibling directory that is renamed into place,
  under an exclusive lock file (``fcntl.flock``; a ``mkdir`` lock where fcntl is
  missing), so concurrent pytest processes neither race nor see half an env.

Set ``OPENAI_MIGRATE_E2E_REFRESH=1`` to force a rebuild (e.g. to pick up a newer
``openai`` release in the ``"new"`` env). Progress is logged to stderr.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["EnvSpec", "ENV_SPECS", "EnvError", "cache_root", "ensure_env", "env_python"]

MARKER_NAME = "openai-migrate-env.json"
CACHE_ENV_VAR = "OPENAI_MIGRATE_E2E_ENVS"
REFRESH_ENV_VAR = "OPENAI_MIGRATE_E2E_REFRESH"
LOCK_TIMEOUT_S = 900.0


class EnvError(RuntimeError):
    """An SDK env could not be found or built."""


@dataclass(frozen=True)
class EnvSpec:
    """What goes into one env: pip requirements and the oldest usable Python."""

    name: str
    requirements: Tuple[str, ...]
    min_python: Tuple[int, int] = (3, 7)


ENV_SPECS = {
    # 0.28 decodes base64 embeddings with numpy (MissingDependencyError without it).
    "old": EnvSpec("old", ("openai==0.28.1", "numpy")),
    # Unpinned on purpose: the migration target is whatever is current.
    # Recent releases require Python >= 3.10.
    "new": EnvSpec("new", ("openai",), min_python=(3, 10)),
}


def _log(message: str) -> None:
    print(f"[sdk_envs] {message}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    """Directory holding all cached envs (created on demand)."""
    configured = os.environ.get(CACHE_ENV_VAR)
    root = Path(configured) if configured else Path.home() / ".cache" / "openai-migrate" / "e2e-envs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def env_python(env_dir: Path) -> Path:
    """Path of the python executable inside a virtualenv directory."""
    if os.name == "nt":  # pragma: no cover
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


# ---------------------------------------------------------------------------
# Choosing the base interpreter


def _python_version(executable: str) -> Optional[Tuple[int, int]]:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _candidate_pythons() -> Iterator[str]:
    yield sys.executable
    for minor in range(20, 9, -1):
        found = shutil.which(f"python3.{minor}")
        if found:
            yield found
    for generic in ("python3", "python"):
        found = shutil.which(generic)
        if found:
            yield found


def find_base_python(min_version: Tuple[int, int]) -> Tuple[str, Tuple[int, int]]:
    """The first interpreter (sys.executable first, then PATH) new enough."""
    if sys.version_info[:2] >= min_version:
        return sys.executable, tuple(sys.version_info[:2])  # type: ignore[return-value]
    for candidate in _candidate_pythons():
        version = _python_version(candidate)
        if version and version >= min_version:
            return candidate, version
    wanted = ".".join(map(str, min_version))
    raise EnvError(
        f"no Python >= {wanted} found (tried {sys.executable} and python3.N on PATH); "
        f"install one to run the e2e tests against the latest openai SDK"
    )


# ---------------------------------------------------------------------------
# Locking


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Exclusive inter-process lock; waits up to LOCK_TIMEOUT_S."""
    if fcntl is not None:
        with open(lock_path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                _log(f"waiting for lock {lock_path} (another process is building)")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    yield from _mkdir_lock(lock_path.with_suffix(".lockdir"))  # pragma: no cover


def _mkdir_lock(lock_dir: Path) -> Iterator[None]:  # pragma: no cover - no fcntl
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            lock_dir.mkdir()
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise EnvError(f"timed out waiting for {lock_dir}; remove it if stale")
            time.sleep(0.5)
    try:
        yield
    finally:
        lock_dir.rmdir()


# ---------------------------------------------------------------------------
# Marker handling


def _expected_marker(spec: EnvSpec, base_version: Tuple[int, int]) -> dict:
    return {
        "name": spec.name,
        "requirements": list(spec.requirements),
        "python": list(base_version),
    }


def _read_marker(env_dir: Path) -> Optional[dict]:
    try:
        return json.loads((env_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _env_is_usable(env_dir: Path, expected: dict) -> bool:
    marker = _read_marker(env_dir)
    if marker is None:
        if env_dir.exists():
            _log(f"{env_dir.name}: no completion marker (half-built?), rebuilding")
        return False
    if {k: marker.get(k) for k in expected} != expected:
        _log(f"{env_dir.name}: spec changed, rebuilding")
        return False
    python = env_python(env_dir)
    probe = subprocess.run(
        [str(python), "-c", "import openai"], capture_output=True, text=True, timeout=120
    ) if python.exists() else None
    if probe is None or probe.returncode != 0:
        _log(f"{env_dir.name}: env is broken, rebuilding")
        return False
    return True


# ---------------------------------------------------------------------------
# Building


def _run_quiet(cmd: Sequence[str], what: str) -> str:
    """Run a build step; its output is shown only if it fails."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise EnvError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _installed_openai_version(python: Path) -> str:
    return _run_quiet(
        [str(python), "-c", "import openai; print(openai.VERSION)"], "probing openai version"
    ).strip()


def _build(spec: EnvSpec, base_python: str, expected: dict, target: Path) -> None:
    """Build the env in a temp sibling dir, write the marker, rename into place."""
    started = time.monotonic()
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        os.chmod(tmp_dir, 0o755)  # mkdtemp makes it private
        _log(f"creating venv {target.name} with {base_python}")
        _run_quiet([base_python, "-m", "venv", str(tmp_dir)], "python -m venv")
        python = env_python(tmp_dir)
        _log(f"pip install {' '.join(spec.requirements)} (quiet)")
        _run_quiet(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-input", *spec.requirements],
            f"pip install into {target.name}",
        )
        version = _installed_openai_version(python)
        marker = dict(expected, openai_version=version, built_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
        (tmp_dir / MARKER_NAME).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp_dir, target)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _log(f"{target.name}: openai {version} ready in {time.monotonic() - started:.0f}s")


def _remove_stale_builds(root: Path, target: Path) -> None:
    for leftover in root.glob(f".{target.name}.building-*"):
        shutil.rmtree(leftover, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def ensure_env(name: str) -> Path:
    """Return the python executable of SDK env ``name`` ("old" or "new"), building it if needed."""
    try:
        spec = ENV_SPECS[name]
    except KeyError:
        raise EnvError(f"unknown SDK env {name!r}; expected one of {sorted(ENV_SPECS)}") from None
    base_python, base_version = find_base_python(spec.min_python)
    root = cache_root()
    target = root / f"{name}-py{base_version[0]}{base_version[1]}"
    expected = _expected_marker(spec, base_version)
    refresh = os.environ.get(REFRESH_ENV_VAR) == "1"
    with _locked(root / f"{target.name}.lock"):
        if refresh or not _env_is_usable(target, expected):
            _remove_stale_builds(root, target)
            _build(spec, base_python, expected, target)
    return env_python(target)


if __name__ == "__main__":
    for env_name in sys.argv[1:] or sorted(ENV_SPECS):
        print(env_name, ensure_env(env_name))
