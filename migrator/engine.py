"""Bytes in, result out: migrate one Python source, with the safety checks around the codemods.

The engine reads nothing and writes nothing. It skips sources that never mention ``openai``
without parsing them, parses the rest from bytes (so encoding, BOM and line endings
round-trip), runs the codemods, and refuses any result that does not parse.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst

from codemods import Options, migrate_module
from codemods.edits import TODO_PREFIX

_MARKER = b"openai"
# Generated or vendored files beyond this size are reported, not migrated (libcst needs minutes and
# gigabytes for tens of megabytes of source).
MAX_SOURCE_BYTES = 5_000_000
_PYTHON2 = re.compile(rb"^\s*(print\s+[^\s(=.,)]|exec\s+[\"'\w]|except\s+[\w.]+\s*,\s*\w+\s*:|raise\s+\w+\s*,)|`|<>|\b\d+L\b|\bur[\"']")


@dataclass(frozen=True)
class TodoAt:
    line: int
    rule: str
    message: str
    cell: Optional[int] = None  # notebooks: the cell (1-based), ``line`` is then within the cell

    @property
    def where(self) -> str:
        return f"cell {self.cell}, line {self.line}" if self.cell is not None else str(self.line)


@dataclass
class SourceResult:
    """``new`` is None when nothing changed; ``error`` is set when the source could not be migrated."""

    new: Optional[bytes] = None
    todos: List[TodoAt] = field(default_factory=list)
    error: Optional[str] = None
    parsed: bool = False
    encoding: str = "utf-8"
    notes: List[str] = field(default_factory=list)  # things to tell the user that are not failures


def mentions_openai(data: bytes) -> bool:
    return _MARKER in data


def migrate_source(data: bytes, options: Optional[Options] = None) -> SourceResult:
    options = options or Options()
    if not mentions_openai(data):
        return SourceResult()
    if len(data) > MAX_SOURCE_BYTES:
        return SourceResult(error=f"too large to migrate safely ({len(data) / 1e6:.1f} MB; the limit is "
                                  f"{MAX_SOURCE_BYTES / 1e6:.0f} MB): skipped")
    if b"\x00" in data:
        return SourceResult(error="contains NUL bytes: not a Python source file")
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        return SourceResult(error=f"cannot parse: {_syntax_message(exc)}{_python2_hint(data, exc)}")
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return SourceResult(error=f"cannot decode: {exc}")
    try:
        new_module, todos = migrate_module(module, options)
    except RecursionError:
        return SourceResult(error="too deeply nested to migrate", parsed=True)
    except Exception as exc:  # a bug of ours must cost one file, never the run or a broken write
        return SourceResult(error=f"internal error while migrating ({type(exc).__name__}: {exc}); file left unchanged",
                            parsed=True)
    if new_module is module:
        return SourceResult(parsed=True)
    new = _keep_final_newline(data, new_module.bytes)
    if new == data:
        return SourceResult(parsed=True)
    problem = _check_parses(data, new)
    if problem is not None:
        return SourceResult(error=f"internal error: the migrated code does not parse ({problem}); file left unchanged",
                            parsed=True)
    return SourceResult(new=new, todos=_locate_todos(data, new, todos, module.encoding), parsed=True,
                        encoding=module.encoding)


def _keep_final_newline(old: bytes, new: bytes) -> bytes:
    """LibCST drops a final lone ``\\r`` (old Mac line endings); put it back."""
    if old.endswith(b"\r") and not new.endswith((b"\r", b"\n")):
        return new + b"\r"
    return new


def _python2_hint(data: bytes, exc: cst.ParserSyntaxError) -> str:
    lines = data.splitlines()
    line = lines[exc.editor_line - 1] if 0 < exc.editor_line <= len(lines) else b""
    return " (this looks like Python 2 code, which must be ported to Python 3 first)" if _PYTHON2.search(line) else ""


def _syntax_message(exc: cst.ParserSyntaxError) -> str:
    return f"syntax error at line {exc.editor_line}, column {exc.editor_column}"


def _check_parses(old: bytes, new: bytes) -> Optional[str]:
    """Whether ``new`` is valid Python; ``ast`` is fast, libcst decides where ``ast`` cannot."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(new)
            return None
        except SyntaxError as exc:
            ast_problem = f"line {exc.lineno}: {exc.msg}"
        try:
            ast.parse(old)
            return ast_problem  # the input was valid for ast, the output is not
        except SyntaxError:
            pass
    try:
        cst.parse_module(new)
        return None
    except cst.ParserSyntaxError as exc:
        return _syntax_message(exc)


def new_todo_lines(old: str, new: str) -> List[Tuple[int, str]]:
    """(line number, message) of the TODO comments in ``new`` that ``old`` did not have."""
    seen: Dict[str, int] = {}
    for line in old.splitlines():
        if TODO_PREFIX in line:
            text = line.split(TODO_PREFIX, 1)[1].strip()
            seen[text] = seen.get(text, 0) + 1
    found: List[Tuple[int, str]] = []
    for number, line in enumerate(new.splitlines(), start=1):
        if TODO_PREFIX not in line:
            continue
        text = line.split(TODO_PREFIX, 1)[1].strip()
        if seen.get(text):
            seen[text] -= 1
            continue
        found.append((number, text))
    return found


def _locate_todos(old: bytes, new: bytes, todos, encoding: str) -> List[TodoAt]:
    """Line numbers of the TODO comments this run added, with the rule that wrote each."""
    by_message = {todo.message: todo.rule for todo in todos}
    return [TodoAt(number, by_message.get(text, "unknown"), text)
            for number, text in new_todo_lines(old.decode(encoding, errors="replace"),
                                               new.decode(encoding, errors="replace"))]
