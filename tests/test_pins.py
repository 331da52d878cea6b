"""Dependency pins: one fixture folder per file format, exact bytes; the version rules; pip command lines.

Layout: ``fixtures/pins/<format>/<case>/<file>`` is the input (its real name, which chooses the format;
a ``requirements/`` folder is part of the name where it matters) and ``<file>.expected`` the exact
output. A case without an expected file must come out unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.pins import (
    _conda_keeps_old,
    _poetry_keeps_old,
    _toml_still_equivalent,
    is_lock_file,
    is_pin_file,
    keeps_old_sdk,
    migrate_pip_command,
    migrate_pip_commands,
    migrate_requirement,
    migrate_requirements_file,
    pin_file_kind,
    relock_hint,
)

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "pins"
CASES = sorted(p for p in ROOT.rglob("*") if p.is_file() and not p.name.endswith(".expected"))


def _name(case: Path) -> str:
    """The path the tool sees: relative to the case folder (``requirements/base.txt``)."""
    return "/".join(case.relative_to(ROOT).parts[2:])


def _expected(case: Path) -> Path:
    return case.with_name(case.name + ".expected")


@pytest.mark.parametrize("case", CASES, ids=lambda p: "/".join(p.relative_to(ROOT).parts))
def test_pin_fixture(case: Path) -> None:
    result = migrate_requirements_file(_name(case), case.read_bytes())
    assert result.error is None
    if not _expected(case).exists():
        assert result.new is None and result.changes == []
        return
    assert result.new is not None
    assert result.new.decode() == _expected(case).read_bytes().decode()
    assert result.new == _expected(case).read_bytes()
    assert result.changes


@pytest.mark.parametrize("case", CASES, ids=lambda p: "/".join(p.relative_to(ROOT).parts))
def test_pin_fixture_second_run_changes_nothing(case: Path) -> None:
    expected = _expected(case) if _expected(case).exists() else case
    result = migrate_requirements_file(_name(case), expected.read_bytes())
    assert result.error is None and result.new is None


def test_every_format_has_a_changing_fixture() -> None:
    formats = {case.relative_to(ROOT).parts[0] for case in CASES if _expected(case).exists()}
    assert formats == {"requirements", "pyproject", "setup_py", "setup_cfg", "pipfile", "conda", "dockerfile"}
    kinds = {pin_file_kind(_name(case)) for case in CASES}
    assert kinds == {"requirements", "pyproject", "setup.py", "setup.cfg", "pipfile", "conda", "dockerfile"}


def test_change_descriptions_and_notes() -> None:
    poetry = ROOT / "pyproject" / "poetry" / "pyproject.toml"
    assert migrate_requirements_file("pyproject.toml", poetry.read_bytes()).changes == [
        "line 9: openai ^0.28 -> openai >=1.0", "line 14: openai ~0.27.8 -> openai >=1.0"]
    hashed = ROOT / "requirements" / "hashes" / "requirements.txt"
    result = migrate_requirements_file("requirements.txt", hashed.read_bytes())
    assert result.new is None
    assert result.notes == ["line 7: openai==0.28.1 is hash-pinned (a lock file): re-lock it for openai>=1.0"]


@pytest.mark.parametrize("specifier, old", [
    ("==0.28.1", True), ("==0.28", True), ("<1", True), ("<1.0.0", True), ("~=0.27", True), ("~=0.27.0", True),
    (">=0.27,<1.0", True), ("==0.28.*", True), ("<=0.28.1", True), ("(==0.28)", True), ("<1.0.0rc1", True),
    (">=0.27", False), (">=1.2", False), ("", False), ("!=1.0.0", False), (">1.0,<1.1", False),
    ("~=1.3", False), ("==1.*", False), ("==1.0.0b1", False), ("<2", False), ("garbage", False),
])
def test_keeps_old_sdk(specifier: str, old: bool) -> None:
    assert keeps_old_sdk(specifier) is old


@pytest.mark.parametrize("constraint, old", [
    ("^0.28", True), ("^0.27.8", True), ("~0.27.8", True), ("0.28.1", True), ("0.28.*", True), (">= 0.27, < 1.0", True),
    ("^0.28 || ^0.27", True), ("=0.28.1", True), (">=0.27 <1", True),
    ("^1.0", False), ("*", False), (">=0.27", False), ("^0.28 || ^1.3", False), ("~1", False), ("^0", True),
])
def test_poetry_constraints(constraint: str, old: bool) -> None:
    assert _poetry_keeps_old(constraint) is old


@pytest.mark.parametrize("spec, old", [
    ("=0.28", True), ("==0.28.1", True), ("0.27.*", True), (">=0.27,<1", True), ("0.27|0.28", True), ("=0", True),
    (">=1.3", False), ("=1", False), ("0.28|1.2", False), ("", False),
])
def test_conda_specs(spec: str, old: bool) -> None:
    assert _conda_keeps_old(spec) is old


@pytest.mark.parametrize("requirement, new", [
    ("openai==0.28.1", "openai>=1.0"),
    ("OpenAI[datalib]==0.27.8; python_version >= '3.8'", "OpenAI[datalib]>=1.0; python_version >= '3.8'"),
    ("openai == 0.28", "openai >=1.0"),
    ("openai (==0.28)", "openai (>=1.0)"),
    ("openai>=0.27,<1.0", "openai>=1.0"),
    ("openai>=0.27", None), ("openai", None), ("openai-whisper==0.1", None), ("langchain-openai==0.0.2", None),
    ("openai @ https://example.test/openai-0.28.1.tar.gz", None), ("openai==0.28 and more words", None),
])
def test_migrate_requirement(requirement: str, new) -> None:
    assert migrate_requirement(requirement) == new


@pytest.mark.parametrize("line, new", [
    ("!pip install openai==0.28", '!pip install "openai>=1.0"'),
    ("%pip install -q 'openai<1' tiktoken", "%pip install -q 'openai>=1.0' tiktoken"),
    ("!pip install --upgrade openai==0.27.8 langchain==0.0.1", '!pip install --upgrade "openai>=1.0" langchain==0.0.1'),
    ("!{sys.executable} -m pip install openai==0.28", '!{sys.executable} -m pip install "openai>=1.0"'),
    ("!python3 -m pip install -U \"openai[datalib]==0.28.1\"", '!python3 -m pip install -U "openai[datalib]>=1.0"'),
    ("!pip3 -q install openai~=0.27.0", '!pip3 -q install "openai>=1.0"'),
    ("!uv pip install openai==0.28.1", '!uv pip install "openai>=1.0"'),
    ("!conda install -y -c conda-forge openai=0.28", '!conda install -y -c conda-forge "openai>=1.0"'),
    ("# MAGIC %pip install openai==0.28.1", '# MAGIC %pip install "openai>=1.0"'),
    ("RUN pip install --no-cache-dir openai==0.28.1 && echo ok", 'RUN pip install --no-cache-dir "openai>=1.0" && echo ok'),
    ("!pip install -r requirements.txt openai", None),
    ("!pip install -c openai==0.28 x", None),  # the value of -c, not a requirement
    ("!pip install -U openai", None),
    ("!pip install 'openai>=1.2'", None),
    ("!echo openai==0.28", None),
    ("!pip download openai==0.28", None),
    ("!pip install openai==0.28 # pinned: openai==0.27", '!pip install "openai>=1.0" # pinned: openai==0.27'),
])
def test_pip_commands(line: str, new) -> None:
    assert migrate_pip_command(line) == new


def test_pip_command_over_continuation_lines() -> None:
    text = "!pip install -q \\\n    openai==0.28.1 \\\n    tiktoken\nprint('openai==0.28')\n"
    new, edits = migrate_pip_commands(text)
    assert new == "!pip install -q \\\n    \"openai>=1.0\" \\\n    tiktoken\nprint('openai==0.28')\n"
    assert edits == [("openai==0.28.1", '"openai>=1.0"')]


@pytest.mark.parametrize("name, kind", [
    ("requirements.txt", "requirements"), ("requirements-dev.txt", "requirements"),
    ("dev_requirements.txt", "requirements"), ("requirements/base.txt", "requirements"),
    ("a/b/requirements.in", "requirements"), ("dev.in", "requirements"), ("constraints.txt", "requirements"),
    ("pyproject.toml", "pyproject"), ("pkg/setup.py", "setup.py"), ("setup.cfg", "setup.cfg"), ("Pipfile", "pipfile"),
    ("environment.yml", "conda"), ("environment-gpu.yaml", "conda"), ("Dockerfile", "dockerfile"),
    ("Dockerfile.dev", "dockerfile"), ("api.dockerfile", "dockerfile"),
    ("notes.txt", None), ("MANIFEST.in", None), ("poetry.lock", None), ("Pipfile.lock", None), ("uv.lock", None),
    ("config.yml", None), ("tox.ini", None), ("main.py", None),
])
def test_pin_file_kind(name: str, kind) -> None:
    assert pin_file_kind(name) == kind
    assert is_pin_file(name) is (kind is not None)


@pytest.mark.parametrize("name", ["poetry.lock", "Pipfile.lock", "pdm.lock", "uv.lock", "conda-lock.yml", "x/poetry.lock",
                                  "requirements.lock", "pylock.toml", "pylock.dev.toml"])
def test_lock_files(name: str) -> None:
    assert is_lock_file(name)
    assert migrate_requirements_file(name, b'openai = "0.28.1"').new is None


def test_unknown_files_and_other_bytes() -> None:
    assert migrate_requirements_file("README.md", b"openai==0.28").new is None
    assert migrate_requirements_file("requirements.txt", b"numpy\n").new is None
    assert migrate_requirements_file("requirements.txt", b"openai==0.28 \xff\n").error == "cannot decode: not UTF-8 text"
    bom = migrate_requirements_file("requirements.txt", b"\xef\xbb\xbfopenai==0.28\n")
    assert bom.new == b"\xef\xbb\xbfopenai>=1.0\n"
    cr = migrate_requirements_file("requirements.txt", b"a\ropenai<1\rb")
    assert cr.new == b"a\ropenai>=1.0\rb"


def test_setup_py_with_other_encoding_and_fstrings() -> None:
    source = '# -*- coding: latin-1 -*-\nsetup(name="caf\xe9", install_requires=[f"openai=={V}", "openai==0.28"])\n'
    result = migrate_requirements_file("setup.py", source.encode("latin-1"))
    assert result.new == source.replace('"openai==0.28"', '"openai>=1.0"').encode("latin-1")


def test_toml_values_are_checked() -> None:
    old = 'a = ["openai==0.28"]\n'
    assert _toml_still_equivalent(old, 'a = ["openai>=1.0"]\n', [("openai==0.28", "openai>=1.0")])
    assert not _toml_still_equivalent(old, 'a = ["openai>=1.0", "x"]\n', [("openai==0.28", "openai>=1.0")])
    assert not _toml_still_equivalent(old, 'a = ["openai>=1.0"\n', [("openai==0.28", "openai>=1.0")])


def test_toml_strings_with_escapes_or_multiline_are_left() -> None:
    text = 'dependencies = [\n  "openai\\u003d=0.28",\n  """openai==0.28""",\n]\n'
    assert migrate_requirements_file("pyproject.toml", text.encode()).new is None


def test_yaml_quoting() -> None:
    text = "dependencies:\n  - openai<1\n  - 'openai=0.28'  # quoted\n  - pip:\n    - openai==0.28  # pip\n"
    result = migrate_requirements_file("environment.yml", text.encode())
    assert result.new == (b"dependencies:\n  - openai>=1.0\n  - 'openai>=1.0'  # quoted\n  - pip:\n"
                          b"    - openai>=1.0  # pip\n")


def test_relock_hint() -> None:
    assert relock_hint("app/poetry.lock") == "app/poetry.lock: still locks the old openai; re-lock (poetry lock)"
    assert relock_hint("Pipfile.lock") == "Pipfile.lock: still locks the old openai; re-lock (pipenv lock)"
    assert relock_hint("deps.lock") == "deps.lock: still locks the old openai; re-lock"


def test_discovery_suffixes_cover_every_kind() -> None:
    from migrator.pins import LOCK_FILE_SUFFIXES, PIN_FILE_SUFFIXES

    for name in ("requirements.txt", "dev.in", "pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "environment.yml",
                 "environment.yaml", "Dockerfile", "api.dockerfile"):
        assert name.endswith(PIN_FILE_SUFFIXES) and pin_file_kind(name) is not None
    for name in ("poetry.lock", "Pipfile.lock", "uv.lock", "pylock.toml", "conda-lock.yml"):
        assert name.endswith(LOCK_FILE_SUFFIXES) and is_lock_file(name)
