"""``--format json`` against its published schema (docs/report.schema.json), in every kind of outcome."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import nbformat
import pytest
from tests.clirunner import cli_runner
from nbformat.v4 import new_code_cell, new_notebook

from migrator.cli import main

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs" / "report.schema.json").read_text("utf-8"))

OLD = b'import openai\nr = openai.Completion.create(model="m", prompt="p")\nprint(r["choices"][0]["text"])\n'
EDIT = b'import openai\nx = openai.Edit.create(model="m", input="i", instruction="j")\n'


def report(cwd: Path, *args: str) -> dict:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = cli_runner().invoke(main, ["--format", "json", "--check", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
    files = document["files"]
    assert document["summary"]["changed"] == sum(f["changed"] for f in files)
    assert document["summary"]["failed"] == sum(f["error"] is not None for f in files)
    assert document["summary"]["todos"] == sum(len(f["todos"]) for f in files)
    assert result.exit_code == (3 if document["summary"]["failed"] else 1 if document["summary"]["changed"] else 0)
    return document


def test_every_kind_of_outcome_matches_the_schema(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_bytes(OLD)
    (tmp_path / "edit.py").write_bytes(EDIT)
    (tmp_path / "broken.py").write_bytes(b"import openai\nopenai.api_key = <KEY>\n")
    (tmp_path / "plain.py").write_bytes(b"x = 1\n")
    (tmp_path / "requirements.txt").write_bytes(b"openai==0.28.1\n")
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1"), new_code_cell(EDIT.decode())]),
                   str(tmp_path / "nb.ipynb"))
    document = report(tmp_path, ".")
    files = {f["path"]: f for f in document["files"]}
    assert set(files) == {"app.py", "edit.py", "broken.py", "requirements.txt", "nb.ipynb"}
    assert files["nb.ipynb"]["todos"][0]["cell"] == 2 and files["nb.ipynb"]["todos"][0]["line"] == 2
    assert files["edit.py"]["todos"][0]["cell"] is None
    assert files["requirements.txt"]["changed"] and files["requirements.txt"]["notes"]
    assert document["summary"]["scanned"] == 6


def test_nothing_to_do_matches_the_schema(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_bytes(b"x = 1\n")
    assert report(tmp_path, ".")["files"] == []


def test_the_schema_rejects_what_it_should() -> None:
    good = {"version": "1", "files": [{"path": "a.py", "changed": True, "error": None, "notes": [],
                                       "todos": [{"line": 1, "cell": None, "rule": "resource-calls", "message": "m"}]}],
            "summary": {"scanned": 1, "changed": 1, "failed": 0, "todos": 1}}
    jsonschema.validate(good, SCHEMA, cls=jsonschema.Draft202012Validator)
    failed_but_changed = json.loads(json.dumps(good))
    failed_but_changed["files"][0]["error"] = "boom"
    unknown_rule = json.loads(json.dumps(good))
    unknown_rule["files"][0]["todos"][0]["rule"] = "OM002"
    extra_key = {**good, "extra": 1}
    for bad in (failed_but_changed, unknown_rule, extra_key):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_schema_names_every_rule() -> None:
    from codemods import RULES

    rule = SCHEMA["properties"]["files"]["items"]["properties"]["todos"]["items"]["properties"]["rule"]
    assert rule["enum"] == [r.name for r in RULES] + ["unknown"]
