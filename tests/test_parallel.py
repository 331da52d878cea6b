"""Many files: the pre-filters, worker processes (spawned), deterministic output, the progress bar."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from tests.clirunner import cli_runner
from rich.console import Console

import migrator.cli as cli
from migrator import parallel
from migrator.engine import migrate_source
from migrator.parallel import Candidate, ProgressDisplay, migrate_candidates, needs_parsing, resolve_jobs, scan

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "fixtures" / "e2e").glob("*/before.py"))


def invoke(*args: str, cwd: Path):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return cli_runner().invoke(cli.main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Example programs (some twice, under other names), files without openai, one that mentions it only in
    a comment, and one that does not parse."""
    root = tmp_path / "tree"
    for number, example in enumerate(EXAMPLES + EXAMPLES[:5]):
        folder = root / f"pkg{number % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{number:02d}_{example.parent.name}.py").write_bytes(example.read_bytes())
        (folder / f"plain{number:02d}.py").write_text(f"x = {number}\n")
    (root / "comment_only.py").write_text("# we used to call openai here\nx = 1\n")
    (root / "broken.py").write_text("import openai\nopenai.api_key = <KEY>\n")
    return root


# ---------------------------------------------------------------------------------------------- the CLI


def test_jobs_2_prints_byte_for_byte_what_jobs_1_prints(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pools = []
    real = parallel.ProcessPoolExecutor

    def recording(*args, **kwargs):
        pools.append(kwargs["mp_context"].get_start_method())
        return real(*args, **kwargs)

    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)  # a pool even for this small tree
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", recording)
    one = invoke("--dry-run", "-j1", ".", cwd=tree)
    assert pools == []
    two = invoke("--dry-run", "-j2", ".", cwd=tree)
    assert pools == ["spawn"]
    three = invoke("--dry-run", "--jobs", "3", ".", cwd=tree)
    assert one.exit_code == two.exit_code == three.exit_code == 3  # broken.py
    assert one.stdout_bytes == two.stdout_bytes == three.stdout_bytes
    assert one.stderr_bytes == two.stderr_bytes == three.stderr_bytes
    assert one.stdout.count("+++ b/") == len(EXAMPLES) + 5
    assert "broken.py: cannot parse" in one.stderr and "comment_only" not in one.stdout


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_settings_made_in_another_module_reach_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          jobs: str) -> None:
    """The scan looks at all the files before any is migrated (migrator.project), with or without workers."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    shared = REPO / "fixtures" / "shared"
    for name in ("settings_module", "caller_without_settings"):
        (tmp_path / f"{name}.py").write_bytes((shared / f"{name}.py").read_bytes())
    assert invoke("--allow-dirty", "-q", "-j", jobs, ".", cwd=tmp_path).exit_code == 0
    for name in ("settings_module", "caller_without_settings"):
        assert (tmp_path / f"{name}.py").read_bytes() == (shared / f"{name}.expected.py").read_bytes(), name


def test_spawned_workers_in_a_real_process(tree: Path) -> None:
    """The console entry point with workers started by ``spawn``: enough source to start the pool."""
    padding = "".join(f"# {'filler ' * 10}{n}\n" for n in range(2000))  # ~170 KB per file, cheap to parse
    for number, example in enumerate(EXAMPLES[:4]):
        (tree / f"big{number}.py").write_bytes(example.read_bytes() + padding.encode())
    outputs = []
    for jobs in ("1", "2"):
        proc = subprocess.run([sys.executable, "-m", "migrator", "--dry-run", "-j", jobs, "."], cwd=tree,
                              capture_output=True, timeout=300)
        outputs.append((proc.returncode, proc.stdout, proc.stderr))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 3 and b"+++ b/big3.py" in outputs[0][1]


def _children(pid: int) -> list:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if entry.name.isdigit() and int(fields[1]) == pid and b"spawn_main" in (entry / "cmdline").read_bytes():
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the workers")
def test_workers_do_not_outlive_a_killed_run(tree: Path) -> None:
    padding = "".join(f"x{n} = '{'filler ' * 10}'\n" for n in range(3000))  # slow enough to be killed mid-way
    for number, example in enumerate(EXAMPLES * 2):
        (tree / f"big{number}.py").write_bytes(example.read_bytes() + padding.encode())
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "--dry-run", "-j3", "."], cwd=tree,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: list = []
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            workers = _children(proc.pid)
        assert len(workers) == 2, "the workers never started"
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in workers)


def test_no_libcst_for_a_tree_without_openai(tmp_path: Path) -> None:
    for number in range(20):
        (tmp_path / f"m{number}.py").write_text("import os\nprint(os.getcwd())\n")
    code = ("import sys\nfrom migrator.cli import main\n"
            "try:\n    main(['--dry-run', '.'])\nexcept SystemExit as exit:\n"
            "    print(exit.code, 'libcst' in sys.modules, 'codemods' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["0", "False", "False"], proc.stderr
    assert "20 files scanned, no changes needed." in proc.stderr


def test_progress_bar_is_off_when_stderr_is_not_a_terminal(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PROGRESS_DELAY", 0.0)
    shown = []
    monkeypatch.setattr(ProgressDisplay, "_show", lambda self: shown.append(self))
    result = invoke("--dry-run", ".", cwd=tree)
    assert shown == []
    assert "\r" not in result.stderr and "\x1b[" not in result.stderr and "migrating" not in result.stderr


def _on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> list:
    """Make the CLI believe stderr is a terminal; return the list of progress bars shown."""
    def console(file=None, **kwargs):
        if file is sys.stderr:
            return Console(file=io.StringIO(), force_terminal=True, **kwargs)
        return Console(file=file, **kwargs)

    shown: list = []
    real = ProgressDisplay._show
    monkeypatch.setattr(cli, "Console", console)
    monkeypatch.setattr(parallel, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(ProgressDisplay, "_show", lambda self: (shown.append(self), real(self)))
    return shown


def test_progress_bar_on_a_terminal_and_off_with_quiet(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _on_a_terminal(monkeypatch)
    invoke("--dry-run", "-j1", ".", cwd=tree)
    assert len(shown) == 1 and shown[0]._progress is None  # shown, then closed before the report
    shown.clear()
    invoke("--dry-run", "-j1", "--quiet", ".", cwd=tree)
    assert shown == []


def test_progress_bar_shows_the_migration() -> None:
    out = io.StringIO()
    progress = ProgressDisplay(Console(file=out, force_terminal=True, width=120), enabled=True, delay=0)
    progress.scanned(0)
    progress.migrating(10, 1000)
    progress.migrated(4, 400)
    progress.close()
    assert "migrating" in out.getvalue() and "4/10 files" in out.getvalue()


def test_progress_bar_waits_for_a_slow_run() -> None:
    out = io.StringIO()
    progress = ProgressDisplay(Console(file=out, force_terminal=True), enabled=True, delay=3600)
    progress.migrating(10, 1000)
    progress.migrated(10, 1000)
    progress.close()
    assert out.getvalue() == ""


def test_invalid_jobs_is_a_usage_error(tree: Path) -> None:
    assert invoke("-j", "-1", ".", cwd=tree).exit_code == 2


# ---------------------------------------------------------------------------------------------- the workers


def _candidates(paths):
    return [Candidate(index, path, path.stat().st_size, path.read_bytes()) for index, path in enumerate(paths)]


def test_spawned_workers_give_the_serial_results() -> None:
    paths = EXAMPLES * 2
    serial = migrate_candidates(_candidates(paths), Path.read_bytes, 1)
    spawned = migrate_candidates(_candidates(paths), Path.read_bytes, 3, min_parallel_bytes=0,
                                 start_method="spawn")
    assert [d.index for d in spawned] == [d.index for d in serial] == sorted(d.index for d in serial)
    for a, b in zip(serial, spawned):
        assert (a.path, a.result, a.diff) == (b.path, b.result, b.diff)
    assert len(serial) == len(paths)


def test_a_worker_that_dies_leaves_the_work_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    class DeadPool:
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, fn, *args):
            future: Future = Future()
            future.set_exception(BrokenProcessPool("killed"))
            return future

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", DeadPool)
    notes = []
    done = migrate_candidates(_candidates(EXAMPLES), Path.read_bytes, 4, min_parallel_bytes=0, note=notes.append)
    assert [d.index for d in done] == list(range(len(EXAMPLES)))
    assert all(d.result is not None and d.result.new for d in done)
    assert notes and "worker process stopped" in notes[0]


def test_candidates_not_kept_in_memory_are_read_again(tmp_path: Path) -> None:
    paths = []
    for number, example in enumerate(EXAMPLES[:3]):
        path = tmp_path / f"m{number}.py"
        path.write_bytes(example.read_bytes())
        paths.append(path)
    (tmp_path / "plain.py").write_text("x = 1\n")
    result = scan(sorted(tmp_path.iterdir()), Path.read_bytes, keep_bytes=0)
    assert result.scanned == 4 and [c.data for c in result.candidates] == [None] * 3
    paths[1].unlink()  # gone between the scan and the migration
    done = migrate_candidates(result.candidates, Path.read_bytes, 1)
    assert [d.path.name for d in done] == ["m0.py", "m1.py", "m2.py"]
    assert isinstance(done[1].read_error, FileNotFoundError) and done[1].result is None
    assert done[0].result is not None and done[0].result.new is not None


def test_resolve_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_jobs(3) == 3
    assert resolve_jobs(0) >= 1
    monkeypatch.setattr(sys, "platform", "win32")
    assert resolve_jobs(500) == 61


# ---------------------------------------------------------------------------------------------- pre-filter


@pytest.mark.parametrize("source", [
    b"x = 1\n",
    b"# openai.ChatCompletion.create was used here\nx = 1\n",
    b"x = 1  # import openai\n",
    b'PROVIDER = "openai"\n',
    b'"""Talks to openai through a proxy."""\n',
    b"def f():\n    '''openai\n    and more'''\n",
    b"from langchain_openai import ChatOpenAI\nkey = OPENAI_API_KEY\n",
    b's = "it\'s \\"openai\\""\n',
    b"s = r'\\' openai'\n",
])
def test_sources_that_cannot_need_a_migration(source: bytes) -> None:
    assert not needs_parsing(source)
    assert migrate_source(source).new is None


@pytest.mark.parametrize("source", [
    b"import openai\n",
    b"from openai import ChatCompletion\n",
    b"from app import openai\n",
    b"x = 1; import openai as oa\n",
    b'patch("openai.ChatCompletion.create")\n',
    b"patch('''openai.Completion.create''')\n",
    b's = f"{openai.api_key}"\n',
    b"# comment\nprint('unterminated\nimport openai\n",
    b"s = '''never closed\nimport openai\n",
    b"x = 'a' 'b'; import openai\n",
])
def test_sources_that_are_parsed(source: bytes) -> None:
    assert needs_parsing(source)


def _rule_fixtures():
    return sorted(p for p in (REPO / "fixtures").rglob("*.py") if not p.name.endswith(".expected.py"))


def test_every_fixture_that_changes_passes_the_pre_filter() -> None:
    """The pre-filter's promise, checked on every fixture: a source it lets go never changes."""
    for path in _rule_fixtures():
        data = path.read_bytes()
        if not needs_parsing(data):
            result = migrate_source(data)
            assert result.new is None and result.error is None, path
