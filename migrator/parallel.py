"""Running the engine over a whole tree: cheap pre-filters, worker processes, results in discovery order.

A run has two phases.

1. **Scan** (this process): walk, read every file and keep only the *candidates*, files whose bytes contain
   ``openai``. Everything else is dropped at once, so a file that never mentions openai costs one read and one
   ``bytes.__contains__`` and never crosses a process boundary; libcst is not even imported when there is no
   candidate. Candidates are remembered by path (with their bytes, up to :data:`KEEP_BYTES` in total; the rest
   are read again in phase 2), so memory does not grow with the size of the tree. Their bytes also feed
   :class:`migrator.project.ProjectFacts`, which decides the options of the whole run.
2. **Migrate**: each candidate first goes through :func:`needs_parsing`, a regular-expression scan (C speed,
   about 100x cheaper than a libcst parse) that drops files mentioning openai only in comments or in prose
   strings, then through :func:`migrator.engine.migrate_source`. With ``jobs > 1`` and enough candidate
   source (:data:`MIN_PARALLEL_BYTES`), ``jobs - 1`` worker processes of a
   :class:`~concurrent.futures.ProcessPoolExecutor` help this process (see :func:`_in_workers`): spawned, never
   ``fork()`` copies of this process; a top-level worker function; an initializer that imports libcst and the
   codemods once per worker and makes the worker exit if this process dies; batches sent largest first, with
   a bounded number in flight. Only changed or failed files come back, with their new bytes and their diff,
   so the original bytes are not kept either.

Results are sorted by discovery index before anything is reported, so the output does not depend on the
number of workers or on which worker finished first.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # importing the engine imports libcst: only done once a file needs it
    from multiprocessing.context import BaseContext

    from rich.console import Console
    from rich.progress import Progress, TaskID

    from codemods import Options

    from .engine import SourceResult
    from .project import ProjectFacts

__all__ = [
    "Candidate",
    "Done",
    "KEEP_BYTES",
    "MIN_PARALLEL_BYTES",
    "ProgressDisplay",
    "migrate_candidates",
    "migrate_one",
    "needs_parsing",
    "resolve_jobs",
    "scan",
]

#: Below this much candidate source (about a second of work) worker processes cost more than they save.
MIN_PARALLEL_BYTES = 256 * 1024
#: Candidates are sent to workers in batches of about this many bytes (one large file is a batch of its own).
BATCH_BYTES = 16 * 1024
BATCH_FILES = 8
#: Batches in flight per worker: one being processed, one waiting in the pipe.
IN_FLIGHT_PER_WORKER = 3
#: Candidate bytes kept in memory between the scan and the migration; the rest are read again.
KEEP_BYTES = 32 * 1024 * 1024
#: ProcessPoolExecutor's limit on Windows (WaitForMultipleObjects handles).
WINDOWS_MAX_WORKERS = 61
#: The progress bar appears only when a run lasts longer than this (seconds).
PROGRESS_DELAY = 0.5

_MARKER = b"openai"

# What in a source can make the codemods change it: the name ``openai`` in code (every 0.28 reference starts
# from an ``import`` of openai, or of a module's ``openai`` attribute) or a string naming ``openai.<something>``
# (``patch("openai.ChatCompletion.create")``). Comments, and strings that merely mention the word, cannot.
# The scan walks comments and string literals exactly as Python's tokenizer does (prefixes need no special
# case: a backslash escapes the next character in raw strings too); an unterminated string means the scan is
# unsure, and the file is parsed.
_SCAN = re.compile(
    rb"""
      \#[^\r\n]*
    | (?P<string>
          '''(?:[^'\\]|\\.|'(?!''))*'''
        | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
        | '(?:[^'\\\r\n]|\\(?:\r\n|.))*'
        | "(?:[^"\\\r\n]|\\(?:\r\n|.))*"
      )
    | (?P<unsure>'|")
    | (?P<name>(?<!\w)openai(?!\w))
    """,
    re.VERBOSE | re.DOTALL,
)


def needs_parsing(data: bytes) -> bool:
    """Whether the codemods could change the Python source ``data``: False when ``openai`` occurs only in
    comments or in string literals that do not contain ``openai.``. Conservative: when in doubt, True.

    For ``.py`` sources only: in a notebook every line of code is inside a JSON string."""
    if _MARKER not in data:
        return False
    for match in _SCAN.finditer(data):
        kind = match.lastgroup
        if kind is None:  # a comment
            continue
        if kind == "string":
            if b"openai." in match.group():
                return True
            continue
        return True  # the name, or a string the scan could not follow
    return False


def migrate_one(data: bytes, options: "Options") -> "SourceResult":
    """The engine, behind the cheap pre-filter; an unexpected exception becomes an error for this file only."""
    from .engine import SourceResult, migrate_source

    if not needs_parsing(data):
        return SourceResult()
    try:
        return migrate_source(data, options)
    except Exception as exc:  # a bug in a rule must not stop the other files
        return SourceResult(error=f"internal error: {type(exc).__name__}: {exc}; file left unchanged")


def resolve_jobs(jobs: int) -> int:
    """``0`` means one worker per usable core (at most 61 on Windows)."""
    if jobs <= 0:
        count = getattr(os, "process_cpu_count", None)  # Python 3.13+: honours the CPU affinity
        if count is not None:
            jobs = count() or 1
        elif hasattr(os, "sched_getaffinity"):
            jobs = len(os.sched_getaffinity(0)) or 1
        else:
            jobs = os.cpu_count() or 1
    if sys.platform == "win32":
        jobs = min(jobs, WINDOWS_MAX_WORKERS)
    return max(1, jobs)


# ------------------------------------------------------------------------------------------------ phase 1


@dataclass
class Candidate:
    """A file whose bytes mention openai: its discovery index, path, size and (if kept) bytes."""

    index: int
    path: Path
    size: int
    data: Optional[bytes]


@dataclass
class ScanResult:
    scanned: int
    candidates: List[Candidate]
    read_errors: List[Tuple[int, Path, OSError]]
    facts: Optional["ProjectFacts"] = None  # what the candidates tell together (None: no candidate)

    def options(self, **chosen) -> "Options":
        """The codemod options for this run: the user's choices (e.g. ``global_client``), adjusted for the
        project as a whole (openai configured in one module and called from others, see
        :mod:`migrator.project`). Imported here so that runs without candidates never load libcst."""
        from codemods import Options

        base = Options(**chosen)
        return self.facts.options(base) if self.facts is not None else base


def scan(paths: Iterable[Path], read: Callable[[Path], bytes], progress: Optional["ProgressDisplay"] = None,
         keep_bytes: int = KEEP_BYTES) -> ScanResult:
    """Read every file once; remember the candidates (and read errors), forget everything else. The
    candidates' bytes also go through the project-wide byte scan of :mod:`migrator.project`, so that every
    file is migrated knowing what the others do."""
    candidates: List[Candidate] = []
    errors: List[Tuple[int, Path, OSError]] = []
    facts: Optional["ProjectFacts"] = None
    kept = 0
    index = -1
    for index, path in enumerate(paths):
        if progress is not None:
            progress.scanned(index)
        try:
            data = read(path)
        except OSError as exc:  # ReadError is an OSError
            errors.append((index, path, exc))
            continue
        if _MARKER in data:
            if facts is None:
                from .project import ProjectFacts  # imports the codemods: only once a file mentions openai

                facts = ProjectFacts()
            if path.name.endswith(".py"):  # notebooks run on their own; pin files hold no code
                facts.observe(path.as_posix(), data)
            size = len(data)
            keep = kept + size <= keep_bytes
            kept += size if keep else 0
            candidates.append(Candidate(index, path, size, data if keep else None))
    return ScanResult(index + 1, candidates, errors, facts)


# ------------------------------------------------------------------------------------------------ phase 2


@dataclass
class Done:
    """A candidate that changed or failed: the engine's result (None if the file could not be read again)
    and, for a changed file when asked for, its unified diff (computed where the work was done, so that the
    original bytes need not be kept)."""

    index: int
    path: Path
    result: Optional["SourceResult"] = None
    read_error: Optional[OSError] = None
    diff: Optional[str] = None


def migrate_candidates(candidates: Sequence[Candidate], read: Callable[[Path], bytes], jobs: int, *,
                       want_diff: bool = True, options: Optional["Options"] = None,
                       progress: Optional["ProgressDisplay"] = None, note: Optional[Callable[[str], None]] = None,
                       min_parallel_bytes: Optional[int] = None, start_method: Optional[str] = None) -> List[Done]:
    """Migrate the candidates; return the changed and failed ones in candidate (discovery) order.

    ``options`` None means the defaults (created where the work is done, so that this process need not
    import the codemods when workers do the work). ``start_method`` overrides the choice of :func:`_context`.
    """
    threshold = MIN_PARALLEL_BYTES if min_parallel_bytes is None else min_parallel_bytes
    total = sum(c.size for c in candidates)
    if progress is not None:
        progress.migrating(len(candidates), total)
    if jobs > 1 and len(candidates) > 2 and total >= threshold:
        done = _in_workers(candidates, read, jobs, want_diff, options, progress, note, start_method)
    else:
        done = list(_serially(candidates, read, want_diff, options, progress))
    done.sort(key=lambda d: d.index)
    return done


def _migrate_file(index: int, path: Path, data: bytes, options: "Options", want_diff: bool) -> Optional[Done]:
    """One candidate, in a worker or in this process; None when it does not change."""
    from .files import migrate_path

    result, diff = migrate_path(path, data, options, want_diff)
    if result.new is None and result.error is None and not result.notes:
        return None
    return Done(index, path, result, diff=diff)


def _load(candidate: Candidate, read: Callable[[Path], bytes]) -> Tuple[Optional[bytes], Optional[OSError]]:
    """The candidate's bytes (read again if they were not kept), and forget them."""
    data, candidate.data = candidate.data, None
    if data is not None:
        return data, None
    try:
        return read(candidate.path), None
    except OSError as exc:
        return None, exc


def _default_options(options: Optional["Options"]) -> "Options":
    if options is not None:
        return options
    from codemods import Options

    return Options()


def _serially(candidates: Sequence[Candidate], read: Callable[[Path], bytes], want_diff: bool,
              options: Optional["Options"], progress: Optional["ProgressDisplay"]) -> Iterator[Done]:
    options = _default_options(options)
    with _quiet_gc():
        for candidate in candidates:
            data, error = _load(candidate, read)
            if data is None:
                yield Done(candidate.index, candidate.path, read_error=error)
            else:
                done = _migrate_file(candidate.index, candidate.path, data, options, want_diff)
                if done is not None:
                    yield done
            if progress is not None:
                progress.migrated(1, candidate.size)


def _batches(candidates: Sequence[Candidate]) -> List[List[Candidate]]:
    """Largest files first (the last batches are the small ones, so workers finish together), grouped up to
    :data:`BATCH_BYTES`. Order does not matter for the output: results are sorted by index afterwards."""
    batches: List[List[Candidate]] = []
    current: List[Candidate] = []
    size = 0
    for candidate in sorted(candidates, key=lambda c: (-c.size, c.index)):
        if current and (size + candidate.size > BATCH_BYTES or len(current) >= BATCH_FILES):
            batches.append(current)
            current, size = [], 0
        current.append(candidate)
        size += candidate.size
    if current:
        batches.append(current)
    return batches


def _context(start_method: Optional[str]) -> "BaseContext":
    """``spawn`` unless told otherwise, on every platform: a fresh interpreter per worker, as on macOS and
    Windows, never a ``fork()`` of this process (which has threads: the executor's, the progress bar's).
    Spawning returns at once, so this process starts migrating while its workers import libcst."""
    import multiprocessing

    return multiprocessing.get_context(start_method or "spawn")


_Payload = List[Tuple[Candidate, bytes]]


def _in_workers(candidates: Sequence[Candidate], read: Callable[[Path], bytes], jobs: int, want_diff: bool,
                options: Optional["Options"], progress: Optional["ProgressDisplay"],
                note: Optional[Callable[[str], None]], start_method: Optional[str]) -> List[Done]:
    """``jobs - 1`` worker processes, and this process as the last of the ``jobs``.

    The workers take batches from the large end of the queue, this process takes files from the small end,
    one at a time, and tops up the workers' queues between two files; it starts at once, while the workers
    are still importing libcst, and the two ends meet at the same time."""
    queue = deque(_batches(candidates))
    workers = min(jobs - 1, len(queue) - 1)
    local_options = _default_options(options)
    if workers < 1:
        return list(_serially(candidates, read, want_diff, local_options, progress))
    limit = workers * IN_FLIGHT_PER_WORKER
    in_flight: Dict[Future, _Payload] = {}
    orphans: _Payload = []  # sent to a pool that broke down
    done: List[Done] = []
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_context(start_method),
                                   initializer=_init_worker, initargs=(options, want_diff))

    def feed() -> None:
        """Top up the workers' queues, and collect what they finished."""
        while not orphans and len(in_flight) < limit and queue:
            payload = _payload(queue.popleft(), read, done, progress)
            if not payload:
                continue
            try:
                future = executor.submit(_work, [(c.index, c.path, data) for c, data in payload])
            except BrokenProcessPool:
                orphans.extend(payload)
                break
            in_flight[future] = payload
        collect([future for future in in_flight if future.done()])

    def collect(futures: Iterable[Future]) -> None:
        for future in futures:
            payload = in_flight.pop(future)
            try:
                done.extend(future.result())
            except BrokenProcessPool:
                orphans.extend(payload)
                continue
            if progress is not None:
                progress.migrated(len(payload), sum(c.size for c, _ in payload))

    try:
        with _quiet_gc():
            feed()
            while True:
                if queue and not orphans:  # a share for this process: the smallest files, one by one
                    for candidate in reversed(queue.pop()):
                        done.extend(_serially([candidate], read, want_diff, local_options, progress))
                        feed()
                elif in_flight:
                    # a timeout, so that Ctrl-C is seen promptly where lock waits cannot be interrupted (Windows)
                    finished, _ = wait(in_flight, timeout=0.25, return_when=FIRST_COMPLETED)
                    if finished:
                        collect(finished)
                        feed()
                else:
                    break
    except BaseException:  # Ctrl-C included: stop the workers; nothing has been written
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=not orphans, cancel_futures=True)
    if orphans:
        # A worker died (killed, out of memory, a crash in native code): finish here, one file at a time.
        if note is not None:
            note("note: a worker process stopped unexpectedly; the remaining files are migrated in this process")
        for candidate, data in orphans:
            candidate.data = data
        rest = sorted([c for c, _ in orphans] + [c for batch in queue for c in batch], key=lambda c: c.index)
        done.extend(_serially(rest, read, want_diff, local_options, progress))
    return done


def _payload(batch: List[Candidate], read: Callable[[Path], bytes], done: List[Done],
             progress: Optional["ProgressDisplay"]) -> _Payload:
    """The batch's bytes; a file that cannot be read again is done here."""
    payload: _Payload = []
    for candidate in batch:
        data, error = _load(candidate, read)
        if data is None:
            done.append(Done(candidate.index, candidate.path, read_error=error))
            if progress is not None:
                progress.migrated(1, candidate.size)
        else:
            payload.append((candidate, data))
    return payload


# ------------------------------------------------------------------------------------------------ workers

_OPTIONS: Optional["Options"] = None
_WANT_DIFF = True


def _init_worker(options: Optional["Options"], want_diff: bool) -> None:
    """Runs once in each worker: exit with the main process, import libcst and the codemods now (not per
    file), ignore Ctrl-C (the main process handles it and stops the pool), and keep the garbage collector off
    the parser's hot path."""
    global _OPTIONS, _WANT_DIFF
    import multiprocessing
    import signal
    import threading

    try:  # first: a Ctrl-C while the worker imports libcst is the parent's to handle
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="exit-with-parent", daemon=True).start()

    from . import engine, report  # noqa: F401  (libcst, codemods, difflib)

    _OPTIONS = _default_options(options)
    _WANT_DIFF = want_diff
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLD)


def _exit_with(parent_sentinel: int) -> None:
    """If the main process is killed (SIGKILL, a crash), nothing stops the pool: the workers hold both ends of
    its pipes, and would wait for work forever. Each one leaves as soon as its parent is gone."""
    from multiprocessing.connection import wait as wait_for

    wait_for([parent_sentinel])
    os._exit(1)


def _work(batch: List[Tuple[int, Path, bytes]]) -> List[Done]:
    """Migrate a batch in a worker; only changed or failed files are sent back."""
    assert _OPTIONS is not None
    out = []
    for index, path, data in batch:
        done = _migrate_file(index, path, data, _OPTIONS, _WANT_DIFF)
        if done is not None:
            out.append(done)
    return out


# libcst builds many small, acyclic objects; collecting the youngest generation every 700 allocations (the
# default) costs about 5% of a parse and frees nothing that reference counting does not.
_GC_THRESHOLD = (50_000, 20, 100)


class _quiet_gc:
    def __enter__(self) -> None:
        self.saved = gc.get_threshold()
        gc.set_threshold(*_GC_THRESHOLD)

    def __exit__(self, *exc: object) -> None:
        gc.set_threshold(*self.saved)


# ------------------------------------------------------------------------------------------------ progress


class ProgressDisplay:
    """A rich progress bar on stderr, for runs that last more than :data:`PROGRESS_DELAY` seconds.

    Disabled (every method returns at once) when stderr is not a terminal or with ``--quiet``. The bar is
    transient: it disappears when the run ends, before the diff and the summary are printed.
    """

    def __init__(self, console: "Console", enabled: bool, delay: Optional[float] = None) -> None:
        self.console = console
        self.enabled = enabled
        self.delay = PROGRESS_DELAY if delay is None else delay
        self.start = time.monotonic()
        self._progress: Optional["Progress"] = None
        self._task: Optional["TaskID"] = None
        self._phase = "scan"
        self._files = 0
        self._total_files = 0
        self._bytes = 0
        self._total_bytes = 0

    def scanned(self, index: int) -> None:
        if not self.enabled or index & 63:  # look at the clock every 64 files
            return
        self._files = index
        self._refresh()

    def migrating(self, files: int, size: int) -> None:
        if not self.enabled:
            return
        self._phase, self._files, self._total_files, self._bytes, self._total_bytes = "migrate", 0, files, 0, size
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description="migrating", total=max(size, 1), completed=0,
                                  files=f"0/{files} files")
        self._refresh()

    def migrated(self, files: int, size: int) -> None:
        if not self.enabled:
            return
        self._files += files
        self._bytes += size
        self._refresh()

    def _refresh(self) -> None:
        if self._progress is None:
            if time.monotonic() - self.start < self.delay:
                return
            self._show()
        assert self._progress is not None and self._task is not None
        if self._phase == "scan":
            self._progress.update(self._task, files=f"{self._files} files")
        else:
            self._progress.update(self._task, completed=self._bytes, files=f"{self._files}/{self._total_files} files")

    def _show(self) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  TextColumn("{task.fields[files]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                  console=self.console, transient=True)
        if self._phase == "scan":
            self._task = self._progress.add_task("scanning", total=None, files=f"{self._files} files")
        else:
            self._task = self._progress.add_task("migrating", total=max(self._total_bytes, 1),
                                                 files=f"{self._files}/{self._total_files} files")
        self._progress.start()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> "ProgressDisplay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
