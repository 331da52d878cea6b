"""What the user sees: unified diffs on stdout (coloured on a terminal), problems and the summary on stderr."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the engine imports libcst, which a run without openai never needs
    from .engine import TodoAt


@dataclass
class FileOutcome:
    path: Path
    old: Optional[bytes] = None
    new: Optional[bytes] = None
    encoding: str = "utf-8"
    todos: List[TodoAt] = field(default_factory=list)
    error: Optional[str] = None
    written: bool = False
    notes: List[str] = field(default_factory=list)
    diff: Optional[str] = None  # the unified diff, when it was made where the file was migrated (a worker)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.error is None


def unified_diff(outcome: FileOutcome) -> str:
    if outcome.diff is not None:
        return outcome.diff
    assert outcome.old is not None and outcome.new is not None
    name = outcome.path.as_posix()
    old = outcome.old.decode(outcome.encoding, errors="replace").splitlines(keepends=True)
    new = outcome.new.decode(outcome.encoding, errors="replace").splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old, new, fromfile=f"a/{name}", tofile=f"b/{name}"):
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def write_exactly(stream, text: str) -> None:
    """Write *text* as UTF-8 bytes with its line endings untouched, below the stream's text layer when it has
    one: on Windows a redirected stdout would turn every ``\n`` into ``\r\n`` (a CRLF file's diff lines into
    ``\r\r\n``) and encode with the ANSI code page, which fails on any character outside it."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    buffer.write(text.encode("utf-8", "replace"))
    buffer.flush()


class Reporter:
    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def diff(self, outcome: FileOutcome) -> None:
        text = unified_diff(outcome)
        if self.out.is_terminal and self.out.color_system is not None and not self.out.no_color:  # NO_COLOR: plain
            from rich.syntax import Syntax  # only for a terminal: pygments is a large import

            self.out.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"), end="")
        else:
            write_exactly(self.out.file, text)

    def problem(self, path: Path, message: str) -> None:
        self.err.print(f"error: {path.as_posix()}: {message}", markup=False, highlight=False, soft_wrap=True,
                       emoji=False)

    def note(self, message: str) -> None:
        self.err.print(message, markup=False, highlight=False, soft_wrap=True, emoji=False)

    def todos(self, outcomes: List[FileOutcome]) -> None:
        """Every TODO left, by file and line: on a terminal a table, or for large runs one table per file;
        otherwise one grep-able ``path:line: TODO [rule] message`` line each."""
        rows = [(o.path.as_posix(), todo) for o in outcomes if o.error is None for todo in o.todos]
        if not rows:
            return
        if self.err.is_terminal:
            for table in todo_tables(rows):
                self.err.print(table)
            return
        for path, todo in rows:
            where = f"{path}:{todo.line}" if todo.cell is None else f"{path}: {todo.where}"
            self.err.print(f"{where}: TODO [{todo.rule}] {todo.message}",
                           markup=False, highlight=False, soft_wrap=True, emoji=False)

    def json_report(self, version: str, scanned: int, outcomes: List[FileOutcome]) -> None:
        """``--format json``: one JSON document on stdout (see the README for its schema)."""
        write_exactly(self.out.file, json.dumps(json_document(version, scanned, outcomes), indent=2) + "\n")

    def summary(self, scanned: int, outcomes: List[FileOutcome], dry_run: bool) -> None:
        changed = sum(1 for o in outcomes if o.changed)
        failed = sum(1 for o in outcomes if o.error is not None)
        todos = sum(len(o.todos) for o in outcomes)
        verb = "would change" if dry_run else "changed"
        if not changed and not failed:
            self.note(f"{_plural(scanned, 'file')} scanned, no changes needed.")
            return
        if self.err.is_terminal and (todos or failed):
            self.err.print(summary_table(outcomes, verb))
        self.note(f"{_plural(scanned, 'file')} scanned, {changed} {verb}, {failed} failed, "
                  f"{_plural(todos, 'TODO')} left for review.")


#: Above this many TODOs, the terminal list is grouped under one heading per file.
GROUP_TODOS_ABOVE = 15


def todo_tables(rows: List[Tuple[str, "TodoAt"]]) -> List[Table]:
    """The TODO list for a terminal: one table keyed by ``path:line``, or, for a large run, one table per
    file headed by its path and TODO count, keyed by line (or cell and line)."""
    if len(rows) <= GROUP_TODOS_ABOVE:
        table = Table(title="TODOs left for review", box=box.SIMPLE, title_justify="left")
        table.add_column("where", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("what to do")
        for path, todo in rows:
            table.add_row(f"{path}:{todo.where}" if todo.cell is None else f"{path}: {todo.where}", todo.rule,
                          todo.message)
        return [table]
    by_file: Dict[str, List["TodoAt"]] = {}
    for path, todo in rows:
        by_file.setdefault(path, []).append(todo)
    tables = []
    for path, todos in by_file.items():
        table = Table(title=f"{path}: {_plural(len(todos), 'TODO')}", box=box.SIMPLE, title_justify="left",
                      title_style="bold")
        table.add_column("line", no_wrap=True, justify="right")
        table.add_column("rule", no_wrap=True)
        table.add_column("what to do")
        for todo in todos:
            table.add_row(todo.where, todo.rule, todo.message)
        tables.append(table)
    return tables


def summary_table(outcomes: List[FileOutcome], verb: str) -> Table:
    """Files changed and failed, and TODOs counted by rule: the end of a run on a terminal."""
    table = Table(title="Summary", box=box.SIMPLE, title_justify="left", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row(f"files {verb}", str(sum(1 for o in outcomes if o.changed)))
    table.add_row("files that failed", str(sum(1 for o in outcomes if o.error is not None)))
    by_rule: dict = {}
    for outcome in outcomes:
        for todo in outcome.todos:
            by_rule[todo.rule] = by_rule.get(todo.rule, 0) + 1
    for rule, count in sorted(by_rule.items()):
        table.add_row(f"TODOs from {rule}", str(count))
    return table


def json_document(version: str, scanned: int, outcomes: List[FileOutcome]) -> dict:
    files = [{
        "path": o.path.as_posix(),
        "changed": o.changed,
        "error": o.error,
        "todos": [{"line": t.line, "cell": t.cell, "rule": t.rule, "message": t.message}
                  for t in (o.todos if o.error is None else [])],
        "notes": list(o.notes),
    } for o in outcomes]
    return {
        "version": version,
        "files": files,
        "summary": {
            "scanned": scanned,
            "changed": sum(1 for o in outcomes if o.changed),
            "failed": sum(1 for o in outcomes if o.error is not None),
            "todos": sum(len(f["todos"]) for f in files),
        },
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")
