"""Tests for migrator.gitguard (real git repositories in tmp_path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from tests.gitutil import git, init_repo, isolated_git  # noqa: F401  (isolated_git: an autouse fixture)

from migrator import gitguard
from migrator.gitguard import (
    REASON_CONFLICT,
    REASON_DIRTY,
    REASON_GIT_FAILED,
    REASON_IGNORED,
    REASON_NEVER_COMMITTED,
    REASON_NO_GIT,
    REASON_NO_REPO,
    REASON_NOT_TRACKED,
    REASON_UNCHECKABLE,
    REASON_UNTRACKED,
    Problem,
    find_unsafe,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


@pytest.fixture(autouse=True, params=["pathspecs", "whole-tree"])
def query_mode(request, monkeypatch):
    """Run every test both with git limited by pathspecs (few files) and
    with whole-work-tree queries (many files)."""
    if request.param == "whole-tree":
        monkeypatch.setattr(gitguard, "_MAX_PATHSPECS", 0)
    return request.param


def write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def commit_all(repo: Path, message: str = "commit") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def reasons(problems: List[Problem]) -> Dict[Path, str]:
    return {p.path: p.reason for p in problems}


def is_outside_git(path: Path) -> bool:
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True
    )
    return proc.returncode != 0


@pytest.fixture
def repo(tmp_path) -> Path:
    r = init_repo(tmp_path / "repo")
    write(r / "clean.py")
    write(r / "pkg" / "mod.py")
    write(r / ".gitignore", "*.log\nignored_dir/\nsecret.py\n")
    commit_all(r, "init")
    return r


# ---------------------------------------------------------------- states


def test_clean_files_are_safe(repo):
    assert find_unsafe([repo / "clean.py", repo / "pkg" / "mod.py"]) == []


def test_empty_input():
    assert find_unsafe([]) == []


def test_modified_file(repo):
    write(repo / "clean.py", "x = 2\n")
    assert find_unsafe([repo / "clean.py", repo / "pkg" / "mod.py"]) == [
        Problem(repo / "clean.py", REASON_DIRTY)
    ]
    assert REASON_DIRTY == "has uncommitted changes"


def test_staged_modification_counts_as_uncommitted(repo):
    write(repo / "clean.py", "x = 2\n")
    git(repo, "add", "clean.py")
    assert find_unsafe([repo / "clean.py"]) == [Problem(repo / "clean.py", REASON_DIRTY)]


def test_staged_then_reverted_in_worktree(repo):
    write(repo / "clean.py", "x = 2\n")
    git(repo, "add", "clean.py")
    write(repo / "clean.py", "x = 1\n")  # worktree == HEAD, index differs
    assert reasons(find_unsafe([repo / "clean.py"])) == {repo / "clean.py": REASON_DIRTY}


def test_staged_new_file(repo):
    write(repo / "new.py")
    git(repo, "add", "new.py")
    (problem,) = find_unsafe([repo / "new.py"])
    assert problem.reason == REASON_NEVER_COMMITTED
    assert "uncommitted" in problem.reason


def test_untracked_file(repo):
    write(repo / "new.py")
    assert find_unsafe([repo / "new.py"]) == [Problem(repo / "new.py", REASON_UNTRACKED)]
    assert REASON_UNTRACKED == "is untracked (not committed to git)"


def test_ignored_files_are_unsafe(repo):
    write(repo / "secret.py")
    write(repo / "ignored_dir" / "deep" / "x.py")
    files = [repo / "secret.py", repo / "ignored_dir" / "deep" / "x.py"]
    assert reasons(find_unsafe(files)) == {f: REASON_IGNORED for f in files}


def test_tracked_file_matching_gitignore_is_safe(repo):
    write(repo / "forced.log")
    git(repo, "add", "-f", "forced.log")
    git(repo, "commit", "-q", "-m", "forced")
    assert find_unsafe([repo / "forced.log"]) == []


def test_deleted_tracked_file(repo):
    (repo / "clean.py").unlink()
    assert reasons(find_unsafe([repo / "clean.py"])) == {repo / "clean.py": REASON_DIRTY}


def test_missing_untracked_file(repo):
    assert reasons(find_unsafe([repo / "nope.py"])) == {repo / "nope.py": REASON_NOT_TRACKED}


def test_renamed_file(repo):
    git(repo, "mv", "clean.py", "renamed.py")
    (problem,) = find_unsafe([repo / "renamed.py", repo / "pkg" / "mod.py"])
    assert problem.path == repo / "renamed.py"
    assert problem.reason.startswith(REASON_DIRTY)
    # with both names given, git sees the rename
    got = reasons(find_unsafe([repo / "renamed.py", repo / "clean.py"]))
    assert got == {repo / "renamed.py": REASON_DIRTY, repo / "clean.py": REASON_DIRTY}


def test_mode_change_is_a_change(repo):
    if sys.platform == "win32":
        pytest.skip("no executable bit on Windows")
    os.chmod(repo / "clean.py", 0o755)
    assert reasons(find_unsafe([repo / "clean.py"])) == {repo / "clean.py": REASON_DIRTY}


def test_assume_unchanged_is_not_trusted(repo):
    git(repo, "update-index", "--assume-unchanged", "clean.py")
    write(repo / "clean.py", "x = 3\n")  # invisible to git status now
    assert reasons(find_unsafe([repo / "clean.py"])) == {repo / "clean.py": REASON_UNCHECKABLE}


def test_merge_conflict(repo):
    base = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "other")
    write(repo / "clean.py", "x = 'other'\n")
    commit_all(repo, "other")
    git(repo, "checkout", "-q", base)
    write(repo / "clean.py", "x = 'base'\n")
    commit_all(repo, "base")
    proc = subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True)
    assert proc.returncode != 0
    assert reasons(find_unsafe([repo / "clean.py"])) == {repo / "clean.py": REASON_CONFLICT}


def test_repository_without_commits(tmp_path):
    r = init_repo(tmp_path / "fresh")
    write(r / "a.py")
    write(r / "b.py")
    write(r / "sub" / "c.py")
    git(r, "add", "b.py")
    got = reasons(find_unsafe([r / "a.py", r / "b.py", r / "sub" / "c.py"]))
    assert got == {
        r / "a.py": REASON_UNTRACKED,
        r / "b.py": REASON_NEVER_COMMITTED,
        r / "sub" / "c.py": REASON_UNTRACKED,
    }


def test_outside_any_repository(tmp_path):
    if not is_outside_git(tmp_path):
        pytest.skip("tmp_path is inside a git repository")
    f = write(tmp_path / "loose" / "a.py")
    assert find_unsafe([f]) == [Problem(f, REASON_NO_REPO)]
    assert REASON_NO_REPO == "is not inside a git work tree"


def test_file_inside_dot_git_is_not_in_work_tree(repo):
    f = repo / ".git" / "config"
    assert reasons(find_unsafe([f])) == {f: REASON_NO_REPO}


def test_broken_gitfile_is_reported(tmp_path):
    d = tmp_path / "fake"
    write(d / ".git", "not a gitdir pointer\n")
    f = write(d / "a.py")
    (problem,) = find_unsafe([f])
    assert problem.path == f
    assert problem.reason.startswith(REASON_GIT_FAILED)
    assert "invalid gitfile" in problem.reason


def test_invalid_nested_dot_git_directory_is_skipped_like_git_does(repo):
    # An empty ".git" directory is not a repository: git keeps looking upwards.
    (repo / "pkg" / ".git").mkdir()
    assert find_unsafe([repo / "pkg" / "mod.py", repo / "clean.py"]) == []
    write(repo / "pkg" / "mod.py", "changed\n")
    assert find_unsafe([repo / "pkg" / "mod.py", repo / "clean.py"]) == [
        Problem(repo / "pkg" / "mod.py", REASON_DIRTY)
    ]


# ---------------------------------------------------------------- paths


def test_subdirectories_and_caller_cwd_elsewhere(repo, tmp_path, monkeypatch):
    write(repo / "pkg" / "sub" / "deep.py")
    commit_all(repo)
    write(repo / "pkg" / "sub" / "deep.py", "changed = True\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rel = Path("..") / "repo" / "pkg" / "sub" / "deep.py"
    got = find_unsafe([rel, Path("../repo/pkg/mod.py"), Path(os.path.relpath(repo / "clean.py"))])
    assert got == [Problem(rel, REASON_DIRTY)]  # the user's spelling is kept


def test_cwd_inside_a_subdirectory(repo, monkeypatch):
    write(repo / "pkg" / "mod.py", "changed\n")
    monkeypatch.chdir(repo / "pkg")
    assert find_unsafe([Path("mod.py"), Path("../clean.py")]) == [
        Problem(Path("mod.py"), REASON_DIRTY)
    ]


@pytest.mark.parametrize(
    "name",
    ["with space.py", "naïve café.py", "日本語.py", "weird[1].py", "star*.py", ":colon.py",
     "-dash.py", "quote'\"s.py", "tab\tname.py"],
)
def test_special_file_names(tmp_path, name):
    if sys.platform == "win32" and any(c in name for c in '*:"\t'):
        pytest.skip("not a valid Windows file name")
    r = init_repo(tmp_path / "repo with space")
    clean = write(r / "dir with space" / name)
    write(r / "dir with space" / "other.py")
    commit_all(r)
    assert find_unsafe([clean]) == []
    write(clean, "changed\n")
    assert find_unsafe([clean]) == [Problem(clean, REASON_DIRTY)]
    untracked = write(r / "dir with space" / ("new " + name))
    assert find_unsafe([untracked]) == [Problem(untracked, REASON_UNTRACKED)]


def test_glob_characters_are_literal(tmp_path):
    # Without literal pathspecs, "a[12].py" would also select a1.py and a2.py.
    r = init_repo(tmp_path / "repo")
    write(r / "a[12].py")
    write(r / "a1.py")
    commit_all(r)
    write(r / "a1.py", "changed\n")
    write(r / "a2.py")
    assert find_unsafe([r / "a[12].py"]) == []


def test_symlinked_directory_in_path(repo, tmp_path):
    if sys.platform == "win32":
        pytest.skip("symlinks")
    link = tmp_path / "link-to-repo"
    link.symlink_to(repo, target_is_directory=True)
    assert find_unsafe([link / "clean.py"]) == []
    write(repo / "clean.py", "changed\n")
    assert find_unsafe([link / "clean.py"]) == [Problem(link / "clean.py", REASON_DIRTY)]


def test_duplicates_reported_once_and_order_kept(repo, monkeypatch):
    write(repo / "b.py")
    write(repo / "a.py")
    monkeypatch.chdir(repo)
    got = find_unsafe([Path("b.py"), Path("clean.py"), repo / "b.py", Path("a.py")])
    assert got == [Problem(Path("b.py"), REASON_UNTRACKED), Problem(Path("a.py"), REASON_UNTRACKED)]


# ---------------------------------------------------------------- repositories


def test_several_repositories_and_outside_in_one_call(tmp_path):
    r1 = init_repo(tmp_path / "one")
    r2 = init_repo(tmp_path / "two")
    for r in (r1, r2):
        write(r / "a.py")
        write(r / "b.py")
        commit_all(r)
    write(r1 / "a.py", "changed\n")
    write(r2 / "b.py", "changed\n")
    files = [r1 / "a.py", r2 / "a.py", r1 / "b.py", r2 / "b.py"]
    expected = [Problem(r1 / "a.py", REASON_DIRTY), Problem(r2 / "b.py", REASON_DIRTY)]
    if is_outside_git(tmp_path):
        loose = write(tmp_path / "loose.py")
        files.insert(1, loose)
        expected.insert(1, Problem(loose, REASON_NO_REPO))
    assert find_unsafe(files) == expected


def test_nested_repository_is_checked_on_its_own(tmp_path):
    outer = init_repo(tmp_path / "outer")
    write(outer / "o.py")
    write(outer / ".gitignore", "inner/\n")
    commit_all(outer)
    inner = init_repo(outer / "inner")
    write(inner / "i.py")
    commit_all(inner)
    # ignored in the outer repository, but committed in its own
    assert find_unsafe([inner / "i.py", outer / "o.py"]) == []
    write(inner / "i.py", "changed\n")
    assert find_unsafe([inner / "i.py"]) == [Problem(inner / "i.py", REASON_DIRTY)]


def test_worktree(tmp_path):
    r = init_repo(tmp_path / "main")
    write(r / "a.py")
    commit_all(r)
    wt = tmp_path / "wt"
    git(r, "worktree", "add", "-q", "-b", "feature", str(wt))
    assert (wt / ".git").is_file()
    assert find_unsafe([wt / "a.py"]) == []
    write(wt / "a.py", "changed\n")
    assert find_unsafe([wt / "a.py", r / "a.py"]) == [Problem(wt / "a.py", REASON_DIRTY)]


def test_git_hook_environment_is_ignored(repo, tmp_path, monkeypatch):
    # Inside git hooks GIT_DIR & co point at the hook's repository.
    other = init_repo(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    assert find_unsafe([repo / "clean.py"]) == []


def test_git_output_language_and_prompts(monkeypatch):
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    env = gitguard._git_env()
    assert env["LC_ALL"] == "C"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_PAGER"] == "cat"
    assert "GIT_DIR" not in env


# ---------------------------------------------------------------- git problems


def test_git_not_installed(repo, monkeypatch):
    monkeypatch.setattr(gitguard.shutil, "which", lambda name: None)
    files = [repo / "clean.py", repo / "pkg" / "mod.py"]
    assert find_unsafe(files) == [Problem(f, REASON_NO_GIT) for f in files]
    assert REASON_NO_GIT == "git is not installed"


def test_git_vanishes_between_lookup_and_run(repo, monkeypatch):
    monkeypatch.setattr(gitguard.shutil, "which", lambda name: "/nonexistent/bin/git")
    assert find_unsafe([repo / "clean.py"]) == [Problem(repo / "clean.py", REASON_NO_GIT)]


def test_git_failure_is_reported_not_swallowed(repo, monkeypatch):
    real_run = gitguard._run_git

    def failing(git_exe, args, cwd, env, **kwargs):
        if "status" in args:
            raise gitguard._GitError("fatal: index file corrupt")
        return real_run(git_exe, args, cwd, env, **kwargs)

    monkeypatch.setattr(gitguard, "_run_git", failing)
    (problem,) = find_unsafe([repo / "clean.py"])
    assert problem.reason.startswith(REASON_GIT_FAILED)
    assert "index file corrupt" in problem.reason


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell script")
def test_git_error_message_is_the_fatal_line(repo, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "git"
    write(fake, "#!/bin/sh\n"
                "echo 'fatal: detected dubious ownership in repository' >&2\n"
                "echo 'To add an exception for this directory, call:' >&2\n"
                "exit 128\n")
    fake.chmod(0o755)
    monkeypatch.setattr(gitguard.shutil, "which", lambda name: str(fake))
    (problem,) = find_unsafe([repo / "clean.py"])
    assert problem.reason == f"{REASON_GIT_FAILED} (fatal: detected dubious ownership in repository)"


def test_git_prompts_are_disabled(repo, tmp_path, monkeypatch):
    # stdin is never the terminal: a git waiting for input would hang the test
    seen = {}
    real_run = subprocess.run

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(gitguard.subprocess, "run", spy)
    find_unsafe([repo / "clean.py"])
    assert "input" in seen or seen.get("stdin") is subprocess.DEVNULL
    assert seen["env"]["GIT_TERMINAL_PROMPT"] == "0"
    assert seen["env"]["LC_ALL"] == "C"


def test_case_insensitive_repository(repo, monkeypatch):
    # Simulates macOS/Windows: the user spelled the path in another case.
    monkeypatch.setattr(gitguard, "_MACOS", True)
    git(repo, "config", "core.ignorecase", "true")
    assert find_unsafe([repo / "CLEAN.py"]) == []
    git(repo, "config", "core.ignorecase", "false")
    assert find_unsafe([repo / "CLEAN.py"]) == [Problem(repo / "CLEAN.py", REASON_NOT_TRACKED)]


# ---------------------------------------------------------------- scale


def test_many_files_few_git_calls(tmp_path, monkeypatch):
    r = init_repo(tmp_path / "big")
    files = []
    for d in range(30):
        for i in range(50):
            files.append(write(r / f"pkg{d}" / f"m{i}.py"))
    commit_all(r)
    write(files[123], "changed\n")
    write(files[1400], "changed\n")
    untracked = write(r / "pkg7" / "new.py")
    calls = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        calls.append(args[0])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(gitguard.subprocess, "run", counting_run)
    got = find_unsafe(files + [untracked])
    assert got == [Problem(files[123], REASON_DIRTY), Problem(files[1400], REASON_DIRTY),
                   Problem(untracked, REASON_UNTRACKED)]
    assert len(calls) == 4  # rev-parse, ls-files, status, check-ignore
    calls.clear()
    assert find_unsafe(files[200:1000]) == []
    assert len(calls) == 3  # nothing untracked: no check-ignore


def test_long_command_lines_fall_back_to_whole_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(gitguard, "_MAX_ARGS_CHARS", 60)
    r = init_repo(tmp_path / "repo")
    files = [write(r / f"file_number_{i:03d}.py") for i in range(40)]
    commit_all(r)
    write(files[0], "changed\n")
    write(files[39], "changed\n")
    extra = write(r / "zz_new.py")
    assert gitguard._pathspec_args([f.name for f in files]) is None
    assert find_unsafe(files + [extra]) == [
        Problem(files[0], REASON_DIRTY),
        Problem(files[39], REASON_DIRTY),
        Problem(extra, REASON_UNTRACKED),
    ]


def test_problem_is_a_frozen_dataclass():
    p = Problem(Path("a.py"), REASON_DIRTY)
    assert p.path == Path("a.py") and p.reason == REASON_DIRTY
    with pytest.raises(Exception):
        p.reason = "x"  # type: ignore[misc]


def test_files_inside_a_submodule_are_checked_against_the_submodule(tmp_path):
    library = init_repo(tmp_path / "library")
    write(library / "lib.py")
    commit_all(library, "library")
    app = init_repo(tmp_path / "app")
    write(app / "main.py")
    commit_all(app, "app")
    git(app, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "vendor/library")
    commit_all(app, "add submodule")
    inside = app / "vendor" / "library" / "lib.py"
    assert find_unsafe([inside, app / "main.py"]) == []
    write(inside, "x = 2\n")  # modified in the submodule's own work tree
    assert reasons(find_unsafe([inside, app / "main.py"])) == {inside: "has uncommitted changes"}


def test_windows_git_lookup_never_runs_a_git_from_the_current_directory(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # shutil.which on Windows tries the current directory first: a git.bat in the migrated repository would run
    repo, tools = tmp_path / "repo", tmp_path / "tools"
    repo.mkdir()
    tools.mkdir()
    (repo / "git.bat").write_text("@echo pwned\n")
    (tools / "git.exe").write_bytes(b"MZ")
    monkeypatch.chdir(repo)
    monkeypatch.setattr(gitguard.os, "name", "nt")
    monkeypatch.setenv("PATH", os.pathsep.join([str(repo), "relative", str(tools)]))
    assert gitguard.find_git() == str(tools / "git.exe")
    monkeypatch.setenv("PATH", os.pathsep.join([str(repo), "."]))
    assert gitguard.find_git() is None


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs POSIX symlinks")
def test_work_tree_printed_through_another_path_still_matches(repo, tmp_path, monkeypatch):
    # Windows: git prints a mapped or subst drive (Z:/repo) while resolve() gives the target (\\server\share\repo);
    # a symlink to the work tree plays the same trick here
    alias = tmp_path / "alias"
    alias.symlink_to(repo, target_is_directory=True)
    real_run = gitguard._run_git

    def aliased(git_exe, args, cwd, env, **kwargs):
        if args == ["rev-parse", "--show-toplevel"]:
            return str(alias).encode() + b"\n"
        return real_run(git_exe, args, cwd, env, **kwargs)

    monkeypatch.setattr(gitguard, "_run_git", aliased)
    write(repo / "clean.py", "changed\n")
    assert find_unsafe([repo / "pkg" / "mod.py", repo / "clean.py"]) == [
        Problem(repo / "clean.py", gitguard.REASON_DIRTY)]
