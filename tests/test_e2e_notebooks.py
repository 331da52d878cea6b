"""End-to-end proof for notebooks: each notebook in ``fixtures/e2e_notebooks/``, run cell by cell with openai
0.28.1, and its migration by ``migrate_notebook`` (default mode and --global), run with the latest openai, print the same output and send
the same requests to the fake server (see ``tests/e2e/notebook_runner.py`` for how cells are run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemods import Options
from migrator.notebooks import migrate_notebook
from tests.e2e.fake_server import FakeOpenAIServer
from tests.e2e.harness import compare_runs, load_program_spec
from tests.e2e.notebook_runner import NOTEBOOK_NAME, python_lines_for_tests, run_notebook

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "e2e_notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOKS_DIR.iterdir() if (p / NOTEBOOK_NAME).is_file())


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def _sources(data: bytes):
    return ["".join(c["source"]) for c in json.loads(data)["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("mode", ["default", "global"])
@pytest.mark.parametrize("program", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_migrated_notebook_behaves_like_the_original(program: Path, mode: str, server: FakeOpenAIServer,
                                                     tmp_path: Path) -> None:
    original = (program / NOTEBOOK_NAME).read_bytes()
    result = migrate_notebook(original, Options(global_client=mode == "global"))
    assert result.error is None and result.problems == [], (result.error, result.problems)
    assert result.new is not None, "the migration changed nothing"
    assert not any("openai==0.2" in s or '"openai<1"' in s for s in _sources(result.new)), "an old pin is left"
    old = run_notebook(program, "old", server, tmp_path / "old")
    new = run_notebook(program, "new", server, tmp_path / "new", notebook=result.new)
    assert old.requests, "the original notebook made no request"
    assert old.stdout.count("[cell ") == len([s for s in _sources(original) if s.strip()]) - _skipped(original)
    compare_runs(old, new, spec=load_program_spec(program))


def _skipped(data: bytes) -> int:
    """Code cells the runner does not run (non-Python cell magics)."""
    return sum(1 for s in _sources(data) if s.lstrip().startswith("%%") and not s.lstrip().startswith(("%%time", "%%capture")))


def test_the_runner_fails_loudly(server: FakeOpenAIServer, tmp_path: Path) -> None:
    """A cell that raises stops the run with a traceback, so a broken migration cannot pass unnoticed."""
    program = NOTEBOOKS_DIR / "client_placement"
    notebook = json.loads((program / NOTEBOOK_NAME).read_bytes())
    notebook["cells"][2]["source"] = ["print(client)"]  # `client` is created nowhere in the original
    run = run_notebook(program, "old", server, tmp_path, notebook=json.dumps(notebook).encode())
    assert run.returncode == 1
    assert "NameError: name 'client' is not defined" in run.stderr
    assert "[cell 2]" in run.stdout and "[cell 4]" not in run.stdout


def test_the_runner_turns_ipython_lines_into_python() -> None:
    lines = ["!pip install openai==0.28", "%env A=1", "if True:", "    %time x = f()", "files = !ls", "openai.Model?",
             'p = """', "% of users?", "!not shell", '"""']
    assert python_lines_for_tests(lines) == [
        "pass", "__import__('os').environ['A'] = '1'", "if True:", "    x = f()", "files = []", "pass",
        'p = """', "% of users?", "!not shell", '"""']
