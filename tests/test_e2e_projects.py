"""End-to-end proof for projects whose openai settings are set in one module and used in others.

Each folder of fixtures/e2e_projects is a small program of several modules. It runs with
openai 0.28.1, then the CLI migrates the whole folder, and the migration runs with the latest
openai; output and requests must be the same. The settings come from a file, an app factory
or a startup hook, never from OPENAI_API_KEY, so a dropped setting fails loudly.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.fake_server import FakeOpenAIServer
from tests.e2e.harness import compare_runs, load_program_spec, run_program

PROJECTS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "e2e_projects"
PROJECTS = sorted(p for p in PROJECTS_DIR.iterdir() if (p / "main.py").is_file())


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.mark.parametrize("project", PROJECTS, ids=[p.name for p in PROJECTS])
def test_migrated_project_behaves_like_the_original(project: Path, server: FakeOpenAIServer, tmp_path: Path) -> None:
    spec = load_program_spec(project)
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    shutil.copytree(project, old_dir)
    shutil.copytree(project, new_dir)
    proc = subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", str(new_dir)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    changed = [p.name for p in sorted(new_dir.glob("*.py")) if p.read_bytes() != (project / p.name).read_bytes()]
    assert changed, "the migration changed nothing"
    old = run_program("old", old_dir / "main.py", server, old_dir, spec.env, spec.timeout)
    new = run_program("new", new_dir / "main.py", server, new_dir, spec.env, spec.timeout)
    assert old.requests, "the original program made no request"
    compare_runs(old, new, spec=spec)
