"""Every fixture pair: exact bytes, the expected output parses, and a second run changes nothing.

Layout: ``fixtures/rules/<rule>/<case>.py`` is the input, ``<case>.expected.py`` the exact
output. A case without an expected file must come out unchanged (a no-op case).
Run ``pytest --update-fixtures`` to write missing expected files for review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemods import Options
from migrator.engine import migrate_source
from tests.expected import assert_matches_expected

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURES = ROOT / "rules"
# fixtures/rules/<rule>/ run in the default mode; fixtures/global/ with --global; fixtures/shared/ as
# files of a project whose openai settings are set in another module
CASES = sorted(p for p in [*FIXTURES.glob("*/*.py"), *(ROOT / "global").glob("*.py"), *(ROOT / "shared").glob("*.py")]
               if not p.name.endswith(".expected.py"))


def _expected_path(case: Path) -> Path:
    return case.with_name(case.stem + ".expected.py")


def _options(case: Path) -> Options:
    return Options(global_client=case.parent.name == "global", shared_configuration=case.parent.name == "shared")


def _migrated(data: bytes, options: Options) -> bytes:
    result = migrate_source(data, options)
    assert result.error is None, result.error
    return result.new if result.new is not None else data


@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture(case: Path, request: pytest.FixtureRequest) -> None:
    source = case.read_bytes()
    expected_file = _expected_path(case)
    output = _migrated(source, _options(case))
    assert_matches_expected(case, source, output, expected_file, request)


@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture_output_parses_and_is_stable(case: Path) -> None:
    expected_file = _expected_path(case)
    expected = expected_file.read_bytes() if expected_file.exists() else case.read_bytes()
    ast.parse(expected)
    assert _migrated(expected, _options(case)) == expected, "a second run must change nothing"


def test_there_are_fixtures_for_every_rule() -> None:
    from codemods import RULES

    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert {rule.name for rule in RULES} <= folders
