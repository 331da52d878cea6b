"""The engine's guarantees: prefilter, byte-exact round trips, clear errors, and the parse guard."""

from __future__ import annotations

import libcst as cst

import migrator.engine as engine
from migrator.engine import migrate_source

CALL = b'import openai\nr = openai.Completion.create(model="m", prompt="p")\n'


def test_source_without_openai_is_not_parsed(monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(engine.cst, "parse_module", explode)
    result = migrate_source(b"import os\nprint(os.getcwd())\n")
    assert result.new is None and result.error is None and not result.parsed


def test_unchanged_source_reports_no_change() -> None:
    result = migrate_source(b"# openai is mentioned only here\nx = 1\n")
    assert result.parsed and result.new is None and result.error is None


def test_bom_and_crlf_round_trip() -> None:
    source = b"\xef\xbb\xbf" + CALL.replace(b"\n", b"\r\n")
    result = migrate_source(source)
    assert result.new is not None and result.new.startswith(b"\xef\xbb\xbf")
    assert b"\r\nclient = OpenAI()\r\n" in result.new
    assert result.new.count(b"\n") == result.new.count(b"\r\n")


def test_latin1_source_keeps_its_encoding() -> None:
    source = "# -*- coding: latin-1 -*-\nimport openai\nname = 'Zoë'\nopenai.Completion.create(model=name, prompt='p')\n"
    result = migrate_source(source.encode("latin-1"))
    assert result.new is not None and result.encoding == "iso-8859-1"
    assert "name = 'Zoë'" in result.new.decode("latin-1")


def test_syntax_error_is_reported_with_its_line() -> None:
    result = migrate_source(b"import openai\nprint 'python 2'\n")
    assert result.new is None
    assert result.error.startswith("cannot parse: syntax error at line 2, column 1")


def test_unknown_encoding_is_reported() -> None:
    result = migrate_source(b"# -*- coding: klingon -*-\nimport openai\n")
    assert result.new is None and result.error is not None and result.error.startswith("cannot")


def test_output_that_does_not_parse_is_refused(monkeypatch) -> None:
    def broken(module, options):
        return module.with_changes(body=[cst.SimpleStatementLine([cst.Expr(cst.Name("def"))])]), []

    monkeypatch.setattr(engine, "migrate_module", broken)
    result = migrate_source(CALL)
    assert result.new is None
    assert result.error is not None and "does not parse" in result.error


def test_todos_get_the_line_they_were_written_on() -> None:
    source = b"import openai\n\n\nx = openai.Edit.create(model='m', input='i', instruction='j')\n"
    result = migrate_source(source)
    assert [(t.line, t.rule) for t in result.todos] == [(4, "resource-calls")]
    assert result.new.splitlines()[3].startswith(b"# TODO(openai-migrate): openai.Edit")
    # a second run adds nothing and reports nothing new
    again = migrate_source(result.new)
    assert again.new is None and again.todos == []


def test_python2_code_is_named_as_such() -> None:
    result = migrate_source(b"import openai\nprint 'hello'\n")
    assert result.error is not None and "looks like Python 2 code" in result.error


def test_nul_bytes_are_reported() -> None:
    assert migrate_source(b"import openai\x00\n").error == "contains NUL bytes: not a Python source file"


def test_undecodable_bytes_are_reported() -> None:
    result = migrate_source(b"import openai\ns = '\xff'\n")
    assert result.new is None and result.error.startswith("cannot decode: 'utf-8' codec")


def test_very_large_sources_are_reported_not_parsed(monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(engine.cst, "parse_module", explode)
    result = migrate_source(b"import openai\n" + b"x = 1\n" * (engine.MAX_SOURCE_BYTES // 6 + 1))
    assert result.error is not None and result.error.startswith("too large to migrate safely")


def test_empty_and_odd_whitespace_sources() -> None:
    assert migrate_source(b"").new is None
    tabs = migrate_source(b"import openai\n\x0c\ndef f():\n\treturn openai.Completion.create(model='m', prompt='p')\n")
    assert tabs.new.endswith(b"\x0c\ndef f():\n\treturn client.completions.create(model='m', prompt='p')\n")
    lone_cr = migrate_source(b"import openai\rx = openai.Completion.create(model='m', prompt='p')\r")
    assert lone_cr.new == b"from openai import OpenAI\r\rclient = OpenAI()\rx = client.completions.create(model='m', prompt='p')\r"
    no_final_newline = migrate_source(b"import openai\nopenai.Completion.create(model='m', prompt='p')")
    assert no_final_newline.new.endswith(b"prompt='p')")
