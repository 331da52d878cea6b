"""click's test runner with stdout and stderr apart on every supported click version.

click 8.2 separates them by default (``result.output`` is both, interleaved); click 8.1, the last release for
Python 3.9, mixes them unless asked not to, and then ``result.output`` is stdout alone. Tests read
``.stdout``, ``.stderr`` and ``.output`` (both) the same way on either.
"""

from __future__ import annotations

from click.testing import CliRunner, Result


class _BothStreams:
    """A click 8.1 result whose ``output`` holds stderr too, as click 8.2's does."""

    def __init__(self, result: Result) -> None:
        self._result = result

    def __getattr__(self, name: str):
        return getattr(self._result, name)

    @property
    def output(self) -> str:
        return self._result.stdout + self._result.stderr


class _SeparatingRunner(CliRunner):
    def invoke(self, *args, **kwargs):  # type: ignore[override]
        return _BothStreams(super().invoke(*args, **kwargs))


def cli_runner() -> CliRunner:
    try:
        return _SeparatingRunner(mix_stderr=False)  # click < 8.2
    except TypeError:  # click >= 8.2: always separate
        return CliRunner()
