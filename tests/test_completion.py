"""Shell completion through click: the scripts the README tells users to install, and what they complete."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.clirunner import cli_runner

from migrator.cli import main

VAR = "_OPENAI_MIGRATE_COMPLETE"


def complete(words: str, cword: int) -> list:
    result = cli_runner().invoke(main, [], prog_name="openai-migrate",
                                env={VAR: "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


@pytest.mark.parametrize("shell, marker", [
    ("bash", "complete -o nosort -F _openai_migrate_completion openai-migrate"),
    ("zsh", "#compdef openai-migrate"),
    ("fish", "complete --no-files --command openai-migrate"),
])
def test_completion_scripts(shell: str, marker: str) -> None:
    result = cli_runner().invoke(main, [], prog_name="openai-migrate", env={VAR: f"{shell}_source"})
    assert result.exit_code == 0
    assert marker in result.output


def test_options_complete() -> None:
    assert complete("openai-migrate --gl", 1) == ["--global"]
    assert set(complete("openai-migrate --e", 1)) == {"--exclude", "--extend-exclude"}
    assert complete("openai-migrate --format ", 2) == ["text", "json"]


def test_rule_codes_and_names_complete() -> None:
    from codemods import RULES

    assert complete("openai-migrate --select OM", 2) == [rule.code for rule in RULES]
    assert complete("openai-migrate --ignore re", 2) == ["resource-calls", "response-access"]
    assert complete("openai-migrate --skip om00", 2) == [rule.code for rule in RULES]


@pytest.mark.skipif(os.name == "nt" or shutil.which("bash") is None, reason="needs bash on a POSIX system")
def test_bash_really_completes_with_the_installed_script(tmp_path: Path) -> None:
    # the README's line for ~/.bashrc, then what bash does on <TAB>
    script = Path(sys.executable).parent / "openai-migrate"
    if not script.exists():
        pytest.fail(f"the console script is not installed next to {sys.executable}")
    program = (
        f'eval "$({VAR}=bash_source {script})"\n'
        "COMPREPLY=(); COMP_WORDS=(openai-migrate --select OM00); COMP_CWORD=2\n"
        f'_openai_migrate_completion "{script}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["OM001", "OM002", "OM003", "OM004", "OM005"]
