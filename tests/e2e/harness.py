"""Run example programs under an SDK env against the fake server and compare runs.

The e2e check for a migration is: run a program's 0.28 original in the
``"old"`` env, run the migrated program in the ``"new"`` env, each against a
``FakeOpenAIServer``, and require identical stdout and identical canonical
requests (see ``fake_server.canonicalize``).

Each run gets a clean environment: PATH, a fresh temporary HOME/TMPDIR,
``OPENAI_API_KEY=sk-test-key``, ``OPENAI_API_BASE`` (read by 0.28) and
``OPENAI_BASE_URL`` (read by 1.x+) both set to the server's base URL,
``PYTHONDONTWRITEBYTECODE=1``, ``PYTHONHASHSEED=0``, ``PYTHONUTF8=1``, and
HTTP(S)_PROXY pointing at a dead local port (NO_PROXY for 127.0.0.1) so a
request that misses the fake server fails fast instead of leaving the machine.

A program lives in ``fixtures/e2e/<name>/``: ``before.py`` (the 0.28 code), an
optional ``run.json`` (below) and any support files (e.g. ``.env``), which
``stage_program`` copies next to the script so both versions see them.

``run.json`` (every key optional)::

    {
      "env": {"OPENAI_API_KEY": null, "FAKE_OPENAI_URL": "{base_url}",
              "AZURE_OPENAI_ENDPOINT": "{root_url}"},
      "returncode": 0,
      "request_order": "exact",
      "timeout": 60
    }

* ``env``: overrides applied on top of the default environment; ``null``
  removes a variable; ``{base_url}`` inside a value is replaced by the
  server's base URL (``http://127.0.0.1:PORT/v1``), ``{root_url}`` by its
  root (``http://127.0.0.1:PORT/``, an Azure endpoint).
* ``returncode``: the exit status both runs must have.
* ``request_order``: ``"exact"`` or ``"any"`` (for concurrent requests,
  e.g. ``asyncio.gather``; requests are then compared as a sorted list).
* ``timeout``: seconds before a run is killed.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from .fake_server import FakeOpenAIServer, RecordedRequest
from .sdk_envs import ensure_env

__all__ = [
    "DEFAULT_API_KEY",
    "ProgramRun",
    "ProgramSpec",
    "build_environment",
    "compare_runs",
    "load_program_spec",
    "run_fixture",
    "run_program",
    "stage_program",
]

DEFAULT_API_KEY = "sk-test-key"
BASE_URL_PLACEHOLDER = "{base_url}"
ROOT_URL_PLACEHOLDER = "{root_url}"
SPEC_FILE = "run.json"
DEAD_PROXY = "http://127.0.0.1:9"  # discard port: connection refused
NOT_SUPPORT_FILES = {"before.py", "after.py", SPEC_FILE, "__pycache__"}
EnvOverrides = Mapping[str, Optional[str]]


@dataclass
class ProgramRun:
    """Outcome of one program run; ``requests`` are canonical (retries removed)."""

    stdout: str
    stderr: str
    returncode: int
    requests: List[Dict[str, Any]]
    raw_requests: List[RecordedRequest] = field(default_factory=list, repr=False)
    env_name: str = ""
    timed_out: bool = False


@dataclass
class ProgramSpec:
    """The contents of a program's ``run.json``."""

    env: Dict[str, Optional[str]] = field(default_factory=dict)
    returncode: int = 0
    request_order: str = "exact"
    timeout: float = 60.0


def load_program_spec(program_dir: Union[str, Path]) -> ProgramSpec:
    """Read ``run.json`` from ``program_dir`` (defaults if absent)."""
    path = Path(program_dir) / SPEC_FILE
    if not path.exists():
        return ProgramSpec()
    data = json.loads(path.read_text(encoding="utf-8"))
    unknown = set(data) - {"env", "returncode", "request_order", "timeout"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    spec = ProgramSpec(
        env=dict(data.get("env", {})),
        returncode=int(data.get("returncode", 0)),
        request_order=data.get("request_order", "exact"),
        timeout=float(data.get("timeout", 60)),
    )
    if spec.request_order not in ("exact", "any"):
        raise ValueError(f"{path}: request_order must be 'exact' or 'any'")
    return spec


def copy_support_files(program_dir: Path, workdir: Path, skip=NOT_SUPPORT_FILES) -> None:
    """Copy everything a program folder holds besides its script and run.json (data files, .env...)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for item in program_dir.iterdir():
        if item.name in skip:
            continue
        target = workdir / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def stage_program(program_dir: Union[str, Path], workdir: Union[str, Path],
                  script_text: Optional[str] = None, script_name: str = "main.py") -> Path:
    """Copy a program's support files into ``workdir`` and write the script there.

    ``script_text`` defaults to the program's ``before.py``. Returns the script path.
    """
    program_dir, workdir = Path(program_dir), Path(workdir)
    copy_support_files(program_dir, workdir)
    if script_text is None:
        script_text = (program_dir / "before.py").read_text(encoding="utf-8")
    script = workdir / script_name
    script.write_text(script_text, encoding="utf-8")
    return script


def build_environment(server: FakeOpenAIServer, home: Path,
                      overrides: Optional[EnvOverrides] = None) -> Dict[str, str]:
    """The clean environment a program runs with (see module docstring), plus ``overrides``."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(home),
        "OPENAI_API_KEY": DEFAULT_API_KEY,
        "OPENAI_API_BASE": server.base_url,  # read by 0.28
        "OPENAI_BASE_URL": server.base_url,  # read by 1.x+
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUTF8": "1",
        # Anything not sent to the fake server (e.g. a base URL the migration
        # dropped) goes to a dead proxy and fails fast instead of leaving the
        # machine. requests (0.28 sync) and httpx/httpx2 (1.x+) honour these.
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if os.name == "nt":  # without these, sockets and asyncio fail to start (WinError 10106); HOME is not read
        env.update({name: os.environ[name] for name in ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT")
                    if name in os.environ})
        env.update(USERPROFILE=str(home), TEMP=str(home), TMP=str(home))
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = (value.replace(BASE_URL_PLACEHOLDER, server.base_url)
                         .replace(ROOT_URL_PLACEHOLDER, server.root_url))
    return env


def _communicate(proc: subprocess.Popen, timeout: float):
    """(stdout, stderr, timed_out); kills the whole process group on timeout."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        return stdout, stderr, False
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # Windows: no process groups
            proc.kill()
        stdout, stderr = proc.communicate()
        return stdout, stderr + f"\n[harness] killed after {timeout}s timeout\n", True


def run_program(env_name: str, script: Union[str, Path], server: FakeOpenAIServer,
                cwd: Union[str, Path], env: Optional[EnvOverrides] = None,
                timeout: float = 60) -> ProgramRun:
    """Run ``python script`` in SDK env ``env_name`` ("old"/"new") against ``server``.

    Resets the server first (requests and state), so the result holds only
    this run's requests; runs sharing one server must not overlap.
    """
    python = ensure_env(env_name)
    server.reset()
    with tempfile.TemporaryDirectory(prefix="openai-e2e-home-") as home:
        proc = subprocess.Popen(
            [str(python), str(Path(script).resolve())],
            cwd=str(cwd), env=build_environment(server, Path(home), env),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", start_new_session=True,
        )
        stdout, stderr, timed_out = _communicate(proc, timeout)
    raw = server.requests
    return ProgramRun(stdout, stderr, proc.returncode, server.canonical_requests(raw), raw,
                      env_name, timed_out)


def run_fixture(program_dir: Union[str, Path], env_name: str, server: FakeOpenAIServer,
                workdir: Union[str, Path], script_text: Optional[str] = None) -> ProgramRun:
    """Stage a fixture program (or ``script_text``, e.g. its migration) and run it per its ``run.json``."""
    spec = load_program_spec(program_dir)
    script = stage_program(program_dir, workdir, script_text)
    return run_program(env_name, script, server, workdir, spec.env, spec.timeout)


# ---------------------------------------------------------------------------
# Comparison


def _diff(old: str, new: str, what: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"{what} (old)", f"{what} (new)",
                                 lineterm="")
    return "\n".join(lines)


def _requests_text(requests: List[Dict[str, Any]], ordered: bool) -> str:
    dumped = [json.dumps(r, indent=2, sort_keys=True, default=str) for r in requests]
    return "\n".join(dumped if ordered else sorted(dumped))


def _returncode_problem(run: ProgramRun, label: str, expected: int) -> Optional[str]:
    if run.returncode == expected:
        return None
    tail = "\n".join(run.stderr.splitlines()[-25:])
    return f"{label} run ({run.env_name}) exited {run.returncode}, expected {expected}; stderr tail:\n{tail}"


def compare_runs(old: ProgramRun, new: ProgramRun, *, returncode: Optional[int] = 0,
                 request_order: str = "exact", spec: Optional[ProgramSpec] = None) -> None:
    """Assert two runs behaved the same: stdout, canonical requests, exit status.

    ``returncode`` is what both must exit with (``None``: only equal to each
    other). ``spec`` (a program's run.json) supplies returncode and
    request_order when given. Raises AssertionError with readable diffs.
    """
    if spec is not None:
        returncode, request_order = spec.returncode, spec.request_order
    problems = []
    if returncode is None:
        if old.returncode != new.returncode:
            problems.append(f"exit status differs: old {old.returncode}, new {new.returncode}\n"
                            f"new stderr:\n{new.stderr[-3000:]}")
    else:
        problems += filter(None, [_returncode_problem(old, "old", returncode),
                                  _returncode_problem(new, "new", returncode)])
    if old.stdout != new.stdout:
        problems.append("stdout differs:\n" + _diff(old.stdout, new.stdout, "stdout"))
    ordered = request_order == "exact"
    old_requests, new_requests = _requests_text(old.requests, ordered), _requests_text(new.requests, ordered)
    if old_requests != new_requests:
        problems.append("canonical requests differ:\n" + _diff(old_requests, new_requests, "requests"))
    if problems:
        raise AssertionError("\n\n".join(problems))
