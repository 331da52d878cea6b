"""End-to-end proof: each example program, run with openai 0.28.1, and its migration by the CLI
(default mode and --global), run with the latest openai, print the same output and send the same
requests to a fake server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.fake_server import FakeOpenAIServer
from tests.e2e.harness import compare_runs, load_program_spec, run_fixture

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "e2e"
PROGRAMS = sorted(p for p in PROGRAMS_DIR.iterdir() if (p / "before.py").is_file())
# Programs where a human decision is due must say so in a TODO (and still behave the same).
EXPECTED_TODOS = {"key_in_main"}


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def migrate_with_cli(program: Path, workdir: Path, flags=()) -> str:
    workdir.mkdir(parents=True)
    script = workdir / "main.py"
    script.write_bytes((program / "before.py").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", *flags, str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return script.read_text()


@pytest.mark.parametrize("mode", ["default", "global"])
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_migrated_program_behaves_like_the_original(program: Path, mode: str, server: FakeOpenAIServer,
                                                    tmp_path: Path) -> None:
    flags = ["--global"] if mode == "global" else []
    migrated = migrate_with_cli(program, tmp_path / "migrate", flags)
    assert migrated != (program / "before.py").read_text(), "the migration changed nothing"
    if mode == "global":
        code = "\n".join(line for line in migrated.splitlines() if not line.lstrip().startswith("#"))
        assert "= OpenAI(" not in code and "= AzureOpenAI(" not in code, "--global must keep the module client"
    elif program.name in EXPECTED_TODOS:
        assert "TODO(openai-migrate)" in migrated, migrated
    old = run_fixture(program, "old", server, tmp_path / "old")
    new = run_fixture(program, "new", server, tmp_path / "new", script_text=migrated)
    assert old.requests, "the original program made no request"
    compare_runs(old, new, spec=load_program_spec(program))
