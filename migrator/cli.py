"""The ``openai-migrate`` command: find files, migrate them, guard the git tree, write, report.

Exit status: 0 nothing to do or everything written; 1 ``--dry-run``/``--check`` found changes;
2 usage error, or refused to write over uncommitted work; 3 some files could not be
processed (every other file was still processed and written).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import click
from rich.console import Console

from . import __version__
from .config import ConfigError, load_config, resolve_rule_selection
from .discovery import DiscoveryError, Skipped, discover
from .files import SUFFIXES, kind_of
from .gitguard import find_unsafe
from .parallel import ProgressDisplay, migrate_candidates, resolve_jobs, scan
from .report import FileOutcome, Reporter
from .writer import ReadError, WriteError, atomic_write, read_source  # noqa: F401  (ReadError: tests)

EXIT_OK, EXIT_CHANGES, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it

_EPILOG = """\b
Examples:
  openai-migrate .                 migrate the repository in place, then show the diff
  openai-migrate --dry-run src/    show what would change; exit 1 if anything would
  openai-migrate --check .         CI: list files that would change (stderr); exit 1 if any
  openai-migrate --format json --check .   a JSON report on stdout
  openai-migrate - < old.py > new.py       migrate one program from stdin to stdout
  openai-migrate app.py --exclude 'tests/*'
  openai-migrate -j4 .             migrate in 4 processes (default: one per core)
  openai-migrate --global notebooks/   keep the module-level client (openai.chat.completions...)

\b
Exit status:
  0  nothing to change, or every change written
  1  --dry-run/--diff/--check: some file would change
  2  usage error, or refused to overwrite uncommitted work (see --allow-dirty)
  3  some files could not be processed (the others were still migrated)
  130  interrupted (Ctrl-C); every file is either unchanged or completely written
"""


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--dry-run", "--diff", "dry_run", is_flag=True,
              help="Write nothing; print the diff; exit 1 if anything would change.")
@click.option("--check", is_flag=True,
              help="Write nothing, print no diff; list files that would change on stderr; exit 1 if any would.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: print one JSON report on stdout instead of the diff and the human report.")
@click.option("--list-rules", is_flag=True, help="Print every rule's code, name and summary, then exit.")
@click.option("--allow-dirty", is_flag=True, help="Write even over files with uncommitted changes or outside git.")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Skip files matching this gitignore-style pattern (repeatable).")
@click.option("--select", "select", multiple=True, metavar="RULE",
              help="Run only this rule (code like OM003 or name like response-access; repeatable). "
                   "A rule's prerequisites run with it.")
@click.option("--ignore", "ignore", multiple=True, metavar="RULE", help="Skip this rule (repeatable).")
@click.option("--global/--no-global", "global_client", default=None,
              help="Keep the module-level client (openai.chat.completions.create) instead of creating one.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read [tool.openai-migrate] from this file instead of the nearest pyproject.toml.")
@click.option("-q", "--quiet", is_flag=True, help="Print no diff, only problems and the summary.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=None, metavar="N",
              help="Migrate in N processes (default 0: one per core; 1: only this process).")
@click.version_option(__version__, "--version", prog_name="openai-migrate")
def main(paths: Sequence[Path], dry_run: bool, check: bool, output_format: str, list_rules: bool, allow_dirty: bool,
         excludes: Sequence[str], select: Sequence[str], ignore: Sequence[str], global_client: Optional[bool],
         config_path: Optional[Path], quiet: bool, jobs: Optional[int]) -> None:
    """Migrate Python code from the openai 0.28 SDK to the openai 1.x client API.

    Rewrites every .py file under PATHS (default: the current directory) in place,
    honouring .gitignore, then prints a unified diff of the changes and a summary.
    """
    if list_rules:
        _list_rules()
        sys.exit(EXIT_OK)
    reporter = Reporter(Console(file=sys.stdout, highlight=False), Console(file=sys.stderr, highlight=False))
    stdin_mode = any(str(path) == "-" for path in paths)
    if stdin_mode and len(paths) != 1:
        raise click.UsageError("'-' (read a program from stdin) cannot be combined with other paths.")
    if stdin_mode and (check or dry_run or output_format != "text"):
        raise click.UsageError("'-' writes the migrated program to stdout; it takes no --check, --dry-run/--diff "
                               "or --format json.")
    try:
        config = load_config([] if stdin_mode else list(paths), config_path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if global_client is None:
        global_client = bool(config.global_client)
    rules = _chosen_rules(select, [*config.ignore, *ignore])
    if stdin_mode:
        _migrate_stdin(reporter, global_client, rules)
    json_mode = output_format == "json"
    if check:
        dry_run = True
    quiet = quiet or check or json_mode  # no diff is made or printed in these modes
    if jobs is None:
        jobs = config.jobs if config.jobs is not None else 0
    excludes = [*config.exclude, *excludes]
    skipped: List[Skipped] = []
    try:
        found = (path for path in discover(list(paths) or [Path(".")], excludes=excludes, suffixes=SUFFIXES,
                                           skipped=skipped)
                 if kind_of(path) is not None)
    except DiscoveryError as exc:
        raise click.UsageError(str(exc)) from exc

    try:
        outcomes, scanned = _migrate_all(found, skipped, reporter, quiet, jobs, global_client, rules)
    except KeyboardInterrupt:
        reporter.note("Interrupted before anything was written.")
        sys.exit(EXIT_INTERRUPTED)
    _finish(outcomes, scanned, reporter, dry_run, allow_dirty, quiet, check=check, json_mode=json_mode)


def _list_rules() -> None:
    from codemods import RULES  # imports libcst: only when asked

    for rule in RULES:
        click.echo(f"{rule.code}  {rule.name:<16}  {rule.summary}")


def _chosen_rules(select: Sequence[str], ignore: Sequence[str]):
    """The rule names to run (None: all), from --select/--ignore and the configuration."""
    if not select and not ignore:
        return None
    from codemods import RULES  # imports libcst: only when asked

    try:
        return resolve_rule_selection(select, ignore, [(rule.code, rule.name) for rule in RULES])
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _migrate_stdin(reporter: Reporter, global_client: bool, rules=None) -> None:
    """``openai-migrate -``: the program on stdin, the migrated program (only that) on stdout."""
    from codemods import Options
    from .engine import migrate_source

    data = sys.stdin.buffer.read()
    result = migrate_source(data, Options(global_client=global_client, rules=rules))
    out = sys.stdout.buffer
    if result.error is not None:
        out.write(data)
        out.flush()
        reporter.note(f"error: <stdin>: {result.error}")
        sys.exit(EXIT_FAILED)
    out.write(result.new if result.new is not None else data)
    out.flush()
    for note in result.notes:
        reporter.note(f"<stdin>: {note}")
    for todo in result.todos:
        reporter.note(f"<stdin>:{todo.line}: TODO [{todo.rule}] {todo.message}")
    sys.exit(EXIT_OK)


def _migrate_all(found, skipped, reporter: Reporter, quiet: bool, jobs: int, global_client: bool, rules=None):
    # Phase 1 reads every file and keeps the ones that mention openai; phase 2 migrates those, with worker
    # processes when there are enough of them. Only changed or failed files are kept, in discovery order.
    with ProgressDisplay(reporter.err, enabled=reporter.err.is_terminal and not quiet) as progress:
        scanned = scan(found, read_source, progress)
        for entry in skipped:
            reporter.note(f"skipped: {entry.path.as_posix()}: {entry.reason}")
        indexed: List[Tuple[int, FileOutcome]] = [
            (index, FileOutcome(path, error=_reason(path, exc))) for index, path, exc in scanned.read_errors]
        if scanned.candidates:
            for done in migrate_candidates(scanned.candidates, read_source, resolve_jobs(jobs), want_diff=not quiet,
                                           options=scanned.options(global_client=global_client, rules=rules), progress=progress, note=reporter.note):
                outcome = FileOutcome(done.path)
                if done.read_error is not None:
                    outcome.error = _reason(done.path, done.read_error)
                elif done.result is not None:
                    result = done.result
                    outcome.error = result.error
                    outcome.notes = result.notes
                    if result.new is not None:
                        outcome.new, outcome.encoding, outcome.todos = result.new, result.encoding, result.todos
                        outcome.diff = done.diff
                indexed.append((done.index, outcome))
    indexed.sort(key=lambda item: item[0])
    return [outcome for _, outcome in indexed], scanned


def _finish(outcomes: List[FileOutcome], scanned, reporter: Reporter, dry_run: bool, allow_dirty: bool,
            quiet: bool, check: bool = False, json_mode: bool = False) -> None:

    changed = [o for o in outcomes if o.changed]
    if changed and not dry_run and not allow_dirty:
        problems = find_unsafe([o.path for o in changed])
        if problems:
            for problem in problems:
                reporter.note(f"refusing to write: {problem.path.as_posix()} {problem.reason}")
            reporter.note("Nothing was written. Commit or stash your work (or run inside a git work tree), "
                          "use --dry-run to preview, or pass --allow-dirty to write anyway.")
            sys.exit(EXIT_USAGE)

    if not dry_run:
        current = None
        try:
            for outcome in changed:
                current = outcome
                try:
                    atomic_write(outcome.path, outcome.new)  # type: ignore[arg-type]
                    outcome.written = True
                except (WriteError, OSError) as exc:
                    outcome.error = f"not written: {_reason(outcome.path, exc)}"
        except KeyboardInterrupt:
            if current is not None and not current.written:  # interrupted around the rename: look
                try:
                    current.written = current.path.read_bytes() == current.new
                except OSError:
                    pass
            written = [o for o in changed if o.written]
            for outcome in written:
                reporter.note(f"written: {outcome.path.as_posix()}")
            reporter.note(f"Interrupted: {len(written)} of {len(changed)} files were written (each one completely); "
                          "the others are unchanged. Run again to finish.")
            sys.exit(EXIT_INTERRUPTED)

    if json_mode:
        reporter.json_report(__version__, scanned.scanned, outcomes)
    for outcome in outcomes:
        if outcome.changed and not quiet:
            reporter.diff(outcome)
    if check:
        for outcome in outcomes:
            if outcome.changed:
                reporter.note(f"would change: {outcome.path.as_posix()}")
    for outcome in outcomes:
        if outcome.error is not None:
            reporter.problem(outcome.path, outcome.error)
        for note in outcome.notes:
            reporter.note(f"{outcome.path.as_posix()}: {note}")
    if not json_mode:
        reporter.todos(outcomes)
    if any(outcome.changed and kind_of(outcome.path) == "pins" for outcome in outcomes) or any(
            "->" in note for o in outcomes for note in o.notes):
        reporter.note("openai pins were raised to >=1.0: re-lock your dependencies (poetry lock, pip-compile, "
                      "pipenv lock...) so lock files follow.")
    if not json_mode:
        reporter.summary(scanned.scanned, outcomes, dry_run)

    if any(o.error is not None for o in outcomes):
        sys.exit(EXIT_FAILED)
    if dry_run and changed:
        sys.exit(EXIT_CHANGES)
    sys.exit(EXIT_OK)


def _reason(path: Path, exc: OSError) -> str:
    """The message of a read/write error without the path, which the report prints first."""
    message = str(exc)
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message
