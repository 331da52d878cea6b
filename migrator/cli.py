"""The ``openai-migrate`` command: find files, migrate them, guard the git tree, write, report.

Exit status: 0 nothing to do or everything written; 1 ``--dry-run``/``--check`` found changes;
2 usage error, or refused to write over uncommitted work; 3 some files could not be
processed (every other file was still processed and written).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import click
from rich.console import Console

from . import __version__
from .config import ConfigError, load_config, resolve_rule_selection
from .discovery import DEFAULT_EXCLUDES, DiscoveryError, Skipped, discover
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
  openai-migrate --extend-exclude 'tests/' .   skip tests/ as well as venv, build...
  openai-migrate -j4 .             migrate in 4 processes (default: one per core)
  openai-migrate --global notebooks/   keep the module-level client (openai.chat.completions...)

\b
Exit status:
  0  nothing to change, or every change written
  1  --dry-run/--diff/--check: some file would change
  2  usage error, or refused to overwrite uncommitted work (see --allow-dirty)
  3  some files could not be processed (the others were still migrated)
  130  interrupted (Ctrl-C); every file is either unchanged or completely written

\b
Shell completion (bash; zsh and fish: see the README):
  eval "$(_OPENAI_MIGRATE_COMPLETE=bash_source openai-migrate)"
"""


def _complete_rule(ctx: click.Context, param: click.Parameter, incomplete: str):
    """Shell completion for --select/--ignore: rule codes and names."""
    from click.shell_completion import CompletionItem

    from codemods import RULES  # imports libcst: only when completing a rule

    items = []
    for rule in RULES:
        for value in (rule.code, rule.name):
            if value.lower().startswith(incomplete.lower()):
                items.append(CompletionItem(value, help=rule.summary))
    return items


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
              help="Skip paths matching this gitignore-style pattern (repeatable). Replaces the built-in list "
                   "(venv, build, node_modules...) and the configuration's exclude.")
@click.option("--extend-exclude", "extend_excludes", multiple=True, metavar="GLOB",
              help="Skip paths matching this pattern too, keeping the built-in list (repeatable).")
@click.option("--force-exclude", is_flag=True, default=None,
              help="Apply the excludes to files named on the command line too (as pre-commit names every file).")
@click.option("--select", "--only", "select", multiple=True, metavar="RULE", shell_complete=_complete_rule,
              help="Run only this rule (code like OM003 or name like response-access; repeatable). "
                   "A rule's prerequisites run with it. Replaces the configuration's select and ignore.")
@click.option("--ignore", "--skip", "ignore", multiple=True, metavar="RULE", shell_complete=_complete_rule,
              help="Skip this rule (repeatable; added to the configuration's ignore).")
@click.option("--global/--no-global", "global_client", default=None,
              help="Keep the module-level client (openai.chat.completions.create) instead of creating one.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read [tool.openai-migrate] from this file instead of the nearest pyproject.toml.")
@click.option("-q", "--quiet", is_flag=True, help="Print no diff, only problems and the summary.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also say which configuration, rules and mode were used, what was scanned and how long it took.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=None, metavar="N",
              help="Migrate in N processes (default 0: one per core; 1: only this process).")
@click.version_option(__version__, "--version", prog_name="openai-migrate")
def main(paths: Sequence[Path], dry_run: bool, check: bool, output_format: str, list_rules: bool, allow_dirty: bool,
         excludes: Sequence[str], extend_excludes: Sequence[str], force_exclude: Optional[bool], select: Sequence[str], ignore: Sequence[str],
         global_client: Optional[bool], config_path: Optional[Path], quiet: bool, verbose: bool,
         jobs: Optional[int]) -> None:
    """Migrate Python code from the openai 0.28 SDK to the openai 1.x client API.

    Rewrites every .py file and notebook (and raises openai pins) under PATHS
    (default: the current directory) in place, honouring .gitignore and
    [tool.openai-migrate] in pyproject.toml, then prints a unified diff of the
    changes, the TODOs left for review and a summary.
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
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose cannot be combined.")
    if global_client is None:
        global_client = bool(config.global_client)
    if select:  # the command line says exactly which rules run
        rules = _chosen_rules(select, ignore)
    else:
        rules = _chosen_rules(config.select, [*config.ignore, *ignore])
    if verbose:
        _describe_setup(reporter, config, global_client, rules)
    if stdin_mode:
        _migrate_stdin(reporter, global_client, rules)
    json_mode = output_format == "json"
    if check:
        dry_run = True
    quiet = quiet or check or json_mode  # no diff is made or printed in these modes
    if jobs is None:
        jobs = config.jobs if config.jobs is not None else 0
    # the command line's patterns are relative to the paths given (or bare names); the configuration's to
    # the directory of its file, as in ruff and black. --exclude replaces the configuration's exclude.
    replaced = bool(excludes) or config.exclude is not None
    configured = [*([] if excludes else config.exclude or []), *config.extend_exclude]
    skipped: List[Skipped] = []
    try:
        found = (path for path in discover(list(paths) or [Path(".")], excludes=[*excludes, *extend_excludes],
                                           suffixes=SUFFIXES, skipped=skipped,
                                           default_excludes=() if replaced else DEFAULT_EXCLUDES,
                                           force_exclude=bool(force_exclude or config.force_exclude),
                                           anchored_excludes=configured,
                                           anchor=config.path.parent if config.path is not None else None)
                 if kind_of(path) is not None)
    except DiscoveryError as exc:
        raise click.UsageError(str(exc)) from exc

    started = time.perf_counter()
    try:
        outcomes, scanned = _migrate_all(found, skipped, reporter, quiet, jobs, global_client, rules)
    except KeyboardInterrupt:
        reporter.note("Interrupted before anything was written.")
        sys.exit(EXIT_INTERRUPTED)
    if verbose:
        _describe_scan(reporter, scanned, outcomes, time.perf_counter() - started)
    _finish(outcomes, scanned, reporter, dry_run, allow_dirty, quiet, check=check, json_mode=json_mode)


def _describe_setup(reporter: Reporter, config, global_client: bool, rules) -> None:
    """--verbose: where the settings came from and what will run."""
    reporter.note(f"configuration: {config.path.as_posix() if config.path else 'none (no pyproject.toml found)'}")
    from codemods import RULES  # imports libcst: only in verbose mode

    chosen = [rule for rule in RULES if rules is None or rule.name in rules]
    reporter.note("rules: " + ", ".join(f"{rule.code} {rule.name}" for rule in chosen))
    reporter.note("client: " + ("the module-level client (--global)" if global_client else
                                "an OpenAI() client per module (module client where settings are shared)"))


def _describe_scan(reporter: Reporter, scanned, outcomes: List[FileOutcome], seconds: float) -> None:
    """--verbose: what the scan found and decided, and the time taken."""
    mentioning = len(scanned.candidates)
    reporter.note(f"scanned {_count(scanned.scanned, 'file')}: {mentioning} mention openai, "
                  f"{len(scanned.read_errors)} unreadable")
    facts = scanned.facts
    if facts is not None and facts.shared_configuration:
        reporter.note("openai is configured in " + ", ".join(sorted(facts.configuring)) + " and called without "
                      "configuration in " + ", ".join(sorted(facts.calling_unconfigured - facts.configuring)) +
                      ": every file keeps the settings on the module client, which reads them at call time")
    touched = {o.path for o in outcomes}
    for candidate in scanned.candidates:
        if candidate.path not in touched:
            reporter.note(f"unchanged: {candidate.path.as_posix()}")
    reporter.note(f"done in {seconds:.2f} s")


def _count(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


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
