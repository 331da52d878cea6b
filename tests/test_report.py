"""The human report: the TODO list (one table, or grouped by file for large runs) and grep-able lines."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from migrator.engine import TodoAt
from migrator.report import GROUP_TODOS_ABOVE, FileOutcome, Reporter


def report(outcomes, terminal: bool) -> str:
    err = io.StringIO()
    console = Console(file=err, force_terminal=terminal, width=120, color_system=None)
    Reporter(Console(file=io.StringIO()), console).todos(outcomes)
    return err.getvalue()


def outcome(name: str, count: int, cell=None) -> FileOutcome:
    return FileOutcome(Path(name), new=b"x",
                       todos=[TodoAt(line, "resource-calls", f"fix {name} {line}", cell=cell) for line in range(1, count + 1)])


def test_a_few_todos_form_one_table_keyed_by_path_and_line() -> None:
    text = report([outcome("a.py", 2), outcome("nb.ipynb", 1, cell=3)], terminal=True)
    assert "TODOs left for review" in text
    assert "a.py:2" in text and "fix a.py 2" in text
    assert "nb.ipynb: cell 3, line 1" in text


def test_many_todos_are_grouped_by_file() -> None:
    big = GROUP_TODOS_ABOVE + 1
    text = report([outcome("src/a.py", big - 2), outcome("src/b.py", 2), FileOutcome(Path("c.py"), error="boom",
                                                                                        todos=[TodoAt(1, "r", "hidden")])],
                  terminal=True)
    lines = [line.rstrip() for line in text.splitlines()]
    heading_a = lines.index(f"src/a.py: {big - 2} TODOs")
    heading_b = lines.index("src/b.py: 2 TODOs")
    assert heading_a < heading_b
    between = "\n".join(lines[heading_a:heading_b])
    assert all(f"fix src/a.py {n}" in between for n in range(1, big - 1))
    assert "src/a.py:" not in between.replace(f"src/a.py: {big - 2} TODOs", "")  # keyed by line under the heading
    assert "hidden" not in text  # a failed file's TODOs are not reported


def test_piped_output_is_one_grepable_line_per_todo() -> None:
    text = report([outcome("a.py", GROUP_TODOS_ABOVE + 3), outcome("nb.ipynb", 1, cell=2)], terminal=False)
    lines = text.splitlines()
    assert len(lines) == GROUP_TODOS_ABOVE + 4
    assert lines[0] == "a.py:1: TODO [resource-calls] fix a.py 1"
    assert lines[-1] == "nb.ipynb: cell 2, line 1: TODO [resource-calls] fix nb.ipynb 1"


def test_piped_diff_keeps_line_endings_and_any_character_on_a_windows_like_stdout() -> None:
    # Windows: a redirected stdout translates "\n" to "\r\n" and encodes with the ANSI code page (cp1252)
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252", newline="\r\n")
    reporter = Reporter(Console(file=stdout, force_terminal=False), Console(file=io.StringIO()))
    old = 'x = 1\r\nprint("caf\u00e9")\r\n'.encode("utf-8")
    new = 'x = 1\r\nprint("\u2192 \u65e5\u672c")\r\n'.encode("utf-8")
    reporter.diff(FileOutcome(Path("crlf.py"), old=old, new=new))
    stdout.write("after\n")
    stdout.flush()
    assert raw.getvalue() == (
        b"--- a/crlf.py\n+++ b/crlf.py\n@@ -1,2 +1,2 @@\n x = 1\r\n"
        + '-print("caf\u00e9")\r\n+print("\u2192 \u65e5\u672c")\r\n'.encode("utf-8")
        + b"after\r\n")


def test_json_report_bypasses_the_text_layer_too() -> None:
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252", newline="\r\n")
    Reporter(Console(file=stdout), Console(file=io.StringIO())).json_report("0", 1, [outcome("a.py", 1)])
    assert b"\r" not in raw.getvalue() and raw.getvalue().endswith(b"}\n")
