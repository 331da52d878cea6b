"""Jupyter notebooks (``.ipynb``): the code cells are migrated as one program, the file keeps every other byte.

How a notebook is migrated:

1. The file must be UTF-8 JSON in nbformat 4 (read with ``nbformat``), and a Python notebook
   (``metadata.kernelspec.language`` / ``metadata.language_info.name``, when present); otherwise it is
   reported (or, for another language, skipped) and left untouched.
2. IPython syntax that libcst cannot parse is *masked*, one line for one line: ``!shell``, ``%line``
   magics (also ``x = !cmd``), ``?``/``??`` help, the first line of a ``%%time``-like cell magic,
   Databricks ``# MAGIC`` lines. A masked statement line becomes ``<its indentation><token>`` (a bare
   name, so an ``if`` block holding only a magic stays valid), a masked continuation or ``# MAGIC``
   line becomes ``<indentation># <token>``; ``%time <statement>`` keeps its statement (migrated too),
   with the token in a trailing comment. Tokens contain a nonce that occurs nowhere in the notebook.
   Cells whose cell magic is not Python (``%%bash``, ``%%sql``, Databricks ``%md``...) are left out;
   ``pip install`` commands in shell cells and a ``%%writefile`` body (a ``.py`` file or a requirements
   file) are migrated on their own.
3. The code cells are joined into one module, each cell after the first preceded by a sentinel
   statement line naming its number (a statement, not a comment, so that code the migration inserts
   "before the first import" or "after the last configuration" stays in the right cell). A cell that
   cannot be parsed even when masked is reported and left as it is: in the module it is replaced by a
   one-line stand-in naming the names it uses (so ``import openai`` stays while it still needs it).
   The cells keep their order, so configuration in cell 2, a helper in cell 3 and calls in cells 5-9
   are one program.
4. ``migrate_source`` migrates the module once; it is split back on the sentinels (all present, in
   order, or the notebook is refused), a client the migration created after a cell that already uses
   it is moved into the first cell that needs it, and the masked lines are restored exactly (old
   ``openai`` pins in ``!pip``/``%pip`` lines updated on the way).
5. Only the ``source`` value of each changed cell is rewritten in the original JSON text, located by
   a position-tracking scan: the same list-of-lines or single-string form, the original separators
   and indentation, unchanged lines reusing their original JSON spelling. Every other byte (outputs,
   execution counts, metadata, ids, markdown cells, indentation, key order, final newline) is the
   original's, and the result is checked to load to the original notebook with just those sources
   changed.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

__all__ = [
    "CellChange",
    "NotebookResult",
    "NotebookTodo",
    "cell_diffs",
    "migrate_notebook",
    "notebook_mentions_openai",
]

# ------------------------------------------------------------------------------------ results


@dataclass
class CellChange:
    """A code cell whose source changed. ``index`` counts every cell (markdown too) from 1, as a user does."""

    index: int
    old: str
    new: str


@dataclass(frozen=True)
class NotebookTodo:
    cell: int
    line: int  # within the cell's new source, from 1
    rule: str
    message: str

    @property
    def where(self) -> str:
        return f"cell {self.cell}, line {self.line}"


@dataclass
class NotebookResult:
    """``new`` is the whole new file (None when nothing changed or on ``error``, which means the file is
    left untouched). ``problems`` are non-fatal (a cell that cannot be parsed and was left as it is).
    ``pins`` describe updated ``pip install`` pins (also part of ``cells``)."""

    new: Optional[bytes] = None
    cells: List[CellChange] = field(default_factory=list)
    todos: List[NotebookTodo] = field(default_factory=list)
    error: Optional[str] = None
    problems: List[str] = field(default_factory=list)
    pins: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.error is None


def notebook_mentions_openai(data: bytes) -> bool:
    """The cheap pre-filter: a notebook whose bytes never say ``openai`` is not even parsed."""
    return b"openai" in data.lower()


# ------------------------------------------------------------------------------- entry point

_BOM = b"\xef\xbb\xbf"
_PYTHON_LANGUAGES = {"python", "python2", "python3", "ipython", "ipython2", "ipython3", "pypy", "pypy3"}


def migrate_notebook(data: bytes, options: Any = None) -> NotebookResult:
    """Migrate one ``.ipynb`` file's bytes; reads and writes nothing else."""
    if not notebook_mentions_openai(data):
        return NotebookResult()
    bom = data.startswith(_BOM)
    try:
        text = data[3 if bom else 0:].decode("utf-8")
    except UnicodeDecodeError as exc:
        return NotebookResult(error=f"not a valid notebook: not UTF-8 ({exc.reason} at byte {exc.start})")
    try:
        notebook = json.loads(text)
    except ValueError as exc:
        return NotebookResult(error=f"not a valid notebook: invalid JSON ({exc})")
    problem = _check_notebook(text, notebook)
    if problem is not None:
        return NotebookResult(error=problem)
    if not _is_python(notebook):
        return NotebookResult()
    try:
        located = _locate_sources(text)
    except (ValueError, RecursionError) as exc:
        return NotebookResult(error=f"not a valid notebook: cannot read its JSON layout ({exc})")
    cells = notebook["cells"]
    if len(located) != len(cells):
        return NotebookResult(error="internal error: the JSON layout scan disagrees with the JSON parser; "
                                    "notebook left unchanged")
    sources = [_source_text(cell.get("source", "")) for cell in cells]
    migration = _Migration(text, cells, sources, options)
    outcome = migration.run()
    if outcome.error is not None:
        return outcome
    changed = {index: new for index, new in migration.new_sources.items() if new != sources[index - 1]}
    if not changed:
        outcome.todos = []
        return outcome
    try:
        new_text = _write_sources(text, located, cells, changed)
    except ValueError as exc:
        return NotebookResult(error=f"internal error: {exc}; notebook left unchanged")
    problem = _verify(new_text, notebook, changed)
    if problem is not None:
        return NotebookResult(error=f"internal error: {problem}; notebook left unchanged")
    outcome.new = (_BOM if bom else b"") + new_text.encode("utf-8")
    outcome.cells = [CellChange(index, sources[index - 1], new) for index, new in sorted(changed.items())]
    return outcome


def _check_notebook(text: str, notebook: Any) -> Optional[str]:
    if not isinstance(notebook, dict) or "cells" not in notebook and "worksheets" not in notebook:
        return "not a valid notebook: no cells"
    version = notebook.get("nbformat")
    if version != 4:
        return f"nbformat {version} notebooks are not supported (only nbformat 4): open and save it in a current " \
               f"Jupyter to convert it; left unchanged"
    import warnings

    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. MissingIDFieldWarning: not ours to fix
            nbformat.reads(text, as_version=nbformat.NO_CONVERT, capture_validation_error={})
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds of errors for broken files
        return f"not a valid notebook: {exc}"
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not all(
            isinstance(c, dict) and isinstance(c.get("source", ""), (str, list)) for c in cells):
        return "not a valid notebook: malformed cells"
    for cell in cells:
        source = cell.get("source", "")
        if isinstance(source, list) and not all(isinstance(line, str) for line in source):
            return "not a valid notebook: a cell source is not text"
    return None


def _is_python(notebook: Dict[str, Any]) -> bool:
    metadata = notebook.get("metadata") or {}
    if not isinstance(metadata, dict):
        return True
    for holder, key in ((metadata.get("kernelspec"), "language"), (metadata.get("language_info"), "name")):
        if isinstance(holder, dict) and isinstance(holder.get(key), str) and holder[key]:
            return holder[key].strip().lower() in _PYTHON_LANGUAGES
    return True


def _source_text(source: Union[str, List[str]]) -> str:
    return source if isinstance(source, str) else "".join(source)


# ------------------------------------------------------------------------------- IPython masks

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_MAGIC_START = re.compile(r"[ \t]*(?:[!%?]|(?:[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*)[ \t]*=[ \t]*(?:!|%(?!=)))")
_DATABRICKS_MAGIC = re.compile(r"[ \t]*# MAGIC\b")
_CODE_LINE_MAGIC = re.compile(r"(?P<indent>[ \t]*)(?P<prefix>%(?:time|timeit|prun)(?:[ \t]+-\S+)*[ \t]+)(?P<code>\S.*)$")
_PIP_LINE = re.compile(r"[ \t]*(?:!|%(?:pip|conda|mamba|sh|system)\b|# MAGIC[ \t]+%(?:pip|conda|sh)\b)")
# cell magics whose body is Python code run in this kernel
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "memit", "mprun", "snakeviz", "px",
                       "python_magic", "tensorboard"}
_SHELL_CELL_MAGICS = {"bash", "sh", "system", "!", "script"}


def _split_lines(text: str) -> List[Tuple[str, str]]:
    """(content, line ending) pairs."""
    result = []
    for line in _LINE.findall(text):
        body = line.rstrip("\r\n")
        result.append((body, line[len(body):]))
    return result


@dataclass
class _Mask:
    first: int  # line index (0-based) in the cell
    originals: List[str]  # the lines' original contents (no line ending)
    placeholders: List[str]  # what stands in their place in the module
    pin_lines: bool  # a pip/conda command whose pins may be updated
    prefix_code: bool = False  # `%time <statement>`: the statement stays, the token is a trailing comment


@dataclass
class _Cell:
    index: int  # 1-based among all cells
    source: str
    kind: str  # "python", "shell", "writefile", "other"
    masked: str = ""
    masks: List[_Mask] = field(default_factory=list)
    magic_line: Optional[str] = None  # a `%%writefile x` line
    stand_in: Optional[str] = None  # for a cell that cannot be parsed: a line naming what it uses

    @property
    def module_text(self) -> str:
        return self.stand_in if self.stand_in is not None else self.masked


class _Scanner:
    """Follows Python's tokens line by line: are we inside a string, brackets or a continued line?"""

    def __init__(self) -> None:
        self.quote: Optional[str] = None  # the open string's quote (triple or single)
        self.depth = 0
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.continued

    def feed(self, line: str) -> str:
        """Consume one line; returns its code with strings and comments blanked."""
        code = []
        i, n = 0, len(line)
        self.continued = False
        while i < n:
            char = line[i]
            if self.quote is not None:
                if char == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    code.append(" ")
                    continue
                i += 1
                continue
            if char == "#":
                break
            if char in "\"'":
                triple = line[i:i + 3]
                self.quote = triple if triple in ('"""', "'''") else char
                i += len(self.quote)
                code.append(" ")
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\" and i == n - 1:
                self.continued = True
            code.append(char)
            i += 1
        if self.quote is not None and len(self.quote) == 1:
            if not line.endswith("\\"):
                self.quote = None  # an unterminated one-line string: a syntax error, not our business
        return "".join(code)


class _Masker:
    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.count = 0

    def token(self) -> str:
        self.count += 1
        return f"__openai_migrate_ipython{self.nonce}_{self.count}__"

    def mask_python(self, lines: List[Tuple[str, str]], start: int = 0) -> Tuple[List[str], List[_Mask]]:
        """Mask the IPython-only lines of a Python cell (from line ``start``); returns the new contents."""
        contents = [body for body, _ in lines]
        masks: List[_Mask] = []
        scanner = _Scanner()
        i = start
        while i < len(contents):
            line = contents[i]
            if scanner.at_statement_start and line.strip():
                if _MAGIC_START.match(line):
                    code_magic = _CODE_LINE_MAGIC.match(line)
                    if code_magic and not line.rstrip().endswith("\\") and _one_statement(code_magic.group("code")):
                        token = self.token()
                        placeholder = f"{code_magic.group('indent')}{code_magic.group('code')}  # {token}"
                        masks.append(_Mask(i, [line], [placeholder], False, prefix_code=True))
                        contents[i] = placeholder
                        i += 1
                        continue
                    last = i
                    while contents[last].rstrip().endswith("\\") and last + 1 < len(contents):
                        last += 1
                    indent = line[:len(line) - len(line.lstrip())]
                    placeholders = [indent + self.token()]
                    for j in range(i + 1, last + 1):
                        other = contents[j]
                        placeholders.append(other[:len(other) - len(other.lstrip())] + "# " + self.token())
                    masks.append(_Mask(i, contents[i:last + 1], placeholders, bool(_PIP_LINE.match(line))))
                    contents[i:last + 1] = placeholders
                    i = last + 1
                    continue
                if _DATABRICKS_MAGIC.match(line):
                    placeholder = line[:len(line) - len(line.lstrip())] + "# " + self.token()
                    masks.append(_Mask(i, [line], [placeholder], bool(_PIP_LINE.match(line))))
                    contents[i] = placeholder
                    i += 1
                    continue
                code = scanner.feed(line)
                stripped = code.strip()
                if scanner.at_statement_start and (stripped.endswith("?") or stripped.startswith("?")):
                    indent = line[:len(line) - len(line.lstrip())]
                    placeholder = indent + self.token()
                    masks.append(_Mask(i, [line], [placeholder], False))
                    contents[i] = placeholder
                i += 1
                continue
            if scanner.quote is None and _DATABRICKS_MAGIC.match(line):
                placeholder = line[:len(line) - len(line.lstrip())] + "# " + self.token()
                masks.append(_Mask(i, [line], [placeholder], bool(_PIP_LINE.match(line))))
                contents[i] = placeholder
                i += 1
                continue
            scanner.feed(line)
            i += 1
        return contents, masks


def _one_statement(code: str) -> bool:
    try:
        tree = _parse_cell(code)
    except SyntaxError:
        return False
    return len(tree.body) == 1


def _parse_cell(text: str) -> ast.Module:
    flags = ast.PyCF_ONLY_AST | getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile(text, "<cell>", "exec", flags=flags, dont_inherit=True)  # type: ignore[return-value]


def _cell_magic(lines: List[Tuple[str, str]]) -> Tuple[Optional[int], Optional[str], str]:
    """(line index, name, rest of the line) of a leading ``%%magic`` line, or of a Databricks language
    line (``%md``, ``%sql``, ``%python``...: name ``databricks-md``...); (None, None, "") otherwise."""
    for i, (body, _) in enumerate(lines):
        if not body.strip():
            continue
        match = re.match(r"%%(\S+)[ \t]*(.*)$", body)
        if match:
            return i, match.group(1), match.group(2)
        match = re.match(r"%(md-sandbox|md|sql|scala|r|sh|fs|python)(?:[ \t]+(.*))?$", body)
        if match:
            return i, "databricks-" + match.group(1), match.group(2) or ""
        return None, None, ""
    return None, None, ""


def _prepare_cell(cell: _Cell, masker: _Masker) -> None:
    lines = _split_lines(cell.source)
    where, magic, rest = _cell_magic(lines)
    start = 0
    if magic is not None:
        assert where is not None
        name = magic[len("databricks-"):] if magic.startswith("databricks-") else magic
        if magic.startswith("databricks-") and name != "python":
            cell.kind = "shell" if name == "sh" else "other"
            return
        if magic == "writefile" or magic == "file":
            cell.kind = "writefile"
            cell.magic_line = rest
            return
        if name in _SHELL_CELL_MAGICS and (name != "script" or re.match(r"(ba|z)?sh\b", rest)):
            cell.kind = "shell"
            return
        if name not in _PYTHON_CELL_MAGICS and magic != "databricks-python":
            cell.kind = "other"
            return
        start = where + 1
    contents, masks = masker.mask_python(lines, start)
    if magic is not None:
        assert where is not None
        token = masker.token()
        masks.insert(0, _Mask(where, [contents[where]], [token], False))
        contents[where] = token
    cell.masks = masks
    cell.masked = "".join(content + ending for content, (_, ending) in zip(contents, lines))
    cell.kind = "python"


def _unmask(cell: _Cell, new_masked: str, pins: List[str]) -> Optional[str]:
    """The cell's new text with every masked line restored (None if a placeholder was disturbed)."""
    lines = _split_lines(new_masked)
    contents = [body for body, _ in lines]
    for mask in cell.masks:
        token = _token_of(mask.placeholders[0])
        found = [i for i, line in enumerate(contents) if token in line]
        if len(found) != 1:
            return None
        first = found[0]
        if mask.prefix_code:
            line = contents[first]
            suffix = f"  # {token}"
            if not line.endswith(suffix):
                return None
            code = line[:-len(suffix)]
            indent = code[:len(code) - len(code.lstrip())]
            if not _one_statement(code.strip()):
                return None
            prefix = _CODE_LINE_MAGIC.match(mask.originals[0])
            assert prefix is not None
            contents[first] = indent + prefix.group("prefix") + code.lstrip()
            continue
        if contents[first:first + len(mask.placeholders)] != mask.placeholders:
            return None
        originals = list(mask.originals)
        if mask.pin_lines:
            originals = _update_pins(cell, mask, originals, pins)
        contents[first:first + len(mask.placeholders)] = originals
    return "".join(content + ending for content, (_, ending) in zip(contents, lines))


def _token_of(placeholder: str) -> str:
    match = re.search(r"__openai_migrate_ipython\w*?_\d+__", placeholder)
    assert match is not None
    return match.group()


def _update_pins(cell: _Cell, mask: _Mask, originals: List[str], pins: List[str]) -> List[str]:
    from .pins import migrate_pip_commands

    joined = "\n".join(originals)
    new, edits = migrate_pip_commands(joined)
    if not edits:
        return originals
    for old, replacement in edits:
        pins.append(f"cell {cell.index}: {old} -> {replacement}")
    new_lines = new.split("\n")
    assert len(new_lines) == len(originals)
    return new_lines


# ------------------------------------------------------------------------------- the migration

_PREAMBLE = "# -*- coding: utf-8 -*-\n"


class _Migration:
    def __init__(self, text: str, cells: List[Dict[str, Any]], sources: List[str], options: Any) -> None:
        self.text = text
        self.raw_cells = cells
        self.sources = sources
        self.options = options
        self.new_sources: Dict[int, str] = {}
        self.result = NotebookResult()
        self.nonce = _nonce(text)
        self.sentinel = f"__openai_migrate_cell{self.nonce}"

    def run(self) -> NotebookResult:
        masker = _Masker(self.nonce)
        cells: List[_Cell] = []
        for index, (raw, source) in enumerate(zip(self.raw_cells, self.sources), start=1):
            if raw.get("cell_type") != "code" or not source.strip():
                continue
            cell = _Cell(index, source, "python")
            _prepare_cell(cell, masker)
            cells.append(cell)
        python = [c for c in cells if c.kind == "python"]
        for cell in cells:
            if cell.kind == "shell":
                self._shell_cell(cell)
            elif cell.kind == "writefile":
                self._writefile_cell(cell)
        if python:
            self._python_cells(python)
        return self.result

    # ---------------------------------------------------------------- the program
    def _python_cells(self, cells: List[_Cell]) -> None:
        from .engine import migrate_source

        result = migrate_source(self._join(cells).encode("utf-8"), self.options)
        if result.error is not None and result.error.startswith("cannot parse"):
            # leave the cells that cannot be parsed out, but keep what they use alive (`import openai`)
            for cell in cells:
                problem = _syntax_problem(cell.masked)
                if problem is not None:
                    self.result.problems.append(f"cell {cell.index}: cannot parse: {problem}; cell left unchanged")
                    cell.stand_in = self._stand_in(cell)
            result = migrate_source(self._join(cells).encode("utf-8"), self.options)
        if result.error is not None:
            self.result.error = result.error
            return
        joined = result.new.decode("utf-8") if result.new is not None else self._join(cells)
        pieces = self._split(joined, cells)
        if pieces is not None and result.new is not None:
            pieces = _around_stand_ins(cells, pieces)
        if pieces is None:
            self.result.error = "internal error: the cell boundaries were lost in the migration; notebook left unchanged"
            return
        if result.new is not None:
            pieces = _relocate_clients(cells, pieces, self.result.problems)
        for cell in cells:
            if cell.stand_in is not None:
                continue
            new = _unmask(cell, pieces[cell.index], self.result.pins)
            if new is None:
                self.result.error = (f"internal error: cell {cell.index}: a masked IPython line was disturbed by "
                                     "the migration; notebook left unchanged")
                self.new_sources.clear()
                return
            new = _same_newlines(cell.source, new)
            if new != cell.source:
                self.new_sources[cell.index] = new
        rules = {todo.message: todo.rule for todo in result.todos}
        for cell in cells:
            if cell.index in self.new_sources:
                self.result.todos += _new_todos(cell.index, cell.source, self.new_sources[cell.index], rules)
        problem = self._check_parses(cells)
        if problem is not None:
            self.result.error = problem
            self.new_sources.clear()
            self.result.todos = []

    def _stand_in(self, cell: _Cell) -> str:
        """``<token>, name, ...``: the names the cell uses, so that the program still sees them used."""
        scanner = _Scanner()
        code = "\n".join(scanner.feed(body) for body, _ in _split_lines(cell.masked))
        names = []
        for match in re.finditer(r"(?<![\w.])[A-Za-z_]\w*", code):
            name = match.group()
            if name not in names and not keyword.iskeyword(name) and "__openai_migrate_" not in name:
                names.append(name)
        return ", ".join([f"__openai_migrate_skipped{self.nonce}_{cell.index}__", *names]) + "\n"

    def _join(self, cells: Sequence[_Cell]) -> str:
        parts = [_PREAMBLE]
        for position, cell in enumerate(cells):
            if position:
                parts.append(f"{self.sentinel}_{cell.index}__\n")
            parts.append(cell.module_text)
            if cell.module_text and not cell.module_text.endswith(("\n", "\r")):
                parts.append("\n")
        return "".join(parts)

    def _split(self, joined: str, cells: Sequence[_Cell]) -> Optional[Dict[int, str]]:
        pattern = re.compile(rf"^{re.escape(self.sentinel)}_(\d+)__(?:\r\n|\r|\n)", re.MULTILINE)
        if not joined.startswith(_PREAMBLE):
            return None
        joined = joined[len(_PREAMBLE):]
        found = list(pattern.finditer(joined))
        if [int(m.group(1)) for m in found] != [c.index for c in cells[1:]] or joined.count(self.sentinel) != len(found):
            return None
        bounds = [0] + [p for m in found for p in (m.start(), m.end())] + [len(joined)]
        pieces = {}
        for cell, start, end in zip(cells, bounds[0::2], bounds[1::2]):
            piece = joined[start:end]
            if not cell.module_text.endswith(("\n", "\r")) and piece.endswith("\n"):
                piece = piece[:-2] if piece.endswith("\r\n") else piece[:-1]
            pieces[cell.index] = piece
        return pieces

    def _check_parses(self, cells: Sequence[_Cell]) -> Optional[str]:
        """Every changed cell, masked again, must parse (as the engine checks a whole file)."""
        import libcst as cst

        masker = _Masker(self.nonce + "c")
        for cell in cells:
            new = self.new_sources.get(cell.index)
            if new is None:
                continue
            check = _Cell(cell.index, new, "python")
            _prepare_cell(check, masker)
            try:
                cst.parse_module(check.masked)
            except Exception:  # noqa: BLE001
                return f"internal error: cell {cell.index} would not parse after the migration; notebook left unchanged"
        return None

    # ---------------------------------------------------------------- other cells
    def _shell_cell(self, cell: _Cell) -> None:
        from .pins import migrate_pip_commands

        new, edits = migrate_pip_commands(cell.source)
        if edits:
            self.new_sources[cell.index] = new
            self.result.pins += [f"cell {cell.index}: {old} -> {replacement}" for old, replacement in edits]

    def _writefile_cell(self, cell: _Cell) -> None:
        lines = _split_lines(cell.source)
        where = next(i for i, (body, _) in enumerate(lines) if body.strip())
        head = "".join(body + ending for body, ending in lines[:where + 1])
        body_text = cell.source[len(head):]
        target = (cell.magic_line or "").split()
        name = next((t for t in target if not t.startswith("-")), "")
        if name.endswith(".py"):
            from .engine import migrate_source

            result = migrate_source(body_text.encode("utf-8"), self.options)
            if result.error is not None:
                self.result.problems.append(f"cell {cell.index} (%%writefile {name}): {result.error}; cell left unchanged")
                return
            if result.new is None:
                return
            new_body = result.new.decode("utf-8")
            if not body_text.endswith(("\n", "\r")) and new_body.endswith("\n") and not body_text == "":
                new_body = new_body[:-1]
            self.new_sources[cell.index] = head + new_body
            for todo in result.todos:
                self.result.todos.append(NotebookTodo(cell.index, todo.line + where + 1, todo.rule, todo.message))
            return
        from .pins import migrate_requirements_file, pin_file_kind

        if pin_file_kind(name) is None:
            return
        pinned = migrate_requirements_file(name, body_text.encode("utf-8"))
        if pinned.new is not None:
            self.new_sources[cell.index] = head + pinned.new.decode("utf-8")
            self.result.pins += [f"cell {cell.index} (%%writefile {name}): {change}" for change in pinned.changes]


def _same_newlines(old: str, new: str) -> str:
    """Lines the migration added end like the cell's own lines (``\\r\\n`` cells stay ``\\r\\n``)."""
    if "\r\n" in old and old.count("\r\n") == old.count("\n"):
        return re.sub(r"(?<!\r)\n", "\r\n", new)
    return new


def _syntax_problem(text: str) -> Optional[str]:
    """Why libcst cannot parse a (masked) cell, in Python's words where Python agrees; None if it can."""
    import libcst as cst

    from .engine import _syntax_message

    try:
        cst.parse_module(text)
        return None
    except cst.ParserSyntaxError as exc:
        fallback = _syntax_message(exc)
    except Exception as exc:  # noqa: BLE001 - any other parser failure: same treatment
        fallback = str(exc)
    try:
        _parse_cell(text)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    return fallback


def _around_stand_ins(cells: Sequence[_Cell], pieces: Dict[int, str]) -> Optional[Dict[int, str]]:
    """Code the migration put next to a stand-in belongs to the neighbouring cells (a stand-in is never written)."""
    pieces = dict(pieces)
    for position, cell in enumerate(cells):
        if cell.stand_in is None or pieces[cell.index] == cell.stand_in:
            continue
        piece = pieces[cell.index]
        token_line = cell.stand_in.rstrip("\n")
        at = piece.find(token_line.split(",")[0])
        if at < 0:
            return None
        line_start = piece.rfind("\n", 0, at) + 1
        line_end = piece.find("\n", at)
        line_end = len(piece) if line_end < 0 else line_end + 1
        before, after = piece[:line_start], piece[line_end:]
        previous = next((c for c in reversed(cells[:position]) if c.stand_in is None), None)
        following = next((c for c in cells[position + 1:] if c.stand_in is None), None)
        if before.strip():
            if previous is None:
                return None
            text = pieces[previous.index]
            pieces[previous.index] = text + ("" if not text or text.endswith("\n") else "\n") + before.rstrip("\n")
        if after.strip():
            if following is None:
                return None
            pieces[following.index] = after + pieces[following.index]
        pieces[cell.index] = cell.stand_in
    return pieces


def _nonce(text: str) -> str:
    """A suffix that makes the sentinel and mask names occur nowhere in the notebook."""
    number = 0
    while True:
        nonce = "" if number == 0 else f"_{number}"
        if f"__openai_migrate_cell{nonce}" not in text and f"__openai_migrate_ipython{nonce}" not in text:
            return nonce
        number += 1


def _new_todos(index: int, old: str, new: str, rules: Dict[str, str]) -> List[NotebookTodo]:
    from .engine import new_todo_lines

    return [NotebookTodo(index, number, rules.get(text, "unknown"), text) for number, text in new_todo_lines(old, new)]


# --------------------------------------------------------------------- where the client goes

_CLIENT_CLASSES = {"OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI"}


def _relocate_clients(cells: Sequence[_Cell], pieces: Dict[int, str], problems: List[str]) -> Dict[int, str]:
    """Move a client the migration created after cells that already use it into the first cell that needs it.

    The migration puts ``client = OpenAI()`` after the configuration or after the imports; in a notebook
    the last import may sit in a cell after the one that first calls a helper using the client.
    """
    pieces = dict(pieces)
    handled: set = set()
    for _ in range(4):  # a sync and an async client at most, each moved once
        moved = False
        program = _Program(cells, pieces)
        if program.trees is None:
            return pieces
        for cell_index, statement, name in program.created_clients():
            if name in handled:
                continue
            handled.add(name)
            need = program.first_need(name)
            here = (program.order[cell_index], program.position(cell_index, statement))
            if need is None or need >= here:
                continue
            target = program.insertion_point(name, need, statement)
            if target is not None and target[0] in program.skipped:
                target = None
            if target is None:
                problems.append(f"cell {program.cells[need[0]]}: uses `{name}` before cell {cell_index} creates it; "
                                f"move `{name} = ...` up by hand")
                continue
            pieces = program.move(cell_index, statement, target)
            moved = True
            break
        if not moved:
            return pieces
    return pieces


class _Program:
    """The top-level statements of the cells (masked text), in order, with what they bind and use."""

    def __init__(self, cells: Sequence[_Cell], pieces: Dict[int, str]) -> None:
        self.cells = [c.index for c in cells]
        self.order = {index: position for position, index in enumerate(self.cells)}
        self.pieces = pieces
        self.old = {c.index: c.module_text for c in cells}
        self.skipped = {c.index for c in cells if c.stand_in is not None}
        trees: Optional[Dict[int, ast.Module]] = {}
        for index in self.cells:
            try:
                trees[index] = _parse_cell(pieces[index])  # type: ignore[index]
            except SyntaxError:
                trees = None
                break
        self.trees = trees

    def statements(self):
        assert self.trees is not None
        for index in self.cells:
            for position, statement in enumerate(self.trees[index].body):
                yield index, position, statement

    def position(self, cell: int, statement: ast.stmt) -> int:
        assert self.trees is not None
        return self.trees[cell].body.index(statement)

    def created_clients(self) -> List[Tuple[int, ast.stmt, str]]:
        found = []
        for index, _, statement in self.statements():
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Call)):
                continue
            func = statement.value.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name not in _CLIENT_CLASSES:
                continue
            if self._segment(index, statement) in self.old[index]:
                continue  # the user's own client
            found.append((index, statement, statement.targets[0].id))
        return found

    def _segment(self, index: int, statement: ast.stmt) -> str:
        lines = self.pieces[index].splitlines(True)
        return "".join(lines[statement.lineno - 1:statement.end_lineno])  # type: ignore[attr-defined]

    def _needing_functions(self, name: str) -> set:
        defs = [s for _, _, s in self.statements() if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        needing: set = set()
        while True:
            wanted = {name} | needing
            more = {d.name for d in defs if d.name not in needing and _loaded_names(d) & wanted}
            if not more:
                return needing
            needing |= more

    def first_need(self, name: str) -> Optional[Tuple[int, int]]:
        """(cell order, statement position) of the first top-level statement that runs code using ``name``."""
        wanted = {name} | self._needing_functions(name)
        for index, position, statement in self.statements():
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if _loaded_names(statement) & wanted:
                return self.order[index], position
        return None

    def insertion_point(self, name: str, need: Tuple[int, int], client: ast.stmt) -> Optional[Tuple[int, int]]:
        """Where the client can go: before the first statement about it (a helper using it), else right
        before the first statement that runs code using it; only after everything its arguments use."""
        wanted = {name} | self._needing_functions(name)
        first_reference = next((self.order[index], position) for index, position, s in self.statements()
                               if _loaded_names(s) & wanted or getattr(s, "name", None) in wanted)
        used = _loaded_names(client) - set(dir(builtins))
        for order, position in (first_reference, need):
            bound = set()
            for index, pos, statement in self.statements():
                if (self.order[index], pos) >= (order, position):
                    break
                bound |= _bound_names(statement)
            if used <= bound:
                return self.cells[order], position
        return None

    def move(self, cell: int, statement: ast.stmt, target: Tuple[int, int]) -> Dict[int, str]:
        assert self.trees is not None
        pieces = dict(self.pieces)
        text = self._segment(cell, statement).rstrip("\r\n")
        # take it out, with the blank line the migration put above it
        lines = pieces[cell].splitlines(True)
        start, end = statement.lineno - 1, statement.end_lineno  # type: ignore[attr-defined]
        if start > 0 and not lines[start - 1].strip():
            before = lines[start - 2] if start >= 2 else ""
            after = lines[end] if end < len(lines) else ""
            if not after.strip() or start == 1 or (before + after) in self.old[cell]:
                start -= 1  # the blank line came with the statement
        elif start == 0 and end < len(lines) and not lines[end].strip():
            end += 1
        remaining = lines[:start] + lines[end:]
        pieces[cell] = "".join(remaining)
        if pieces[cell].endswith("\n") and not self.old[cell].endswith("\n"):
            pieces[cell] = pieces[cell][:-1]
        # put it in the needing cell, above the statement (and the comments right above it)
        target_cell, position = target
        tree = _parse_cell(pieces[target_cell])
        before = tree.body[position]
        first_line = min([before.lineno] + [d.lineno for d in getattr(before, "decorator_list", [])]) - 1
        lines = pieces[target_cell].splitlines(True)
        while first_line > 0 and lines[first_line - 1].lstrip().startswith("#"):
            first_line -= 1
        gap = "\n\n" if isinstance(before, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else ""
        block = text + "\n" + gap
        previous = lines[first_line - 1] if first_line > 0 else ""
        if previous.strip() and "__openai_migrate_ipython" not in previous:
            block = "\n" + block  # after code (not after a magic line): a blank line first
        lines.insert(first_line, block)
        pieces[target_cell] = "".join(lines)
        return pieces


def _loaded_names(node: ast.AST) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _bound_names(statement: ast.stmt) -> set:
    """Names a top-level statement binds in the module (not inside functions or classes)."""
    names = set()
    stack: List[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda,)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return names


# ------------------------------------------------------------------------- the JSON, in place

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|NaN|-?Infinity")


@dataclass
class _SourceSpan:
    start: int
    end: int
    items: Optional[List[Tuple[int, int]]]  # string spans of a list-of-lines source; None for one string


class _JsonScanner:
    """Finds the text span of every cell's ``source`` value, skipping everything else."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def expect(self, char: str) -> None:
        self.ws()
        if not self.text.startswith(char, self.pos):
            raise ValueError(f"expected {char!r} at offset {self.pos}")
        self.pos += 1

    def string(self) -> Tuple[int, int]:
        self.ws()
        match = _STRING.match(self.text, self.pos)
        if not match:
            raise ValueError(f"expected a string at offset {self.pos}")
        self.pos = match.end()
        return match.start(), match.end()

    def members(self):
        """Yields each key of an object, leaving the position at its value (which the caller must read)."""
        self.expect("{")
        self.ws()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return
        while True:
            start, end = self.string()
            self.expect(":")
            self.ws()
            yield json.loads(self.text[start:end])
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.expect("}")
            return

    def elements(self):
        self.expect("[")
        self.ws()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return
        while True:
            self.ws()
            yield self.pos
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.expect("]")
            return

    def skip(self) -> None:
        self.ws()
        char = self.text[self.pos:self.pos + 1]
        if char == "{":
            for _ in self.members():
                self.skip()
        elif char == "[":
            for _ in self.elements():
                self.skip()
        elif char == '"':
            self.string()
        else:
            match = _SCALAR.match(self.text, self.pos)
            if not match:
                raise ValueError(f"unexpected character at offset {self.pos}")
            self.pos = match.end()

    def source(self) -> _SourceSpan:
        self.ws()
        start = self.pos
        if self.text.startswith('"', self.pos):
            self.string()
            return _SourceSpan(start, self.pos, None)
        items = []
        for _ in self.elements():
            items.append(self.string())
        return _SourceSpan(start, self.pos, items)


def _locate_sources(text: str) -> List[Optional[_SourceSpan]]:
    scanner = _JsonScanner(text)
    found: List[Optional[_SourceSpan]] = []
    for key in scanner.members():
        if key != "cells":
            scanner.skip()
            continue
        found = []
        for _ in scanner.elements():
            span = None
            for cell_key in scanner.members():
                if cell_key == "source":
                    span = scanner.source()
                else:
                    scanner.skip()
            found.append(span)
    scanner.ws()
    if scanner.pos != len(text):
        raise ValueError(f"trailing data at offset {scanner.pos}")
    return found


def _write_sources(text: str, located: List[Optional[_SourceSpan]], cells: List[Dict[str, Any]],
                   changed: Dict[int, str]) -> str:
    ensure_ascii = _uses_ascii_escapes(text)
    pieces, last = [], 0
    for index in sorted(changed):
        span = located[index - 1]
        if span is None:
            raise ValueError(f"cell {index} has no source")  # a code cell always has one (checked before)
        pieces += [text[last:span.start], _source_json(text, span, cells[index - 1].get("source"), changed[index],
                                                        ensure_ascii)]
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces)


def _uses_ascii_escapes(text: str) -> bool:
    """Whether the file spells non-ASCII text as ``\\uXXXX`` (``json.dump`` default) rather than as itself."""
    if any(ord(char) > 127 for char in text):
        return False
    return bool(re.search(r"\\u(?:00[89a-fA-F]|0[1-9a-fA-F]|[1-9a-fA-F])", text))


def _source_json(text: str, span: _SourceSpan, old_source: Any, new: str, ensure_ascii: bool) -> str:
    def dump(value: str) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii)

    if span.items is None:
        return dump(new)
    new_lines = new.splitlines(True)  # as nbformat writes them
    old_lines = list(old_source)
    raws = [text[start:end] for start, end in span.items]
    out: List[str] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += raws[i1:i2]  # unchanged lines keep their original spelling
        else:
            out += [dump(line) for line in new_lines[j1:j2]]
    if not out:
        return "[]"
    if span.items:
        opening = text[span.start:span.items[0][0]]
        closing = text[span.items[-1][1]:span.end]
        if len(span.items) > 1:
            separator = text[span.items[0][1]:span.items[1][0]]
        else:
            separator = "," + opening[1:] if "\n" in opening else _inline_separator(text)
        return opening + separator.join(out) + closing
    # the source was `[]`: lay the lines out like the rest of the file
    line_start = text.rfind("\n", 0, span.start) + 1
    line = text[line_start:span.start]
    key_indent = line[:len(line) - len(line.lstrip(" \t"))]
    if "\n" not in text.rstrip("\r\n"):
        return "[" + _inline_separator(text).join(out) + "]"
    inner = key_indent + _indent_unit(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    return "[" + newline + inner + ("," + newline + inner).join(out) + newline + key_indent + "]"


def _indent_unit(text: str) -> str:
    match = re.search(r"\n([ \t]+)\S", text)
    return match.group(1) if match else " "


def _inline_separator(text: str) -> str:
    """How the file separates list items written on one line (``", "`` or ``","``)."""
    match = re.search(r'",([ \t]*)"', text)
    return "," + (match.group(1) if match else " ")


def _verify(new_text: str, notebook: Dict[str, Any], changed: Dict[int, str]) -> Optional[str]:
    """The new file loads to the original notebook with exactly the changed sources replaced."""
    try:
        reloaded = json.loads(new_text)
    except ValueError as exc:
        return f"the rewritten notebook is not valid JSON ({exc})"
    expected = dict(notebook)
    expected["cells"] = [dict(cell) for cell in notebook["cells"]]
    for index, source in changed.items():
        expected["cells"][index - 1]["source"] = reloaded["cells"][index - 1].get("source")
        if _source_text(reloaded["cells"][index - 1].get("source", "")) != source:
            return f"cell {index} was not written as intended"
    if json.dumps(reloaded, sort_keys=True) != json.dumps(expected, sort_keys=True):  # (NaN-safe)
        return "the rewritten notebook differs from the original outside the changed sources"
    return None


# ------------------------------------------------------------------------------------ the diff


def cell_diffs(path: Union[str, Path], result: NotebookResult) -> str:
    """A unified diff per changed cell, of source lines (``--- a/nb.ipynb: cell 5``)."""
    name = path.as_posix() if isinstance(path, Path) else str(path)
    out = []
    for change in result.cells:
        old = [line if line.endswith("\n") else line + "\n" for line in change.old.splitlines(True)]
        new = [line if line.endswith("\n") else line + "\n" for line in change.new.splitlines(True)]
        out += difflib.unified_diff(old, new, fromfile=f"a/{name}: cell {change.index}",
                                    tofile=f"b/{name}: cell {change.index}")
    return "".join(out)
