"""Which files the tool handles, and how each kind is migrated: Python sources, notebooks, pin files.

``migrate_path`` is what a worker runs for one file: it picks the engine for the file's kind and
returns a ``SourceResult`` (with notes and, for notebooks, per-cell TODO positions) plus the diff
text to show (unified over lines for sources and pin files, per cell for notebooks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from . import pins

# Discovery suffixes: Python sources, notebooks and every suffix a pin file can have (then filtered by name).
SUFFIXES = (".py", ".ipynb", *pins.PIN_FILE_SUFFIXES)


def kind_of(path: Path) -> Optional[str]:
    """``python``, ``notebook``, ``pins`` or None (not ours). ``setup.py`` is Python (its pins follow)."""
    name = path.name
    if name.endswith(".py"):
        return "python"
    if name.endswith(".ipynb"):
        return "notebook"
    if pins.pin_file_kind(path.as_posix()) is not None:
        return "pins"
    return None


def migrate_path(path: Path, data: bytes, options, want_diff: bool) -> Tuple["SourceResult", Optional[str]]:
    from .engine import SourceResult, TodoAt, migrate_source

    kind = kind_of(path)
    if kind == "notebook":
        from .notebooks import cell_diffs, migrate_notebook

        notebook = migrate_notebook(data, options)
        result = SourceResult(new=notebook.new, error=notebook.error, parsed=True,
                              todos=[TodoAt(todo.line, todo.rule, todo.message, cell=todo.cell)
                                     for todo in notebook.todos],
                              notes=[*notebook.problems, *notebook.pins])
        diff = cell_diffs(path.as_posix(), notebook) if want_diff and notebook.new is not None else None
        return result, diff
    if kind == "pins":
        pinned = pins.migrate_requirements_file(path.as_posix(), data)
        result = SourceResult(new=pinned.new, error=pinned.error, parsed=True,
                              notes=[f"{change}" for change in pinned.changes] + list(pinned.notes))
        return result, _diff(path, data, result, want_diff)
    from .parallel import migrate_one

    result = migrate_one(data, options)
    if path.name == "setup.py" and result.error is None:  # install_requires pins, after the code
        pinned = pins.migrate_requirements_file("setup.py", result.new if result.new is not None else data)
        if pinned.new is not None:
            result.new = pinned.new
            result.notes.extend(pinned.changes)
    return result, _diff(path, data, result, want_diff)


def _diff(path: Path, old: bytes, result, want_diff: bool) -> Optional[str]:
    if not want_diff or result.new is None or result.error is not None:
        return None
    from .report import FileOutcome, unified_diff

    return unified_diff(FileOutcome(path, old=old, new=result.new, encoding=result.encoding))
