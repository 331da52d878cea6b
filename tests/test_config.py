"""``[tool.openai-migrate]`` and the flags that override it: exclude/extend-exclude, select/ignore, global, jobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.clirunner import cli_runner

from migrator.cli import main
from migrator.config import ConfigError, load_config
from tests.gitutil import git, init_repo

OLD = b'import openai\n\nopenai.api_key = "sk-x"\nr = openai.Completion.create(model="m", prompt="p")\nprint(r["choices"][0]["text"])\n'


def run(cwd: Path, *args: str):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return cli_runner().invoke(main, ["--dry-run", *args], catch_exceptions=False)
    finally:
        os.chdir(old)


def would_change(cwd: Path, *args: str) -> set:
    """The files a ``--check`` run lists, as POSIX paths."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = cli_runner().invoke(main, ["--check", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return {line[len("would change: "):] for line in result.stderr.splitlines() if line.startswith("would change: ")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "project")
    for name in ("app.py", "build/generated.py", "legacy/old.py", "tests/test_app.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(OLD)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def configure(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text("[tool.openai-migrate]\n" + body, encoding="utf-8")


def test_builtin_excludes_apply_without_configuration(project: Path) -> None:
    assert would_change(project, ".") == {"app.py", "legacy/old.py", "tests/test_app.py"}


def test_exclude_replaces_the_builtin_list(project: Path) -> None:
    configure(project, 'exclude = ["legacy/"]\n')
    assert would_change(project, ".") == {"app.py", "build/generated.py", "tests/test_app.py"}


def test_extend_exclude_keeps_the_builtin_list(project: Path) -> None:
    configure(project, 'extend-exclude = ["legacy/"]\n')
    assert would_change(project, ".") == {"app.py", "tests/test_app.py"}


def test_command_line_exclude_replaces_the_configured_one(project: Path) -> None:
    configure(project, 'exclude = ["legacy/"]\nextend-exclude = ["tests/"]\n')
    # --exclude replaces exclude (legacy/ is back, build/ still not excluded); extend-exclude still applies
    assert would_change(project, "--exclude", "app.py", ".") == {"build/generated.py", "legacy/old.py"}


def test_command_line_extend_exclude_adds_to_the_configured_one(project: Path) -> None:
    configure(project, 'extend-exclude = ["tests/"]\n')
    assert would_change(project, "--extend-exclude", "legacy/", ".") == {"app.py"}


def test_version_control_and_virtualenv_directories_stay_excluded(project: Path) -> None:
    venv = project / "env"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "vendored.py").write_bytes(OLD)
    (project / ".git" / "hook_helper.py").write_bytes(OLD)
    configure(project, 'exclude = []\n')
    assert would_change(project, ".") == {"app.py", "build/generated.py", "legacy/old.py", "tests/test_app.py"}


def test_configuration_is_found_by_walking_up_from_the_path(project: Path) -> None:
    configure(project, 'extend-exclude = ["old.py"]\n')
    # run from outside the project: the pyproject.toml above the given path applies
    assert would_change(project.parent, "project/legacy") == set()
    assert would_change(project.parent, "project/legacy/old.py") == {"project/legacy/old.py"}  # named: always
    assert would_change(project.parent, "project/tests") == {"project/tests/test_app.py"}


def test_named_files_are_migrated_even_when_excluded_unless_force_exclude(project: Path) -> None:
    configure(project, 'extend-exclude = ["legacy/"]\n')
    named = ["app.py", "build/generated.py", "legacy/old.py", "tests/test_app.py"]
    assert would_change(project, *named) == set(named)
    # what pre-commit does: every staged file is named, and the project's excludes must still hold
    assert would_change(project, "--force-exclude", *named) == {"app.py", "tests/test_app.py"}
    assert would_change(project, "--force-exclude", "--extend-exclude", "test_*.py", *named) == {"app.py"}
    # --exclude replaces the built-in list (build/ comes back); the configured extend-exclude still holds
    assert would_change(project, "--force-exclude", "--exclude", "tests", *named) == {"app.py", "build/generated.py"}
    configure(project, 'extend-exclude = ["legacy/"]\nforce-exclude = true\n')
    assert would_change(project, *named) == {"app.py", "tests/test_app.py"}
    assert would_change(project, "--force-exclude", "./legacy/old.py", "build/../app.py") == {"build/../app.py"}


def test_config_option_points_elsewhere(project: Path, tmp_path: Path) -> None:
    configure(project, 'extend-exclude = ["legacy/"]\n')
    elsewhere = tmp_path / "ci.toml"
    elsewhere.write_text('[tool.openai-migrate]\nextend-exclude = ["tests/"]\n', encoding="utf-8")
    assert would_change(project, "--config", str(elsewhere), ".") == {"app.py", "legacy/old.py"}


def test_missing_config_file_is_a_usage_error(project: Path) -> None:
    result = run(project, "--config", str(project / "missing.toml"), ".")
    assert result.exit_code == 2
    assert "missing.toml" in result.output


def test_select_in_configuration_and_on_the_command_line(project: Path) -> None:
    configure(project, 'select = ["client-setup", "resource-calls"]\n')
    configured = run(project, "app.py")
    assert "+r = client.completions.create(" in configured.stdout
    assert '+print(r.choices[0].text)' not in configured.stdout  # response-access not selected
    # --select replaces the configured select (and ignore): the command line says which rules run
    everything = run(project, "--select", "OM003", "app.py")
    assert '+print(r.choices[0].text)' in everything.stdout


def test_only_and_skip_are_aliases(project: Path) -> None:
    only = run(project, "--only", "response-access", "app.py")
    select = run(project, "--select", "response-access", "app.py")
    assert only.stdout == select.stdout and '+print(r.choices[0].text)' in only.stdout
    skip = run(project, "--skip", "OM003", "app.py")
    ignore = run(project, "--ignore", "OM003", "app.py")
    assert skip.stdout == ignore.stdout and '+print(r.choices[0].text)' not in skip.stdout
    assert "+r = client.completions.create(" in skip.stdout


def test_command_line_ignore_adds_to_the_configured_one(project: Path) -> None:
    configure(project, 'ignore = ["error-classes"]\n')
    result = run(project, "--ignore", "response-access", "app.py")
    assert "+r = client.completions.create(" in result.stdout and '+print(r.choices' not in result.stdout


@pytest.mark.parametrize("body, message", [
    ('exclude = "legacy/"\n', "exclude must be a list of strings"),
    ('extend-exclude = [1]\n', "extend-exclude must be a list of strings"),
    ('select = "OM001"\n', "select must be a list of strings"),
    ('jobs = -1\n', "jobs must be a whole number >= 0"),
    ('excludes = []\n', "unknown key(s) in [tool.openai-migrate]: excludes"),
    ('select = ["OM999"]\n', "unknown rule 'OM999'"),
])
def test_wrong_values_are_usage_errors_naming_the_file(project: Path, body: str, message: str) -> None:
    configure(project, body)
    result = run(project, ".")
    assert result.exit_code == 2
    assert message in result.output
    if "unknown rule" not in message:
        assert "pyproject.toml" in result.output


def test_load_config_reads_every_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.openai-migrate]\nglobal = true\nexclude = ["a/"]\nextend-exclude = ["b/"]\njobs = 2\n'
        'select = ["OM001"]\nignore = ["OM005"]\n', encoding="utf-8")
    config = load_config([tmp_path / "sub" / "x.py"])
    assert (config.global_client, config.exclude, config.extend_exclude, config.jobs, config.select,
            config.ignore) == (True, ["a/"], ["b/"], 2, ["OM001"], ["OM005"])
    assert config.path == tmp_path / "pyproject.toml"
    (tmp_path / "pyproject.toml").write_text("[tool.openai-migrate\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="pyproject.toml: cannot read the configuration"):
        load_config([tmp_path])


def test_no_section_means_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.black]\nline-length = 100\n', encoding="utf-8")
    config = load_config([tmp_path])
    assert config.exclude is None and config.extend_exclude == [] and config.global_client is None


def test_configured_patterns_are_relative_to_the_configuration_file(project: Path) -> None:
    (project / "services" / "legacy").mkdir(parents=True)
    (project / "services" / "legacy" / "old.py").write_bytes(OLD)
    (project / "services" / "api.py").write_bytes(OLD)
    configure(project, 'extend-exclude = ["/services/legacy/", "tests/*.py"]\n')
    services = project / "services"
    # from the project root, from inside services/, or naming the directory from elsewhere: the same files
    assert would_change(project, "services") == {"services/api.py"}
    assert would_change(services, ".") == {"api.py"}
    assert would_change(project.parent, "project/services") == {"project/services/api.py"}
    assert would_change(services, "--force-exclude", "legacy/old.py", "api.py") == {"api.py"}
    # "tests/*.py" is anchored at the project, not at the directory walked
    (services / "tests").mkdir()
    (services / "tests" / "test_api.py").write_bytes(OLD)
    assert would_change(services, ".") == {"api.py", "tests/test_api.py"}
    assert "tests/test_app.py" not in would_change(project, ".")
    # the command line's patterns stay relative to what was typed
    assert would_change(services, "--extend-exclude", "api.py", ".") == {"tests/test_api.py"}


def test_force_exclude_looks_only_below_the_current_directory(tmp_path: Path) -> None:
    # a project that happens to live under a folder named build/ or venv/ is not excluded by it
    root = init_repo(tmp_path / "build" / "venv" / "project")
    (root / "app.py").write_bytes(OLD)
    (root / "dist").mkdir()
    (root / "dist" / "gen.py").write_bytes(OLD)
    assert would_change(root, "--force-exclude", str(root / "app.py"), "dist/gen.py") == {
        (root / "app.py").as_posix()}
    assert would_change(tmp_path, "--force-exclude", "build/venv/project/app.py") == set()  # build/ is below here
