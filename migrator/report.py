"""What the user sees: unified diffs on stdout (coloured on a terminal), problems and the summary on stderr."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from rich.console import Console
from rich.syntax import Syntax

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

    @property
    def changed(self) -> bool:
        return self.new is not None and self.error is None


def unified_diff(outcome: FileOutcome) -> str:
    assert outcome.old is not None and outcome.new is not None
    name = outcome.path.as_posix()
    old = outcome.old.decode(outcome.encoding, errors="replace").splitlines(keepends=True)
    new = outcome.new.decode(outcome.encoding, errors="replace").splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old, new, fromfile=f"a/{name}", tofile=f"b/{name}"):
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


class Reporter:
    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def diff(self, outcome: FileOutcome) -> None:
        text = unified_diff(outcome)
        if self.out.is_terminal and self.out.color_system is not None:
            self.out.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"), end="")
        else:
            self.out.file.write(text)
            self.out.file.flush()

    def problem(self, path: Path, message: str) -> None:
        self.err.print(f"error: {path.as_posix()}: {message}", markup=False, highlight=False, soft_wrap=True)

    def note(self, message: str) -> None:
        self.err.print(message, markup=False, highlight=False, soft_wrap=True)

    def todos(self, outcome: FileOutcome) -> None:
        for todo in outcome.todos:
            self.err.print(f"{outcome.path.as_posix()}:{todo.line}: TODO [{todo.rule}] {todo.message}",
                           markup=False, highlight=False, soft_wrap=True)

    def summary(self, scanned: int, outcomes: List[FileOutcome], dry_run: bool) -> None:
        changed = sum(1 for o in outcomes if o.changed)
        failed = sum(1 for o in outcomes if o.error is not None)
        todos = sum(len(o.todos) for o in outcomes)
        verb = "would change" if dry_run else "changed"
        if not changed and not failed:
            self.note(f"{_plural(scanned, 'file')} scanned, no changes needed.")
            return
        self.note(f"{_plural(scanned, 'file')} scanned, {changed} {verb}, {failed} failed, "
                  f"{_plural(todos, 'TODO')} left for review.")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")
