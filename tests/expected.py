"""Comparing a migrated fixture with its ``.expected`` file (shared by the Python and notebook fixture tests)."""

from __future__ import annotations

from pathlib import Path

import pytest


def assert_matches_expected(case: Path, source: bytes, output: bytes, expected_file: Path,
                            request: pytest.FixtureRequest) -> None:
    """``output`` equals ``expected_file`` byte for byte; a case without one must come out unchanged
    (``--update-fixtures`` writes a missing expected file for review)."""
    if not expected_file.exists():
        if request.config.getoption("--update-fixtures") and output != source:
            expected_file.write_bytes(output)
        assert output == source, f"{case.name} has no expected file, so it must not change"
        return
    assert output.decode() == expected_file.read_bytes().decode()  # a readable diff first
    assert output == expected_file.read_bytes()  # bytes too: line endings, encoding
