"""Writes are atomic: a run killed at any moment leaves every file as it was or as migrated."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codemods import Options
from migrator.engine import migrate_source
from migrator.project import ProjectFacts

PROGRAMS = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "e2e").glob("*/before.py"))
COPIES = 8  # files per program: enough that a run takes a noticeable time to write them all


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    repo = tmp_path_factory.mktemp("kill")
    _git(repo, "init", "-q")
    expected = {}
    # migrated as the CLI migrates them: together (settings in some programs, none in others)
    facts = ProjectFacts()
    for program in PROGRAMS:
        facts.observe(program.parent.name, program.read_bytes())
    options = facts.options(Options())
    for program in PROGRAMS:
        source = program.read_bytes()
        migrated = migrate_source(source, options).new
        assert migrated is not None
        for copy in range(COPIES):
            path = repo / program.parent.name / f"copy_{copy}.py"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(source)
            expected[path] = (source, migrated)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "corpus")
    return repo, expected


def _check(repo: Path, expected, killed: bool) -> int:
    """Every file is exactly original or exactly migrated. Returns how many were migrated.

    A SIGKILL cannot be cleaned up after, so it may leave one temporary file (never a target);
    a run that ends normally leaves none.
    """
    migrated = 0
    for path, (before, after) in expected.items():
        data = path.read_bytes()
        assert data in (before, after), f"{path} is half-written"
        migrated += data == after
    leftovers = [p for p in repo.rglob("*") if "openai-migrate" in p.name]
    assert len(leftovers) <= (1 if killed else 0), leftovers
    return migrated


def _reset(repo: Path) -> None:
    _git(repo, "checkout", "-q", "--", ".")
    _git(repo, "clean", "-qfd")


def _first_write_seen(expected, deadline: float) -> bool:
    """Wait until the first file (files are written in discovery order) holds its migration."""
    first = min(expected)
    after = expected[first][1]
    while time.monotonic() < deadline:
        if first.read_bytes() == after:
            return True
        time.sleep(0.0005)
    return False


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL exists only on POSIX systems")
def test_sigkill_at_random_moments_never_corrupts(corpus) -> None:
    repo, expected = corpus
    partial_runs = 0
    for seed in range(24):
        if seed >= 12 and partial_runs:
            break  # enough: every run checked, and at least one was cut while writing
        _reset(repo)
        rng = random.Random(seed)
        proc = subprocess.Popen([sys.executable, "-m", "migrator", "-q", "."], cwd=repo,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if seed % 3 == 0:
            time.sleep(rng.uniform(0.05, 0.6))  # start-up, discovery, migration
        else:  # while files are being written: the dangerous moment
            assert _first_write_seen(expected, time.monotonic() + 30), "the run never started writing"
            time.sleep(rng.uniform(0, 0.003))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        migrated = _check(repo, expected, killed=True)
        partial_runs += 0 < migrated < len(expected)
    assert partial_runs, "no kill landed while files were being written; the test proves nothing"


def test_an_uninterrupted_run_migrates_everything(corpus) -> None:
    repo, expected = corpus
    _reset(repo)
    subprocess.run([sys.executable, "-m", "migrator", "-q", "."], cwd=repo, check=True, capture_output=True)
    assert _check(repo, expected, killed=False) == len(expected)


def test_ctrl_c_while_writing_reports_what_was_written(corpus) -> None:
    repo, expected = corpus
    for attempt in range(5):
        _reset(repo)
        proc = subprocess.Popen([sys.executable, "-m", "migrator", "-q", "."], cwd=repo,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert _first_write_seen(expected, time.monotonic() + 30), "the run never started writing"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        migrated = _check(repo, expected, killed=False)
        if proc.returncode == 0:  # the run finished before the signal arrived: try again
            assert migrated == len(expected)
            continue
        assert proc.returncode == 130, stderr
        assert f"Interrupted: {migrated} of {len(expected)} files were written" in stderr, stderr
        assert stderr.count("written: ") == migrated
        return
    pytest.fail("every run finished before Ctrl-C could interrupt its writing")
