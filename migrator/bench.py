"""Benchmark: ``python -m migrator.bench`` builds its corpora in a temporary directory and prints four figures.

1. no-op scan: ``openai-migrate --dry-run`` on a tree of >= 10,000 ``.py`` files without openai (copies of the
   interpreter's own standard library), divided by a plain Python walk that honours ``.gitignore`` and reads
   every file (target <= 2.0).
2. migration: ``openai-migrate --dry-run -j1`` on >= 300 files that use the 0.28 API (the repository's example
   programs embedded in standard-library modules), divided by libcst parsing and regenerating the same files
   (target <= 1.5).
3. scaling: ``-j1`` time divided by ``-j2`` time on the migration tree (target >= 1.7 on 2 cores).
4. peak memory (RSS) of ``openai-migrate --dry-run`` on corpus 1 (target <= 200 MB).

Every command runs as a fresh subprocess of this interpreter, the tool and each baseline alike, so each pays the
same interpreter start-up, and each ratio compares two timings taken in the same run on the same files (after a
warm-up read, so the page cache is hot for both). The commands of a figure run in turn, ``--repeat`` rounds,
and each timing is the median of its rounds. Shared or virtual machines do not always give a process the cores
they list, so each round also measures how much parallel CPU two processes really get ("parallel capacity").

Not a unit test: it takes a minute or two and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

NOOP_TARGET = 2.0
MIGRATION_TARGET = 1.5
SCALING_TARGET = 1.7
RSS_TARGET_MB = 200.0

_REPO = Path(__file__).resolve().parent.parent
_EXAMPLES = _REPO / "fixtures" / "e2e"
_GITIGNORE = "__pycache__/\n*.py[cod]\n*.egg-info/\n.env\n/scratch/\n"


# ---------------------------------------------------------------------------------------------------- corpora


def _stdlib_files() -> List[Path]:
    """The standard library's own ``.py`` files, sorted, without the folders the tool never enters
    (``site-packages``, caches, the ``venv`` package...), so that the tool and the plain walk read the same
    files."""
    from fnmatch import fnmatchcase

    from migrator.discovery import DEFAULT_EXCLUDES, VENV_MARKERS

    root = Path(sysconfig.get_paths()["stdlib"])
    found: List[Path] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not any(fnmatchcase(d, glob) for glob in DEFAULT_EXCLUDES)
                         and not any(os.path.exists(os.path.join(directory, d, m)) for m in VENV_MARKERS))
        found.extend(Path(directory, name) for name in sorted(files) if name.endswith(".py"))
    return found


def build_noop_corpus(dest: Path, minimum: int) -> int:
    """Copies of the standard library under ``dest/copy-N/`` until there are ``minimum`` ``.py`` files, plus a
    ``.gitignore`` at the root and an ignored ``scratch/`` folder. Returns the number of files to be read."""
    root = Path(sysconfig.get_paths()["stdlib"])
    sources = []
    for path in _stdlib_files():
        data = path.read_bytes()
        if b"openai" not in data:
            sources.append((path.relative_to(root), data))
    dest.mkdir(parents=True)
    (dest / ".gitignore").write_text(_GITIGNORE)
    count = 0
    copy = 0
    while count < minimum:
        base = dest / f"copy-{copy}"
        for rel, data in sources:
            target = base / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            count += 1
        copy += 1
    scratch = dest / "scratch"  # ignored by the .gitignore: neither the tool nor the baseline reads it
    scratch.mkdir()
    for index, (_, data) in enumerate(sources[:200]):
        (scratch / f"m{index}.py").write_bytes(data)
    return count


def _examples() -> List[bytes]:
    found = sorted(_EXAMPLES.glob("*/before.py"))
    if not found:
        raise SystemExit(f"no example programs found under {_EXAMPLES} (run from a source checkout)")
    return [path.read_bytes() for path in found]


def _top_level_offsets(text: str, tree: ast.Module) -> List[int]:
    """Character offsets (line starts) where a top-level statement begins, after the ``__future__`` imports."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    offsets = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            offsets.clear()
            continue
        lineno = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        offsets.append(starts[lineno - 1])
    offsets.append(len(text))
    return offsets


def build_migration_corpus(dest: Path, count: int, seed: int = 0) -> Tuple[int, int]:
    """``count`` modules, each a standard-library module (1-40 KB) with one example program inserted at a
    top-level statement boundary. Every file is valid Python. Returns (files, bytes)."""
    rng = random.Random(seed)
    examples = _examples()
    hosts: List[Tuple[str, ast.Module]] = []
    for path in _stdlib_files():
        if "test" in path.parts or "idlelib" in path.parts:
            continue
        data = path.read_bytes()
        if not 1_000 <= len(data) <= 40_000 or b"openai" in data:
            continue
        try:
            text = data.decode("utf-8")
            tree = ast.parse(text)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        if text.startswith("#!") or "\r" in text:
            continue
        hosts.append((text if text.endswith("\n") else text + "\n", tree))
    if not hosts:
        raise SystemExit("no standard-library modules found to build the migration corpus from")
    rng.shuffle(hosts)
    dest.mkdir(parents=True)
    total = 0
    made = 0
    attempt = 0
    while made < count:
        text, tree = hosts[attempt % len(hosts)]
        example = examples[attempt % len(examples)].decode("utf-8")
        attempt += 1
        offsets = _top_level_offsets(text, tree)
        at = offsets[rng.randrange(len(offsets) // 3, len(offsets))] if offsets else len(text)
        source = f"{text[:at]}\n\n# --- example program ---\n{example}\n\n{text[at:]}"
        try:
            ast.parse(source)
        except SyntaxError:
            continue
        data = source.encode("utf-8")
        folder = dest / f"pkg{made // 50}"
        folder.mkdir(exist_ok=True)
        (folder / f"module_{made:04d}.py").write_bytes(data)
        total += len(data)
        made += 1
    return made, total


# ---------------------------------------------------------------------------------------------------- baselines


def baseline_walk(root: str) -> Tuple[int, int]:
    """A plain walk: ``os.walk``, each folder's ``.gitignore`` applied with pathspec, every ``.py`` file read."""
    from pathspec import GitIgnoreSpec

    files = size = 0
    specs: Dict[str, List[Tuple[str, GitIgnoreSpec]]] = {root: []}
    for directory, dirs, names in os.walk(root):
        inherited = specs.pop(directory)
        if ".gitignore" in names:
            with open(os.path.join(directory, ".gitignore"), encoding="utf-8") as fh:
                inherited = inherited + [(directory, GitIgnoreSpec.from_lines(fh.read().splitlines()))]

        def ignored(name: str, is_dir: bool) -> bool:
            path = os.path.join(directory, name)
            verdict = False
            for base, spec in inherited:
                rel = os.path.relpath(path, base).replace(os.sep, "/") + ("/" if is_dir else "")
                result = spec.check_file(rel).include
                if result is not None:
                    verdict = result
            return verdict

        dirs[:] = [d for d in dirs if d != ".git" and not ignored(d, True)]
        for d in dirs:
            specs[os.path.join(directory, d)] = inherited
        for name in names:
            if name.endswith(".py") and not ignored(name, False):
                with open(os.path.join(directory, name), "rb") as fh:
                    size += len(fh.read())
                files += 1
    return files, size


def baseline_parse(root: str) -> Tuple[int, int]:
    """libcst-parse and regenerate every ``.py`` file under ``root`` (sorted), one after another."""
    import libcst

    files = size = 0
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                with open(os.path.join(directory, name), "rb") as fh:
                    data = fh.read()
                out = libcst.parse_module(data).bytes
                assert out == data, name
                files += 1
                size += len(data)
    return files, size


# ---------------------------------------------------------------------------------------------------- running


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: bytes
    stderr: bytes


def run(argv: Sequence[str], cwd: Path) -> Run:
    """Run ``argv`` to completion and time it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        returncode = subprocess.call(list(argv), cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Run(seconds, returncode, out.read(), err.read())


# A child's peak RSS as the kernel reports it includes the memory of the process that started it (Linux
# counts the forked copy), so it is measured through this small launcher rather than from the benchmark
# process, which holds a corpus in memory while it builds it.
_RSS_LAUNCHER = """\
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024), os.waitstatus_to_exitcode(status))
"""


def peak_rss(argv: Sequence[str], cwd: Path) -> Optional[int]:
    """Peak resident memory of ``argv`` in bytes (None where the OS does not tell: Windows)."""
    if not hasattr(os, "wait4"):
        return None
    out = subprocess.run([sys.executable, "-c", _RSS_LAUNCHER, *argv], cwd=cwd, capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0])


def tool(*args: str) -> List[str]:
    return [sys.executable, "-m", "migrator", *args]


def helper(*args: str) -> List[str]:
    return [sys.executable, "-m", "migrator.bench", *args]


# ---------------------------------------------------------------------------------------------------- report


def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if not cpu and sys.platform == "darwin":
        try:
            cpu = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                 text=True).stdout.strip()
        except OSError:
            pass
    cpu = cpu or platform.processor() or platform.machine()
    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    cores_text = f"{cores} cores" if usable == cores else f"{cores} cores ({usable} usable)"
    return (f"{cpu}, {cores_text}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()} ({platform.python_implementation()})")


def _summary_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode(errors="replace").splitlines() if "scanned" in ln]
    return lines[-1] if lines else "(no summary)"


def parallel_capacity() -> float:
    """How many cores' worth of CPU two busy processes actually get on this machine right now (1.0 to 2.0):
    one fixed amount of pure-Python work, run once alone and then twice at the same time."""
    code = "import time\nn = 0\nfor i in range(12_000_000):\n    n += i\n"
    argv = [sys.executable, "-c", code]
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    alone = time.perf_counter() - started
    started = time.perf_counter()
    procs = [subprocess.Popen(argv) for _ in range(2)]
    for proc in procs:
        proc.wait()
    together = time.perf_counter() - started
    return 2 * alone / together


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrator.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--noop-files", type=int, default=10_000, help="minimum .py files in corpus 1")
    parser.add_argument("--migration-files", type=int, default=300, help=".py files in corpus 2")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of timings (the median is used)")
    parser.add_argument("--dir", type=Path, help="build the corpora here (kept) instead of a temporary directory")
    parser.add_argument("mode", nargs="?", choices=["walk", "parse"], help=argparse.SUPPRESS)
    parser.add_argument("root", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.mode == "walk":  # baseline 1, run as its own process
        files, size = baseline_walk(args.root)
        print(f"{files} files, {size} bytes")
        return 0
    if args.mode == "parse":  # baseline 2, run as its own process
        files, size = baseline_parse(args.root)
        print(f"{files} files, {size} bytes")
        return 0

    work = args.dir or Path(tempfile.mkdtemp(prefix="openai-migrate-bench-"))
    try:
        return _benchmark(work, args)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


def _rounds(commands: Dict[str, Tuple[List[str], Path, Sequence[int]]], repeat: int, say,
            capacity: Optional[List[float]] = None) -> Dict[str, List[Run]]:
    """Run every command once per round, in turn, so that all of them see the same machine conditions (and,
    if ``capacity`` is a list, measure the machine's parallel capacity once per round too)."""
    runs: Dict[str, List[Run]] = {name: [] for name in commands}
    for round_ in range(repeat):
        for name, (argv, cwd, ok) in commands.items():
            result = run(argv, cwd)
            if result.returncode not in ok:
                raise SystemExit(f"{' '.join(argv)} failed with exit status {result.returncode}:\n"
                                 f"{result.stderr.decode(errors='replace')[-3000:]}")
            runs[name].append(result)
        line = ", ".join(f"{name} {r[-1].seconds:.2f}s" for name, r in runs.items())
        if capacity is not None:
            capacity.append(parallel_capacity())
            line += f"; parallel capacity {capacity[-1]:.2f}x"
        say(f"   round {round_ + 1}: {line}")
    return runs


def _median(runs: List[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def _benchmark(work: Path, args: argparse.Namespace) -> int:
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    noop = work / "noop"
    migration = work / "migration"
    say(f"building corpora in {work} ...")
    started = time.perf_counter()
    noop_files = build_noop_corpus(noop, args.noop_files)
    migration_files, migration_bytes = build_migration_corpus(migration, args.migration_files)
    say(f"  corpus 1: {noop_files} files; corpus 2: {migration_files} files, {migration_bytes / 1e6:.1f} MB "
        f"({time.perf_counter() - started:.1f}s)")
    repeat = max(1, args.repeat)
    # Up-to-date bytecode, as an installed package has: with PYTHONDONTWRITEBYTECODE set, a module edited
    # since its last .pyc would be compiled again in every timed run.
    import compileall

    for package in ("migrator", "codemods"):
        compileall.compile_dir(str(Path(__file__).resolve().parent.parent / package), quiet=1)

    say("1. no-op scan, 4. peak memory ...")
    run(helper("walk", str(noop)), work)  # warm the page cache (and the bytecode caches) for both
    run(tool("--dry-run", "."), noop)
    runs = _rounds({"plain walk": (helper("walk", str(noop)), work, (0,)),
                    "openai-migrate": (tool("--dry-run", "."), noop, (0,))}, repeat, say)
    walk_s, noop_s = _median(runs["plain walk"]), _median(runs["openai-migrate"])
    walked = int(runs["plain walk"][-1].stdout.split()[0])
    noop_summary = _summary_line(runs["openai-migrate"][-1].stderr)
    rss = [size for size in (peak_rss(tool("--dry-run", "."), noop) for _ in range(repeat)) if size is not None]

    say("2. migration, 3. scaling ...")
    run(helper("walk", str(migration)), work)
    capacity: List[float] = []
    runs = _rounds({"parse+regenerate": (helper("parse", str(migration)), work, (0,)),
                    "-j1": (tool("--dry-run", "-j1", "."), migration, (1,)),
                    "-j2": (tool("--dry-run", "-j2", "."), migration, (1,))}, repeat, say, capacity)
    parse_s, j1_s, j2_s = _median(runs["parse+regenerate"]), _median(runs["-j1"]), _median(runs["-j2"])
    j1_summary = _summary_line(runs["-j1"][-1].stderr)
    identical = all(r.stdout == runs["-j1"][0].stdout and r.stderr == runs["-j1"][0].stderr
                    for r in runs["-j1"] + runs["-j2"])

    rows = [
        ("1. no-op scan: tool / plain walk", noop_s / walk_s, f"<= {NOOP_TARGET}", noop_s / walk_s <= NOOP_TARGET,
         f"{noop_s:.2f}s / {walk_s:.2f}s"),
        ("2. migration: tool -j1 / parse+regenerate", j1_s / parse_s, f"<= {MIGRATION_TARGET}",
         j1_s / parse_s <= MIGRATION_TARGET, f"{j1_s:.2f}s / {parse_s:.2f}s"),
        ("3. scaling: -j1 time / -j2 time", j1_s / j2_s, f">= {SCALING_TARGET}", j1_s / j2_s >= SCALING_TARGET,
         f"{j1_s:.2f}s / {j2_s:.2f}s"),
    ]
    if rss:
        mb = max(rss) / 2**20
        rows.append(("4. peak RSS on corpus 1 (MB)", mb, f"<= {RSS_TARGET_MB:.0f}", mb <= RSS_TARGET_MB,
                     f"largest of {len(rss)} runs"))
    else:
        rows.append(("4. peak RSS on corpus 1 (MB)", float("nan"), f"<= {RSS_TARGET_MB:.0f}", False,
                     "not measurable on this OS"))

    print()
    print(f"machine:  {machine()}")
    print(f"corpus 1: {noop_files} .py files, {walked} read by the plain walk; openai-migrate: {noop_summary}")
    print(f"corpus 2: {migration_files} files, {migration_bytes / 1e6:.1f} MB; openai-migrate: {j1_summary}")
    print(f"medians of {repeat} interleaved rounds; each process starts cold (interpreter start-up included)")
    print()
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>6}  {'target':>7}  result  detail")
    for name, value, target, ok, detail in rows:
        print(f"{name:<{width}}  {value:>6.2f}  {target:>7}  {'PASS' if ok else 'FAIL':<6}  {detail}")
    print()
    print(f"-j2 output identical to -j1: {'yes' if identical else 'NO'}")
    print("parallel capacity of this machine (2 busy processes vs 1), per round: "
          + ", ".join(f"{c:.2f}x" for c in capacity) + " (2.00x: two whole cores; less: the host shared them)")
    return 0 if all(r[3] for r in rows) and identical else 1


if __name__ == "__main__":
    sys.exit(main())
