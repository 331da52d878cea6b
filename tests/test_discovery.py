"""Tests for migrator.discovery."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Optional

import pytest

from tests.gitutil import git, init_repo, isolated_git  # noqa: F401  (isolated_git: an autouse fixture)

from migrator import discovery
from migrator.discovery import (
    DEFAULT_EXCLUDES,
    SKIP_IGNORED,
    SKIP_SYMLINK,
    SKIP_SYMLINK_DIR,
    SKIP_UNREADABLE_DIR,
    DiscoveryError,
    DiscoveryResult,
    Skipped,
    discover,
    discover_all,
)

needs_symlinks = pytest.mark.skipif(
    sys.platform == "win32", reason="symlinks need privileges on Windows"
)


# ---------------------------------------------------------------- helpers


def make(base: Path, files: Iterable[str], content: str = "") -> None:
    """Create files (``"a/b.py"``); a name ending in "/" makes a directory."""
    for rel in files:
        p = base / rel
        if rel.endswith("/"):
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def rels(paths: Iterable[Path], base: Path) -> List[str]:
    return [Path(p).relative_to(base).as_posix() for p in paths]


def found(base: Path, **kwargs) -> List[str]:
    return rels(discover([base], **kwargs), base)


def outside_git(path: Path) -> bool:
    return discovery._find_repo_root(path.resolve()) is None


# ---------------------------------------------------------------- basics


def test_yields_matching_suffixes_in_sorted_order(tmp_path):
    make(tmp_path, ["b.py", "a.py", "c.txt", "nb.ipynb", "pkg/z.py", "pkg/a.py",
                    "pkg/sub/m.py", "aa/x.py", "README.md", "setup.cfg"])
    assert found(tmp_path) == [
        "a.py", "aa/x.py", "b.py", "nb.ipynb", "pkg/a.py", "pkg/sub/m.py", "pkg/z.py",
    ]


def test_custom_suffixes(tmp_path):
    make(tmp_path, ["a.py", "b.ipynb", "c.pyi"])
    assert found(tmp_path, suffixes=(".ipynb",)) == ["b.ipynb"]
    assert found(tmp_path, suffixes=[".py", ".pyi"]) == ["a.py", "c.pyi"]


def test_order_is_deterministic_regardless_of_creation_order(tmp_path):
    names = [f"d{i % 7}/f{i:03d}.py" for i in range(120)] + [f"top{i}.py" for i in range(10)]
    random.Random(4).shuffle(names)
    make(tmp_path, names)
    first = found(tmp_path)
    assert first == sorted(first)  # no '-'/'.' names, so plain sort == walk order
    assert found(tmp_path) == first
    assert len(first) == 130


def test_keeps_user_spelling_relative(tmp_path, monkeypatch):
    make(tmp_path, ["src/pkg/a.py", "src/b.py", "top.py"])
    monkeypatch.chdir(tmp_path)
    assert list(discover([Path("src")])) == [Path("src/b.py"), Path("src/pkg/a.py")]
    assert list(discover([Path(".")])) == [
        Path("src/b.py"), Path("src/pkg/a.py"), Path("top.py"),
    ]
    assert all(not p.is_absolute() for p in discover([Path(".")]))


def test_keeps_user_spelling_absolute(tmp_path):
    make(tmp_path, ["a.py"])
    assert list(discover([tmp_path])) == [tmp_path / "a.py"]


def test_accepts_str_paths(tmp_path):
    make(tmp_path, ["a.py"])
    assert list(discover([str(tmp_path)])) == [tmp_path / "a.py"]


def test_each_file_once(tmp_path, monkeypatch):
    make(tmp_path, ["src/a.py", "src/b.py", "c.py"])
    monkeypatch.chdir(tmp_path)
    out = list(discover([Path("src/a.py"), Path("src"), Path("."), tmp_path / "src",
                         Path("src/../src/b.py")]))
    assert out == [Path("src/a.py"), Path("src/b.py"), Path("c.py")]


def test_given_paths_order_is_kept(tmp_path):
    make(tmp_path, ["a/x.py", "b/y.py"])
    assert rels(discover([tmp_path / "b", tmp_path / "a"]), tmp_path) == ["b/y.py", "a/x.py"]


def test_missing_path_raises_before_iterating(tmp_path):
    make(tmp_path, ["a.py"])
    missing = tmp_path / "nope" / "gone.py"
    with pytest.raises(DiscoveryError) as info:
        discover([tmp_path, missing])  # not even iterated
    assert str(missing) in str(info.value)
    assert info.value.path == missing


@needs_symlinks
def test_broken_symlink_given_raises(tmp_path):
    link = tmp_path / "link.py"
    link.symlink_to(tmp_path / "missing.py")
    with pytest.raises(DiscoveryError, match="broken symlink"):
        discover([link])


def test_empty_directory_and_no_paths(tmp_path):
    assert list(discover([tmp_path])) == []
    assert list(discover([])) == []


def test_discover_all(tmp_path):
    make(tmp_path, ["a.py", "b.txt"])
    result = discover_all([tmp_path])
    assert isinstance(result, DiscoveryResult)
    assert result.files == [tmp_path / "a.py"]
    assert result.skipped == []


def test_does_not_read_file_contents(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "repo")
    make(repo, ["a.py", "sub/b.py", "sub/c.ipynb"])
    write(repo / ".gitignore", "*.log\n")
    write(repo / "sub" / ".gitignore", "x.py\n")
    opened = []
    real_open = open

    def spy(file, *args, **kwargs):
        opened.append(os.path.basename(os.fspath(file)))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(discovery, "open", spy, raising=False)
    assert found(repo) == ["a.py", "sub/b.py", "sub/c.ipynb"]
    assert set(opened) <= {".gitignore", "exclude", "config"}  # config: core.ignorecase


# ---------------------------------------------------------------- gitignore


def test_root_gitignore(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "generated/\nsecret_*.py\n!secret_ok.py\n*.ipynb\n# comment\n\n")
    make(repo, ["a.py", "generated/g.py", "secret_1.py", "secret_ok.py", "nb.ipynb",
                "pkg/generated/deep.py", "pkg/secret_2.py", "pkg/secret_ok.py"])
    assert found(repo) == ["a.py", "pkg/secret_ok.py", "secret_ok.py"]


def test_nested_gitignore_is_relative_to_its_directory(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / "sub" / ".gitignore", "local.py\n/anchored.py\ngen/*.py\n")
    make(repo, [
        "local.py", "anchored.py", "gen/x.py",  # outside sub: unaffected
        "sub/local.py", "sub/deep/local.py",  # un-anchored: any depth below sub
        "sub/anchored.py", "sub/deep/anchored.py",  # anchored: only sub/anchored.py
        "sub/gen/x.py", "sub/deep/gen/x.py",  # slash in the middle: anchored too
        "sub/keep.py",
    ])
    assert found(repo) == [
        "anchored.py", "gen/x.py", "local.py",
        "sub/deep/anchored.py", "sub/deep/gen/x.py", "sub/keep.py",
    ]


def test_nested_negation_overrides_parent(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "*.ipynb\nscratch_*.py\n")
    write(repo / "notebooks" / ".gitignore", "!keep.ipynb\n!scratch_keep.py\n")
    make(repo, ["a.ipynb", "keep.ipynb", "notebooks/a.ipynb", "notebooks/keep.ipynb",
                "notebooks/deeper/keep.ipynb", "notebooks/scratch_1.py",
                "notebooks/scratch_keep.py"])
    assert found(repo) == [
        "notebooks/deeper/keep.ipynb", "notebooks/keep.ipynb", "notebooks/scratch_keep.py",
    ]


def test_deeper_gitignore_can_ignore_again(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "*.py\n!*_keep.py\n")
    write(repo / "a" / ".gitignore", "x_keep.py\n")
    make(repo, ["x_keep.py", "y.py", "a/x_keep.py", "a/y_keep.py"])
    assert found(repo) == ["a/y_keep.py", "x_keep.py"]


def test_directory_only_patterns(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "odd.py/\ncache/\n")
    make(repo, ["odd.py", "sub/odd.py/inner.py", "cache/c.py", "sub/cache/c.py", "cache.py"])
    # "odd.py/" ignores a directory called odd.py, not the file odd.py
    assert found(repo) == ["cache.py", "odd.py"]


def test_file_in_ignored_directory_cannot_be_reincluded(tmp_path):
    # Same as git: "It is not possible to re-include a file if a parent
    # directory of that file is excluded."
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "out/\n!out/keep.py\nlogs/*\n!logs/keep.py\n")
    make(repo, ["out/keep.py", "logs/keep.py", "logs/drop.py"])
    assert found(repo) == ["logs/keep.py"]


def test_directory_contents_reincluded_with_star_pattern(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "vendor/*\n!vendor/ours/\n")
    make(repo, ["vendor/theirs/a.py", "vendor/x.py", "vendor/ours/b.py", "vendor/ours/deep/c.py"])
    assert found(repo) == ["vendor/ours/b.py", "vendor/ours/deep/c.py"]


def test_double_star_patterns(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "**/migrations/*.py\ndocs/**\n")
    write(repo / "app" / ".gitignore", "**/tmp_*.py\n")
    make(repo, ["migrations/0001.py", "app/migrations/0002.py", "docs/conf.py",
                "docs/a/b.py", "app/tmp_x.py", "app/z/tmp_y.py", "tmp_top.py", "app/main.py"])
    assert found(repo) == ["app/main.py", "tmp_top.py"]


def test_git_info_exclude(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".git" / "info" / "exclude", "private_*.py\n")
    make(repo, ["private_a.py", "sub/private_b.py", "public.py"])
    assert found(repo) == ["public.py"]
    assert found(repo / "sub") == []


def test_gitignore_overrides_info_exclude(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".git" / "info" / "exclude", "*.ipynb\n")
    write(repo / ".gitignore", "!keep.ipynb\n")
    make(repo, ["a.ipynb", "keep.ipynb"])
    assert found(repo) == ["keep.ipynb"]


def test_subdirectory_run_honours_root_and_intermediate_gitignores(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "*_gen.py\n/src/app/skipme/\n")
    write(repo / "src" / ".gitignore", "local_*.py\n")
    write(repo / ".git" / "info" / "exclude", "mine.py\n")
    make(repo, ["src/app/a.py", "src/app/b_gen.py", "src/app/local_x.py", "src/app/mine.py",
                "src/app/skipme/s.py", "src/app/sub/c_gen.py", "src/app/sub/d.py"])
    assert found(repo / "src" / "app") == ["a.py", "sub/d.py"]
    monkeypatch.chdir(repo / "src")
    assert list(discover([Path("app")])) == [Path("app/a.py"), Path("app/sub/d.py")]


def test_given_directory_that_is_ignored_is_skipped_and_reported(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "generated/\n")
    make(repo, ["generated/a.py", "generated/deep/b.py"])
    skipped: List[Skipped] = []
    assert list(discover([repo / "generated" / "deep"], skipped=skipped)) == []
    assert skipped == [Skipped(repo / "generated" / "deep", SKIP_IGNORED)]
    # ... but explicitly named files are still yielded
    assert list(discover([repo / "generated" / "a.py"])) == [repo / "generated" / "a.py"]


def test_gitignore_outside_a_repository(tmp_path):
    if not outside_git(tmp_path):
        pytest.skip("tmp_path is inside a git repository")
    write(tmp_path / "proj" / ".gitignore", "ignored.py\nout/\n")
    write(tmp_path / "proj" / "sub" / ".gitignore", "!ignored.py\n")
    make(tmp_path / "proj", ["a.py", "ignored.py", "out/x.py", "sub/ignored.py"])
    assert found(tmp_path / "proj") == ["a.py", "sub/ignored.py"]


def test_repository_below_a_plain_directory(tmp_path):
    if not outside_git(tmp_path):
        pytest.skip("tmp_path is inside a git repository")
    repo = init_repo(tmp_path / "work" / "repo")
    write(repo / ".gitignore", "gen_*.py\n")
    write(repo / ".git" / "info" / "exclude", "mine.py\n")
    make(tmp_path / "work", ["loose.py", "gen_loose.py", "repo/a.py", "repo/gen_a.py",
                             "repo/mine.py", "repo/sub/mine.py"])
    assert found(tmp_path / "work") == ["gen_loose.py", "loose.py", "repo/a.py"]


def test_nested_repository_uses_its_own_rules(tmp_path):
    outer = init_repo(tmp_path / "outer")
    write(outer / ".gitignore", "*_x.py\n")
    inner = init_repo(outer / "inner")
    write(inner / ".gitignore", "*_y.py\n")
    write(inner / ".git" / "info" / "exclude", "excl.py\n")
    make(outer, ["a_x.py", "a_y.py", "inner/b_x.py", "inner/b_y.py", "inner/excl.py",
                 "inner/ok.py"])
    assert found(outer) == ["a_y.py", "inner/b_x.py", "inner/ok.py"]
    assert found(inner) == ["b_x.py", "ok.py"]


def test_git_file_worktree_info_exclude(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / "a.py", "")
    git(repo, "add", "a.py")
    git(repo, "commit", "-qm", "init")
    write(repo / ".git" / "info" / "exclude", "excluded.py\n")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt))
    assert (wt / ".git").is_file()
    make(wt, ["excluded.py", "sub/excluded.py", "b.py"])
    assert found(wt) == ["a.py", "b.py"]
    assert found(wt / "sub") == []


def test_gitignore_crlf_bom_and_special_directory_names(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / ".gitignore").write_bytes(b"\xef\xbb\xbfa_*.py\r\nb.py\r\n")
    for d in ("[abc]", "#hash", "!bang", "sp ace", "st*ar"):
        write(repo / d / ".gitignore", "gen.py\n/top.py\n")
        make(repo / d, ["gen.py", "top.py", "deep/top.py", "keep.py"])
    make(repo, ["a_1.py", "b.py", "c.py", "a/gen.py"])
    assert found(repo) == sorted(
        ["a/gen.py", "c.py"]
        + [f"{d}/{f}" for d in ("[abc]", "#hash", "!bang", "sp ace", "st*ar")
           for f in ("deep/top.py", "keep.py")]
    )


def test_gitignore_line_endings_like_git(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / ".gitignore").write_bytes(b"a.py\r\nb.py \r\nx.py\x0cy.py\n")
    make(repo, ["a.py", "b.py", "c.py", "x.py", "y.py"])
    assert _git_untracked_not_ignored(repo) == ["c.py", "x.py", "y.py"]
    assert found(repo) == ["c.py", "x.py", "y.py"]


def test_invalid_gitignore_lines_are_ignored(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "/\n!\n[z-a].py\nbad.py\n")
    make(repo, ["a.py", "bad.py"])
    assert found(repo) == ["a.py"]


def test_symlinked_gitignore_is_not_used(tmp_path):
    if sys.platform == "win32":
        pytest.skip("symlinks")
    repo = init_repo(tmp_path / "repo")
    write(tmp_path / "rules", "a.py\n")
    (repo / ".gitignore").symlink_to(tmp_path / "rules")  # git >= 2.32 ignores it too
    make(repo, ["a.py"])
    assert found(repo) == ["a.py"]


GIT_COMPARISON_TREE = {
    ".gitignore": "*.log\nbuild_out/\n/root_only.py\n*_tmp.py\n!important_tmp.py\n"
                  "data/*\n!data/keep/\nnotes/**/draft_*.py\n**/cache/\n",
    "pkg/.gitignore": "local.py\n/anchored/\n!root_only.py\n*.ipynb\n!keep*.ipynb\n",
    "pkg/sub/.gitignore": "!local.py\nlocal2.py\n",
    "pkg/sub/deeper/.gitignore": "*\n!*.py\n!*/\n",
    "other/.gitignore": "# nothing\n\n\\#literal.py\n\\!bang.py\n",
}
GIT_COMPARISON_FILES = [
    "root_only.py", "pkg/root_only.py", "x_tmp.py", "important_tmp.py", "pkg/y_tmp.py",
    "pkg/important_tmp.py", "build_out/a.py", "pkg/build_out/b.py", "data/d.py",
    "data/keep/k.py", "data/keep/sub/k2.py", "data/other/o.py", "notes/draft_1.py",
    "notes/a/b/draft_2.py", "notes/final.py", "cache/c.py", "pkg/cache/c.py",
    "pkg/local.py", "pkg/sub/local.py", "pkg/sub/local2.py", "pkg/x/local.py",
    "pkg/anchored/a.py", "pkg/sub/anchored/a.py", "pkg/a.ipynb", "pkg/keep1.ipynb",
    "pkg/sub/nb.ipynb", "pkg/sub/keepme.ipynb", "pkg/sub/deeper/a.py",
    "pkg/sub/deeper/b.ipynb", "pkg/sub/deeper/d/c.py", "other/#literal.py",
    "other/!bang.py", "other/fine.py", "top.py", "top.ipynb",
]


def _git_untracked_not_ignored(repo: Path, sub: Optional[str] = None) -> List[str]:
    args = ["ls-files", "-z", "--others", "--exclude-standard"]
    if sub:
        args += ["--", sub]
    out = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True).stdout
    return sorted(
        os.fsdecode(p) for p in out.split(b"\0")
        if p and (p.endswith(b".py") or p.endswith(b".ipynb"))
    )


def test_matches_git_ls_files_on_a_tricky_tree(tmp_path):
    repo = init_repo(tmp_path / "repo")
    for rel, text in GIT_COMPARISON_TREE.items():
        write(repo / rel, text)
    make(repo, GIT_COMPARISON_FILES)
    expected = _git_untracked_not_ignored(repo)
    assert sorted(found(repo)) == expected
    assert len(expected) > 10  # the tree really exercises both sides
    for sub in ("pkg", "pkg/sub", "data", "data/keep", "notes/a"):
        expected = _git_untracked_not_ignored(repo, sub)
        assert sorted(sub + "/" + r for r in found(repo / sub)) == expected, sub


_FUZZ_PIECES = ["a", "b", "*", "**", "*.py", "x_*", "lib", "sub", "a.py", "?.py", "[ab]",
                "[ab].py", "[!a]*", "x_?", "*a*", "l*b", "c.py"]
_FUZZ_DIRS = ["a", "b", "lib", "sub", "x_a"]
_FUZZ_FILES = ["a.py", "b.py", "x_a.py", "c.py", "lib.py"]


def _random_pattern(rng: random.Random) -> str:
    pattern = "/".join(rng.choice(_FUZZ_PIECES) for _ in range(rng.choice([1, 1, 1, 2, 2, 3])))
    if rng.random() < 0.2:
        pattern = "/" + pattern
    if rng.random() < 0.25:
        pattern += "/"
    if rng.random() < 0.3:
        pattern = "!" + pattern
    return pattern


@pytest.mark.parametrize("seed", range(40))
def test_matches_git_on_random_trees(tmp_path, seed):
    """Random nested .gitignore files (negations, **, anchors, directory-only
    patterns, character classes) must give exactly git's answer."""
    rng = random.Random(seed)
    repo = init_repo(tmp_path / "repo")
    files = set()
    for _ in range(40):
        parts = [rng.choice(_FUZZ_DIRS) for _ in range(rng.randint(0, 3))]
        files.add("/".join(parts + [rng.choice(_FUZZ_FILES)]))
    dirs = {"/".join(f.split("/")[:i]) for f in files for i in range(1, f.count("/") + 1)}
    make(repo, sorted(files - dirs))
    candidates = [""] + sorted(dirs)
    for d in rng.sample(candidates, min(len(candidates), rng.randint(1, 5))):
        lines = [_random_pattern(rng) for _ in range(rng.randint(1, 4))]
        write(repo / d / ".gitignore", "\n".join(lines) + "\n")
    assert sorted(found(repo)) == _git_untracked_not_ignored(repo)
    for sub in sorted(dirs)[:3]:
        got = sorted(sub + "/" + r for r in found(repo / sub))
        assert got == _git_untracked_not_ignored(repo, sub), sub


# ---------------------------------------------------------------- default excludes


def test_default_excludes_constant():
    for name in (".git", ".venv", "venv", ".tox", ".nox", "site-packages", "node_modules",
                 "__pycache__", "build", "dist", ".eggs", "*.egg-info", ".mypy_cache",
                 ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", ".direnv", ".hg",
                 ".svn", "dist-packages"):
        assert name in DEFAULT_EXCLUDES


def test_default_excluded_directories_are_not_descended(tmp_path):
    names = [n.replace("*", "mypkg") for n in DEFAULT_EXCLUDES]
    make(tmp_path, [f"{n}/x.py" for n in names] + [f"pkg/{n}/y.py" for n in names]
         + ["keep.py", "pkg/keep.py", "environment/e.py", "builder/b.py"])
    assert found(tmp_path) == ["builder/b.py", "environment/e.py", "keep.py", "pkg/keep.py"]


def test_virtualenv_detected_by_pyvenv_cfg(tmp_path):
    make(tmp_path, ["myenv/pyvenv.cfg", "myenv/lib/python3.11/site-packages/openai/x.py",
                    "myenv/bin/tool.py", "env/pyvenv.cfg", "env/a.py", "condaenv/conda-meta/",
                    "condaenv/lib/z.py", "env2/a.py", "app.py"])
    assert found(tmp_path) == ["app.py", "env2/a.py"]


def test_explicit_default_excluded_directory_is_walked(tmp_path):
    make(tmp_path, ["build/gen.py", "build/__pycache__/x.py", "myenv/pyvenv.cfg",
                    "myenv/tool.py"])
    assert list(discover([tmp_path / "build"])) == [tmp_path / "build" / "gen.py"]
    assert list(discover([tmp_path / "myenv"])) == [tmp_path / "myenv" / "tool.py"]


# ---------------------------------------------------------------- --exclude


@pytest.fixture
def exclude_tree(tmp_path, monkeypatch):
    make(tmp_path, ["proj/legacy.py", "proj/app.py", "proj/tests/t1.py", "proj/tests/keep.py",
                    "proj/tests/unit/t2.py", "proj/pkg/legacy.py", "proj/pkg/tests/t3.py",
                    "proj/vendor/v.py", "proj/nb.ipynb", "proj/src/legacy_old.py"])
    monkeypatch.chdir(tmp_path)
    return tmp_path / "proj"


def test_exclude_bare_name_matches_anywhere(exclude_tree):
    assert "legacy.py" not in found(exclude_tree, excludes=["legacy.py"])
    assert "pkg/legacy.py" not in found(exclude_tree, excludes=["legacy.py"])
    assert "src/legacy_old.py" in found(exclude_tree, excludes=["legacy.py"])


def test_exclude_path_glob_relative_to_root(exclude_tree):
    out = found(exclude_tree, excludes=["tests/*"])
    assert not any(p.startswith("tests/") for p in out)
    assert "pkg/tests/t3.py" in out  # anchored: only <root>/tests


def test_exclude_directory_and_glob_forms(exclude_tree):
    assert found(exclude_tree, excludes=["tests", "vendor/", "*.ipynb", "legacy*"]) == [
        "app.py",
    ]


def test_exclude_negation(exclude_tree):
    out = found(exclude_tree, excludes=["tests/*", "!tests/keep.py"])
    assert "tests/keep.py" in out and "tests/t1.py" not in out


def test_exclude_matches_displayed_path(exclude_tree):
    # cwd is exclude_tree.parent; the user writes the path as they see it
    out = list(discover([Path("proj")], excludes=["proj/pkg/legacy.py", "proj/tests"]))
    assert Path("proj/pkg/legacy.py") not in out
    assert Path("proj/legacy.py") in out
    assert not any("tests" in p.parts for p in out if p.parts[1] == "tests")


def test_exclude_leading_dot_slash(exclude_tree):
    out = found(exclude_tree, excludes=["./tests", "./pkg/legacy.py"])
    assert not any(p.startswith("tests/") for p in out)
    assert "pkg/legacy.py" not in out and "legacy.py" in out


def test_exclude_does_not_apply_to_explicit_files(exclude_tree):
    f = exclude_tree / "legacy.py"
    assert list(discover([f], excludes=["legacy.py"])) == [f]


# ---------------------------------------------------------------- explicit files


def test_explicit_file_always_yielded(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "ignored.py\nout/\n")
    make(repo, ["ignored.py", "out/gen.py", "script.txt", "node_modules/pkg/x.py", "x.py"])
    given = [repo / "ignored.py", repo / "out" / "gen.py", repo / "script.txt",
             repo / "node_modules" / "pkg" / "x.py"]
    assert list(discover(given, excludes=["*.py"])) == given


@needs_symlinks
def test_explicit_symlinked_file_is_yielded(tmp_path):
    make(tmp_path, ["real.py"])
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    assert list(discover([tmp_path / "link.py"])) == [tmp_path / "link.py"]


# ---------------------------------------------------------------- symlinks


@needs_symlinks
def test_symlinked_directory_not_followed_and_reported(tmp_path):
    make(tmp_path, ["outside/secret.py", "proj/a.py"])
    (tmp_path / "proj" / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    (tmp_path / "proj" / "loop").symlink_to(tmp_path / "proj", target_is_directory=True)
    result = discover_all([tmp_path / "proj"])
    assert result.files == [tmp_path / "proj" / "a.py"]
    assert result.skipped == [
        Skipped(tmp_path / "proj" / "linked", SKIP_SYMLINK_DIR),
        Skipped(tmp_path / "proj" / "loop", SKIP_SYMLINK_DIR),
    ]


@needs_symlinks
def test_symlinked_file_skipped_and_reported(tmp_path):
    make(tmp_path, ["proj/real.py", "proj/data.txt"])
    proj = tmp_path / "proj"
    (proj / "alias.py").symlink_to(proj / "real.py")
    (proj / "dangling.py").symlink_to(proj / "missing.py")
    (proj / "data_link.txt").symlink_to(proj / "data.txt")  # wrong suffix: silent
    skipped: List[Skipped] = []
    assert list(discover([proj], skipped=skipped)) == [proj / "real.py"]
    assert skipped == [Skipped(proj / "alias.py", SKIP_SYMLINK),
                       Skipped(proj / "dangling.py", SKIP_SYMLINK)]
    assert SKIP_SYMLINK.startswith("symlink")


@needs_symlinks
def test_ignored_or_excluded_symlinks_are_not_reported(tmp_path):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "ign*\n")
    make(repo, ["real.py", "d/x.py"])
    (repo / "ign.py").symlink_to(repo / "real.py")
    (repo / "ign_dir").symlink_to(repo / "d", target_is_directory=True)
    (repo / "excl.py").symlink_to(repo / "real.py")
    (repo / "node_modules").symlink_to(repo / "d", target_is_directory=True)
    result = discover_all([repo], excludes=["excl.py"])
    assert rels(result.files, repo) == ["d/x.py", "real.py"]
    assert result.skipped == []


@needs_symlinks
def test_explicit_symlinked_directory_is_walked_and_deduplicated(tmp_path):
    make(tmp_path, ["real/a.py"])
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    assert list(discover([tmp_path / "alias", tmp_path / "real"])) == [
        tmp_path / "alias" / "a.py",
    ]


def test_unreadable_directory_is_reported(tmp_path, monkeypatch):
    make(tmp_path, ["ok/a.py", "locked/b.py"])
    real_list_dir = discovery._list_dir

    def fake_list_dir(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_list_dir(path)

    monkeypatch.setattr(discovery, "_list_dir", fake_list_dir)
    result = discover_all([tmp_path])
    assert result.files == [tmp_path / "ok" / "a.py"]
    assert len(result.skipped) == 1
    assert result.skipped[0].path == tmp_path / "locked"
    assert result.skipped[0].reason.startswith(SKIP_UNREADABLE_DIR)


@pytest.mark.skipif(
    os.name == "nt" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="needs POSIX permissions enforced (not root)",
)
def test_unreadable_directory_for_real(tmp_path):
    make(tmp_path, ["ok/a.py", "locked/b.py"])
    os.chmod(tmp_path / "locked", 0)
    try:
        result = discover_all([tmp_path])
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    assert result.files == [tmp_path / "ok" / "a.py"]
    assert [s.path for s in result.skipped] == [tmp_path / "locked"]


# ---------------------------------------------------------------- scale


def test_specs_compiled_once_per_directory(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "\n".join(f"ignored_{i}_*.py" for i in range(60)) + "\n")
    write(repo / "pkg3" / ".gitignore", "x.py\n")
    for d in range(20):
        make(repo, [f"pkg{d}/sub/m{i}.py" for i in range(25)])
    make(repo, ["pkg3/x.py", "ignored_7_a.py"])
    built = []
    real_init = discovery._IgnoreContext.__init__

    def counting_init(self, patterns, *rest):
        built.append(len(patterns))
        real_init(self, patterns, *rest)

    monkeypatch.setattr(discovery._IgnoreContext, "__init__", counting_init)
    out = found(repo)
    assert len(out) == 500
    assert "pkg3/x.py" not in out and "ignored_7_a.py" not in out
    # repo context (info/exclude), root .gitignore, pkg3/.gitignore
    assert len(built) == 3


def test_many_files_is_fast(tmp_path):
    import time

    repo = init_repo(tmp_path / "repo")
    write(repo / ".gitignore", "\n".join(
        [f"pattern_{i}/" for i in range(60)] + [f"*.ext{i}" for i in range(60)]
        + ["!keep.ext1", "/anchored/path/", "**/deep/**/x.py"]) + "\n")
    for d in range(100):
        make(repo, [f"p{d}/s{j}/m{i}.py" for j in range(5) for i in range(20)])
    start = time.perf_counter()
    for _ in os.walk(repo):
        pass
    walk = time.perf_counter() - start
    start = time.perf_counter()
    n = sum(1 for _ in discover([repo]))
    elapsed = time.perf_counter() - start
    assert n == 10_000
    # generous bound to stay robust on slow CI machines
    assert elapsed < max(2.0, 40 * walk), (elapsed, walk)


def test_temporary_files_left_by_a_killed_run_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from migrator import writer
    from migrator.discovery import SKIP_LEFTOVER

    target = tmp_path / "app.py"
    target.write_bytes(b"old\n")

    # what a SIGKILL between writing the temporary file and renaming it leaves: the writer's own naming
    def killed(tmp: str, dst: str) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(writer, "_replace", killed)
    monkeypatch.setattr(writer.os, "unlink", lambda path: None)  # a killed process cleans nothing up
    with pytest.raises(SystemExit):
        writer.atomic_write(target, b"new\n")
    monkeypatch.undo()
    (leftover,) = [p for p in tmp_path.iterdir() if p.name != "app.py"]
    (tmp_path / "notes.tmp").write_text("a user's own file\n")

    result = discover_all([tmp_path])
    assert [p.name for p in result.files] == ["app.py"]
    assert [(s.path.name, s.reason) for s in result.skipped] == [(leftover.name, SKIP_LEFTOVER)]
    assert "safe to delete" in SKIP_LEFTOVER


@pytest.mark.parametrize("ignorecase", [True, False])
def test_core_ignorecase_matches_ignore_patterns_like_git(tmp_path: Path, ignorecase: bool) -> None:
    # git init sets core.ignorecase on Windows and macOS; git then ignores legacy/ for a "Legacy/" pattern,
    # and a walk that did not would hand the git guard files it then refuses as ignored
    repo = init_repo(tmp_path / "repo")
    git(repo, "config", "core.ignorecase", "true" if ignorecase else "false")
    make(repo, ["app.py", "legacy/old.py", "Gen/Made.py", "sub/NOTES.py", "sub/keep.py"])
    write(repo / ".gitignore", "Legacy/\ngen/made.py\n")
    write(repo / "sub" / ".gitignore", "notes.py\n")
    expected = sorted(p for p in git(repo, "ls-files", "--others", "--exclude-standard").split() if p.endswith(".py"))
    assert sorted(found(repo)) == expected
    if ignorecase:
        assert expected == ["app.py", "sub/keep.py"]
    else:
        assert "legacy/old.py" in expected and "sub/NOTES.py" in expected
