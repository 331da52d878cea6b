"""Adopting the tool as the README says: its pre-commit snippet and its GitHub Actions step, run for real.

The hook repository is built from the current working tree (uncommitted edits included) and committed in a
temporary directory; the README's ``.pre-commit-config.yaml`` snippet is pointed at it (``OWNER`` URL -> path,
``TAG`` -> the commit) and run by the real ``pre-commit`` in a throw-away consumer repository, which installs the
hook into its own environment once per module (``PRE_COMMIT_HOME`` is shared). The Actions step's ``run:`` lines
are run by bash, its ``pip install`` line pointed at the same commit and executed in a fresh virtual environment.
Git and pre-commit never read the user's configuration (``HOME`` and the git config files are temporary); pip
still reaches the package index for the hook's dependencies.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from tests.gitutil import git, init_repo

PROJECT = Path(__file__).resolve().parent.parent
README = PROJECT / "README.md"
URL_PLACEHOLDER = "https://github.com/OWNER/openai-migrate"
INSTALL_LINE = f"pip install git+{URL_PLACEHOLDER}@TAG"

OLD = ('import openai\nopenai.api_key = "sk-x"\n'
       'r = openai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])\n'
       'print(r["choices"][0]["message"]["content"])\n')
CLEAN = ('from openai import OpenAI\nclient = OpenAI()\n'
         'r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])\n'
         'print(r.choices[0].message.content)\n')
OLD_NOTEBOOK = nbformat.writes(new_notebook(cells=[new_code_cell(
    'import openai\nr = openai.Completion.create(model="gpt-3.5-turbo-instruct", prompt="hi")\n'
    'print(r["choices"][0]["text"])')]))

TIMEOUT = 600  # seconds; the first pre-commit run builds the hook's environment (pip, the package index)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


# --- the README's snippets -----------------------------------------------------------------------------------

def _indented_blocks(text: str) -> List[str]:
    """The README's indented code blocks (4+ spaces after a blank line), dedented."""
    blocks: List[str] = []
    current: List[str] = []
    previous_blank = True
    for line in text.splitlines():
        if current and (line.startswith("    ") or not line.strip()):
            current.append(line)
        elif previous_blank and line.startswith("    ") and line.strip():
            current = [line]
        else:
            if current:
                blocks.append(textwrap.dedent("\n".join(current)).strip("\n") + "\n")
            current = []
        previous_blank = not line.strip()
    if current:
        blocks.append(textwrap.dedent("\n".join(current)).strip("\n") + "\n")
    return blocks


def _only(blocks: List[str], what: str) -> str:
    assert len(blocks) == 1, f"expected exactly one README block with {what}, found {len(blocks)}"
    return blocks[0]


def readme_precommit_config() -> str:
    """The ``.pre-commit-config.yaml`` snippet: the indented block that starts with ``repos:``."""
    return _only([b for b in _indented_blocks(README.read_text(encoding="utf-8")) if b.startswith("repos:")],
                 "a .pre-commit-config.yaml (starting with 'repos:')")


def readme_actions_step() -> str:
    """The GitHub Actions snippet: the indented block with a ``run: |`` that calls openai-migrate."""
    return _only([b for b in _indented_blocks(README.read_text(encoding="utf-8"))
                  if re.search(r"^\s*(- )?run: \|", b, re.M) and "openai-migrate" in b],
                 "a GitHub Actions step ('run: |' calling openai-migrate)")


def _actions_run_lines() -> List[str]:
    steps = yaml.safe_load(readme_actions_step())
    assert isinstance(steps, list) and len(steps) == 1 and isinstance(steps[0], dict), steps
    assert set(steps[0]) == {"name", "run"}, steps[0]
    return [line for line in steps[0]["run"].splitlines() if line.strip()]


def _consumer_config(hook_repo: Path, sha: str, fix: bool = False) -> str:
    """The README's snippet with the placeholders filled in; ``fix``: the fix hook instead of the check hook."""
    config = readme_precommit_config()
    assert URL_PLACEHOLDER in config and re.search(r"^\s*rev: TAG\b", config, re.M), config
    config = config.replace(URL_PLACEHOLDER, str(hook_repo))
    config = re.sub(r"^(\s*rev: )TAG\b", rf"\g<1>{sha}", config, flags=re.M)
    if fix:
        check_line = re.compile(r"^(\s*)- id: openai-migrate(?![-\w])", re.M)
        assert check_line.search(config), config
        commented_fix = re.compile(r"^(\s*)#\s*(- id: openai-migrate-fix\b)", re.M)
        if commented_fix.search(config):  # as the README suggests: uncomment it, instead of the check hook
            config = commented_fix.sub(r"\1\2", config)
            config = check_line.sub(r"\1# - id: openai-migrate", config)
        else:
            config = check_line.sub(r"\1- id: openai-migrate-fix", config)
    return config


# --- the sandbox: isolated git, the hook repository, a consumer repository --------------------------------------

@dataclass
class Sandbox:
    root: Path
    hook_repo: Path
    sha: str


def _working_tree_files(root: Path) -> List[str]:
    """Tracked files plus untracked, not ignored ones (by the developer's own git configuration)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         check=True, capture_output=True, text=True).stdout
    return sorted({name for name in out.split("\0") if name})


def _user_pip_config() -> Optional[str]:
    """The user's own pip configuration file, which would be lost when ``HOME`` moves (an index mirror, say)."""
    if os.environ.get("PIP_CONFIG_FILE"):
        return None
    home = Path.home()
    candidates = [Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf",
                  home / ".pip" / "pip.conf", home / "Library" / "Application Support" / "pip" / "pip.conf"]
    return next((str(path) for path in candidates if path.is_file()), None)


def _isolate(mp: pytest.MonkeyPatch, root: Path) -> None:
    """Environment for git, pre-commit and pip: no user or system git configuration, a fixed identity.

    pre-commit drops ``GIT_CONFIG_GLOBAL`` (every ``GIT_*`` but a few) when it clones the hook repository, so
    ``HOME`` and ``XDG_CONFIG_HOME`` move too; pip keeps its cache (``XDG_CACHE_HOME``) and the user's pip file.
    """
    pip_config = _user_pip_config()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for name in list(os.environ):
        if name.startswith(("GIT_", "PRE_COMMIT")) or name in {"SKIP", "PYTHONPATH", "FORCE_COLOR"}:
            mp.delenv(name)
    home = root / "home"
    home.mkdir()
    (root / "gitconfig").write_text("", encoding="utf-8")
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    mp.setenv("XDG_CACHE_HOME", cache)
    mp.setenv("GIT_CONFIG_GLOBAL", str(root / "gitconfig"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{role}_NAME", "Test")
        mp.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    mp.setenv("PRE_COMMIT_HOME", str(root / "pre-commit-home"))
    mp.setenv("NO_COLOR", "1")
    if pip_config:
        mp.setenv("PIP_CONFIG_FILE", pip_config)


def _build_hook_repo(path: Path, files: List[str]) -> str:
    for name in files:
        source = PROJECT / name
        if not os.path.lexists(source) or (source.is_dir() and not source.is_symlink()):
            continue  # deleted in the working tree, or a submodule
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    init_repo(path)
    git(path, "add", "-A")
    git(path, "commit", "-q", "--no-verify", "-m", "openai-migrate from the working tree")
    return git(path, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    files = _working_tree_files(PROJECT)  # before the isolation: the developer's own ignores count
    assert ".pre-commit-hooks.yaml" in files and "pyproject.toml" in files, files
    root = tmp_path_factory.mktemp("precommit")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, root)
        hook_repo = root / "hook-repo"
        yield Sandbox(root, hook_repo, _build_hook_repo(hook_repo, files))


def _write_config(repo: Path, sandbox: Sandbox, fix: bool) -> None:
    (repo / ".pre-commit-config.yaml").write_text(_consumer_config(sandbox.hook_repo, sandbox.sha, fix=fix),
                                                  encoding="utf-8")


@pytest.fixture
def consumer(sandbox: Sandbox, tmp_path: Path) -> Path:
    """A committed repository: 0.28 code (``old.py``, ``old.ipynb``), 1.x code, the README's check config."""
    repo = init_repo(tmp_path / "consumer")
    (repo / "old.py").write_text(OLD, encoding="utf-8")
    (repo / "old.ipynb").write_text(OLD_NOTEBOOK, encoding="utf-8")
    (repo / "clean.py").write_text(CLEAN, encoding="utf-8")
    _write_config(repo, sandbox, fix=False)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def _run(args: List[str], cwd: Path, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess:
    proc = _run([sys.executable, "-m", "pre_commit", *args], repo)
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout
    return proc


def _would_change(output: str) -> List[str]:
    return sorted(re.findall(r"^would change: (\S+)$", output, re.M))


def _assert_migrated(text: str) -> None:
    assert "client.chat.completions.create(" in text, text
    assert "r.choices[0].message.content" in text, text
    assert "openai.ChatCompletion" not in text and '["choices"]' not in text, text


# --- the tests ---------------------------------------------------------------------------------------------------

def test_readme_snippets_match_the_shipped_hooks() -> None:
    config = yaml.safe_load(readme_precommit_config())
    manifest = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == URL_PLACEHOLDER and repo["rev"] == "TAG", repo
    assert [hook["id"] for hook in repo["hooks"]] == ["openai-migrate"]
    assert "# - id: openai-migrate-fix" in readme_precommit_config()
    hooks = {hook["id"]: hook for hook in manifest}
    assert set(hooks) == {"openai-migrate", "openai-migrate-fix"}
    check, fix = hooks["openai-migrate"]["entry"].split(), hooks["openai-migrate-fix"]["entry"].split()
    assert check[0] == fix[0] == "openai-migrate", (check, fix)
    assert "--check" in check and "--allow-dirty" not in check, check
    assert "--allow-dirty" in fix and "--check" not in fix and "--dry-run" not in fix, fix

    lines = _actions_run_lines()
    assert [line for line in lines if line.startswith("pip ")] == [INSTALL_LINE], lines
    assert lines[-1] == "openai-migrate --check .", lines


def test_check_hook_fails_on_028_code_and_changes_nothing(sandbox: Sandbox, consumer: Path) -> None:
    proc = pre_commit(consumer, "run", "--all-files")
    assert proc.returncode == 1, proc.stdout
    assert re.search(r"^openai-migrate \(check\)\.+Failed$", proc.stdout, re.M), proc.stdout
    assert "- hook id: openai-migrate\n" in proc.stdout and "- exit code: 1" in proc.stdout, proc.stdout
    assert _would_change(proc.stdout) == ["old.ipynb", "old.py"], proc.stdout
    assert (consumer / "old.py").read_text(encoding="utf-8") == OLD
    assert (consumer / "old.ipynb").read_text(encoding="utf-8") == OLD_NOTEBOOK
    assert git(consumer, "status", "--porcelain") == ""


def test_fix_hook_migrates_then_passes(sandbox: Sandbox, consumer: Path) -> None:
    _write_config(consumer, sandbox, fix=True)
    git(consumer, "commit", "-q", "-am", "use the fix hook")
    (repo,) = yaml.safe_load((consumer / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"]
    assert [hook["id"] for hook in repo["hooks"]] == ["openai-migrate-fix"], repo

    first = pre_commit(consumer, "run", "--all-files")
    assert first.returncode == 1, first.stdout
    assert re.search(r"^openai-migrate \(fix\)\.+Failed$", first.stdout, re.M), first.stdout
    assert "- files were modified by this hook" in first.stdout, first.stdout
    assert "openai-migrate (check)" not in first.stdout, first.stdout
    _assert_migrated((consumer / "old.py").read_text(encoding="utf-8"))
    assert "client.completions.create(" in (consumer / "old.ipynb").read_text(encoding="utf-8")
    assert (consumer / "clean.py").read_text(encoding="utf-8") == CLEAN
    assert sorted(git(consumer, "diff", "--name-only").split()) == ["old.ipynb", "old.py"]

    second = pre_commit(consumer, "run", "--all-files")
    assert second.returncode == 0, second.stdout
    assert re.search(r"^openai-migrate \(fix\)\.+Passed$", second.stdout, re.M), second.stdout


def test_check_hook_sees_only_staged_files(sandbox: Sandbox, consumer: Path) -> None:
    (consumer / "untracked.py").write_text(OLD, encoding="utf-8")  # 0.28, never staged
    with (consumer / "clean.py").open("a", encoding="utf-8") as handle:
        handle.write("print('more')\n")
    git(consumer, "add", "clean.py")
    clean_only = pre_commit(consumer, "run")  # old.py and old.ipynb are committed, untracked.py is not staged
    assert clean_only.returncode == 0, clean_only.stdout
    assert re.search(r"^openai-migrate \(check\)\.+Passed$", clean_only.stdout, re.M), clean_only.stdout

    (consumer / "new.py").write_text(OLD, encoding="utf-8")
    git(consumer, "add", "new.py")
    proc = pre_commit(consumer, "run")
    assert proc.returncode == 1, proc.stdout
    assert _would_change(proc.stdout) == ["new.py"], proc.stdout
    assert (consumer / "new.py").read_text(encoding="utf-8") == OLD


def test_fix_hook_blocks_the_commit_until_the_migration_is_staged(sandbox: Sandbox, consumer: Path) -> None:
    _write_config(consumer, sandbox, fix=True)
    git(consumer, "commit", "-q", "-am", "use the fix hook")
    installed = pre_commit(consumer, "install")
    assert installed.returncode == 0, installed.stdout
    head = git(consumer, "rev-parse", "HEAD")

    (consumer / "new.py").write_text(OLD, encoding="utf-8")
    git(consumer, "add", "new.py")
    refused = _run(["git", "commit", "-m", "add new.py"], consumer)
    assert refused.returncode == 1, refused.stdout
    assert "- files were modified by this hook" in refused.stdout, refused.stdout
    assert git(consumer, "rev-parse", "HEAD") == head
    assert git(consumer, "show", ":new.py") == OLD  # the index still holds what was staged
    _assert_migrated((consumer / "new.py").read_text(encoding="utf-8"))

    git(consumer, "add", "new.py")
    accepted = _run(["git", "commit", "-m", "add new.py, migrated"], consumer)
    assert accepted.returncode == 0, accepted.stdout
    assert re.search(r"^openai-migrate \(fix\)\.+Passed$", accepted.stdout, re.M), accepted.stdout
    _assert_migrated(git(consumer, "show", "HEAD:new.py"))


def test_github_actions_step(sandbox: Sandbox, consumer: Path) -> None:
    lines = _actions_run_lines()
    install = [line for line in lines if line.startswith("pip ")]
    rest = [line for line in lines if not line.startswith("pip ")]
    assert install == [INSTALL_LINE] and rest, lines

    venv = sandbox.root / "actions-venv"  # a fresh one: what the step's runner has (about 8 s with the install)
    made = _run([sys.executable, "-m", "venv", str(venv)], sandbox.root)
    assert made.returncode == 0, made.stdout
    bindir = venv / "bin"
    env = dict(os.environ, VIRTUAL_ENV=str(venv), PATH=os.pathsep.join([str(bindir), os.environ["PATH"]]))
    assert Path(shutil.which("pip", path=env["PATH"])).parent == bindir

    def bash(script_lines: List[str]) -> subprocess.CompletedProcess:
        # as GitHub Actions runs a `run:` block: bash --noprofile --norc -eo pipefail
        script = sandbox.root / "step.sh"
        script.write_text("\n".join(script_lines) + "\n", encoding="utf-8")
        return _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], consumer, env)

    local = INSTALL_LINE.replace(f"git+{URL_PLACEHOLDER}@TAG", f"git+file://{sandbox.hook_repo}@{sandbox.sha}")
    installed = bash([local])
    assert installed.returncode == 0, installed.stdout
    assert (bindir / "openai-migrate").exists()

    before = bash(rest)
    assert before.returncode == 1, before.stdout
    assert _would_change(before.stdout) == ["old.ipynb", "old.py"], before.stdout
    assert (consumer / "old.py").read_text(encoding="utf-8") == OLD

    migrated = _run([str(bindir / "openai-migrate"), "-q", "."], consumer, env)
    assert migrated.returncode == 0, migrated.stdout
    _assert_migrated((consumer / "old.py").read_text(encoding="utf-8"))

    after = bash(rest)
    assert after.returncode == 0, after.stdout
    assert _would_change(after.stdout) == [], after.stdout
