"""The command line, through click's runner (and one real subprocess): guard, dry run, discovery, failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.clirunner import cli_runner

from migrator import engine
from migrator.cli import main

OLD = b'import openai\n\nopenai.api_key = "sk-x"\nr = openai.Completion.create(model="m", prompt="p")\nprint(r["choices"][0]["text"])\n'
NEW_FRAGMENT = b"client.completions.create"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "app.py").write_bytes(OLD)
    (root / "plain.py").write_bytes(b"print('no api here')\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def run(*args: str, cwd: Path):
    runner = cli_runner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def test_rewrites_in_place_and_prints_diff(repo: Path) -> None:
    result = run(".", cwd=repo)
    assert result.exit_code == 0, result.output
    assert NEW_FRAGMENT in (repo / "app.py").read_bytes()
    assert "--- a/app.py" in result.stdout and "+++ b/app.py" in result.stdout
    assert "1 changed, 0 failed" in result.stderr
    assert (repo / "plain.py").read_bytes() == b"print('no api here')\n"


def test_dry_run_writes_nothing_and_exits_1(repo: Path) -> None:
    result = run("--dry-run", ".", cwd=repo)
    assert result.exit_code == 1
    assert (repo / "app.py").read_bytes() == OLD
    assert "+client = OpenAI(api_key=\"sk-x\")" in result.stdout
    assert "would change" in result.stderr


def test_dry_run_exits_0_when_nothing_to_do(repo: Path) -> None:
    run(".", cwd=repo)
    git(repo, "commit", "-qam", "migrated")
    result = run("--dry-run", ".", cwd=repo)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no changes needed" in result.stderr


def test_refuses_uncommitted_changes(repo: Path) -> None:
    dirty = OLD + b"# local edit\n"
    (repo / "app.py").write_bytes(dirty)
    result = run(".", cwd=repo)
    assert result.exit_code == 2
    assert "app.py has uncommitted changes" in result.stderr
    assert "Nothing was written" in result.stderr
    assert (repo / "app.py").read_bytes() == dirty


def test_refuses_untracked_file_and_writes_nothing_else(repo: Path) -> None:
    (repo / "new.py").write_bytes(OLD)
    result = run(".", cwd=repo)
    assert result.exit_code == 2
    assert "new.py" in result.stderr
    assert (repo / "app.py").read_bytes() == OLD  # the clean file was not written either


def test_allow_dirty_overrides(repo: Path) -> None:
    (repo / "app.py").write_bytes(OLD + b"# local edit\n")
    result = run("--allow-dirty", ".", cwd=repo)
    assert result.exit_code == 0
    data = (repo / "app.py").read_bytes()
    assert NEW_FRAGMENT in data and data.endswith(b"# local edit\n")


def test_refuses_outside_a_git_work_tree(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_bytes(OLD)
    result = run(".", cwd=tmp_path)
    assert result.exit_code == 2
    assert "not inside a git work tree" in result.stderr
    assert (tmp_path / "app.py").read_bytes() == OLD
    assert run("--dry-run", ".", cwd=tmp_path).exit_code == 1  # previewing needs no repository


def test_gitignore_and_exclude(repo: Path) -> None:
    for name in ("ignored.py", "generated/out.py", "legacy/old.py"):
        path = repo / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(OLD)
    (repo / ".gitignore").write_text("ignored.py\ngenerated/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "more")
    result = run("--exclude", "legacy/*", ".", cwd=repo)
    assert result.exit_code == 0, result.output
    assert NEW_FRAGMENT in (repo / "app.py").read_bytes()
    assert (repo / "ignored.py").read_bytes() == OLD
    assert (repo / "generated/out.py").read_bytes() == OLD
    assert (repo / "legacy/old.py").read_bytes() == OLD


def test_explicitly_named_file_is_processed_even_if_ignored(repo: Path) -> None:
    (repo / "ignored.py").write_bytes(OLD)
    (repo / ".gitignore").write_text("ignored.py\n")
    git(repo, "add", "-A", "-f")
    git(repo, "commit", "-qm", "more")
    result = run("ignored.py", cwd=repo)
    assert result.exit_code == 0, result.output
    assert NEW_FRAGMENT in (repo / "ignored.py").read_bytes()


def test_syntax_error_is_reported_and_the_rest_migrates(repo: Path) -> None:
    broken = b"import openai\nopenai.api_key = <API-KEY>\n"
    (repo / "broken.py").write_bytes(broken)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "broken")
    result = run(".", cwd=repo)
    assert result.exit_code == 3
    assert "broken.py: cannot parse: syntax error at line 2" in result.stderr
    assert (repo / "broken.py").read_bytes() == broken
    assert NEW_FRAGMENT in (repo / "app.py").read_bytes()
    assert "1 changed, 1 failed" in result.stderr


def test_files_without_openai_are_never_parsed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = []
    real = engine.cst.parse_module

    def spy(data, *args, **kwargs):
        parsed.append(data)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(engine.cst, "parse_module", spy)
    run("--dry-run", ".", cwd=repo)
    assert parsed == [OLD]


def test_todos_are_listed_with_their_line(repo: Path) -> None:
    (repo / "edit.py").write_bytes(b"import openai\nx = openai.Edit.create(model='m', input='i', instruction='j')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "edit")
    result = run("--dry-run", "edit.py", cwd=repo)
    assert result.exit_code == 1
    assert "edit.py:2: TODO [resource-calls] openai.Edit:" in result.stderr
    assert "1 TODO left" in result.stderr


def test_missing_path_is_a_usage_error(repo: Path) -> None:
    result = run("does-not-exist", cwd=repo)
    assert result.exit_code == 2


def test_crlf_and_encoding_survive(repo: Path) -> None:
    source = "# -*- coding: latin-1 -*-\r\nimport openai\r\ns = 'caf\xe9'\r\nr = openai.Completion.create(model='m', prompt=s)\r\n"
    (repo / "latin.py").write_bytes(source.encode("latin-1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "latin")
    assert run("latin.py", cwd=repo).exit_code == 0
    data = (repo / "latin.py").read_bytes()
    assert b"s = 'caf\xe9'\r\n" in data
    assert b"client = OpenAI()\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_real_subprocess_python_m(repo: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "migrator", "--dry-run", "."], cwd=repo, capture_output=True)
    assert proc.returncode == 1, proc.stderr
    assert b"+++ b/app.py" in proc.stdout
    assert b"\x1b[" not in proc.stdout  # no colour codes when piped
    assert (repo / "app.py").read_bytes() == OLD


def test_directory_named_like_a_module_is_walked_not_read(repo: Path) -> None:
    (repo / "pkg.py").mkdir()
    (repo / "pkg.py" / "inner.py").write_bytes(OLD)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "dir")
    result = run(".", cwd=repo)
    assert result.exit_code == 0, result.output
    assert NEW_FRAGMENT in (repo / "pkg.py" / "inner.py").read_bytes()


def test_unreadable_entry_is_reported_and_the_rest_migrates(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import migrator.cli as cli

    real = cli.read_source

    def flaky(path):
        if Path(path).name == "app.py":
            raise cli.ReadError(f"{path}: cannot be read (permission denied)")
        return real(path)

    (repo / "other.py").write_bytes(OLD)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "other")
    monkeypatch.setattr(cli, "read_source", flaky)
    result = run(".", cwd=repo)
    assert result.exit_code == 3
    assert "error: app.py: cannot be read (permission denied)" in result.stderr
    assert NEW_FRAGMENT in (repo / "other.py").read_bytes()


def test_read_only_file_is_reported_not_forced(repo: Path) -> None:
    (repo / "app.py").chmod(0o444)
    try:
        result = run(".", cwd=repo)
        assert result.exit_code == 3
        assert "app.py: not written:" in result.stderr and "read-only" in result.stderr
        assert (repo / "app.py").read_bytes() == OLD
    finally:
        (repo / "app.py").chmod(0o644)


def test_global_mode_from_pyproject_and_flag_override(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.openai-migrate]\nglobal = true\nexclude = ["skip_me.py"]\n')
    (repo / "skip_me.py").write_bytes(OLD)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    result = run("--dry-run", ".", cwd=repo)
    assert "+r = openai.completions.create(" in result.stdout
    assert "skip_me.py" not in result.stdout
    overridden = run("--dry-run", "--no-global", ".", cwd=repo)
    assert "+r = client.completions.create(" in overridden.stdout


def test_bad_configuration_is_a_usage_error(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.openai-migrate]\nglobal = "yes"\n')
    result = run("--dry-run", ".", cwd=repo)
    assert result.exit_code == 2
    assert "pyproject.toml: [tool.openai-migrate] global must be true or false" in result.output


def test_notebooks_and_pins_are_migrated_with_the_code(repo: Path) -> None:
    notebook = Path(__file__).resolve().parent.parent / "fixtures" / "notebooks" / "l2_guidelines.ipynb"
    expected = notebook.with_name("l2_guidelines.expected.ipynb")
    (repo / "guide.ipynb").write_bytes(notebook.read_bytes())
    (repo / "requirements.txt").write_bytes(b"numpy==1.26\nopenai==0.28.1  # pinned for the course\n")
    (repo / "notes.txt").write_bytes(b"openai==0.28.1 is what we used\n")  # not a pin file: never touched
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "notebook")
    result = run(".", cwd=repo)
    assert result.exit_code == 0, result.output
    assert (repo / "guide.ipynb").read_bytes() == expected.read_bytes()
    assert (repo / "requirements.txt").read_bytes() == b"numpy==1.26\nopenai>=1.0  # pinned for the course\n"
    assert (repo / "notes.txt").read_bytes() == b"openai==0.28.1 is what we used\n"
    assert "--- a/guide.ipynb: cell" in result.stdout
    assert "re-lock your dependencies" in result.stderr


# --- command-line conveniences: --check, --diff, --list-rules, --format json, stdin, pre-commit, NO_COLOR ---


def test_check_lists_files_prints_no_diff_and_exits_1(repo: Path) -> None:
    result = run("--check", ".", cwd=repo)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "would change: app.py\n" in result.stderr
    assert "plain.py" not in result.stderr
    assert "+++" not in result.stderr
    assert (repo / "app.py").read_bytes() == OLD


def test_check_exits_0_when_nothing_to_do(repo: Path) -> None:
    run(".", cwd=repo)
    git(repo, "commit", "-qam", "migrated")
    result = run("--check", ".", cwd=repo)
    assert result.exit_code == 0
    assert result.stdout == "" and "would change:" not in result.stderr


def test_check_exits_3_on_failures(repo: Path) -> None:
    (repo / "broken.py").write_bytes(b"import openai\nopenai.api_key = <API-KEY>\n")
    result = run("--check", ".", cwd=repo)
    assert result.exit_code == 3
    assert "would change: app.py" in result.stderr
    assert "broken.py: cannot parse" in result.stderr
    assert (repo / "app.py").read_bytes() == OLD


def test_check_needs_no_git_repository(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_bytes(OLD)
    result = run("--check", ".", cwd=tmp_path)
    assert result.exit_code == 1
    assert (tmp_path / "app.py").read_bytes() == OLD


def test_diff_is_an_alias_of_dry_run(repo: Path) -> None:
    result = run("--diff", ".", cwd=repo)
    assert result.exit_code == 1
    assert result.stdout == run("--dry-run", ".", cwd=repo).stdout
    assert "+++ b/app.py" in result.stdout
    assert (repo / "app.py").read_bytes() == OLD


def test_list_rules(tmp_path: Path) -> None:
    from codemods import RULES

    result = run("--list-rules", cwd=tmp_path)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(RULES)
    for line, rule in zip(lines, RULES):
        assert line.split()[:2] == [rule.code, rule.name]
        assert line.endswith(rule.summary)
    assert "OM003" in result.stdout and "response-access" in result.stdout


def test_format_json(repo: Path) -> None:
    import json

    (repo / "edit.py").write_bytes(b"import openai\nx = openai.Edit.create(model='m', input='i', instruction='j')\n")
    (repo / "broken.py").write_bytes(b"import openai\nopenai.api_key = <API-KEY>\n")
    result = run("--format", "json", "--dry-run", ".", cwd=repo)
    assert result.exit_code == 3
    document = json.loads(result.stdout)  # stdout is exactly one JSON document: no diff
    assert document["version"] == __import__("migrator").__version__
    files = {f["path"]: f for f in document["files"]}
    assert set(files) == {"app.py", "edit.py", "broken.py"}
    assert files["app.py"] == {"path": "app.py", "changed": True, "error": None, "todos": [], "notes": []}
    assert files["broken.py"]["changed"] is False and "cannot parse" in files["broken.py"]["error"]
    [todo] = files["edit.py"]["todos"]
    assert todo["line"] == 2 and todo["cell"] is None and todo["rule"] == "resource-calls"
    assert todo["message"].startswith("openai.Edit:")
    assert document["summary"] == {"scanned": 4, "changed": 2, "failed": 1, "todos": 1}
    assert (repo / "app.py").read_bytes() == OLD


def test_format_json_writes_like_the_text_mode(repo: Path) -> None:
    import json

    result = run("--format", "json", ".", cwd=repo)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["changed"] == 1
    assert NEW_FRAGMENT in (repo / "app.py").read_bytes()


def test_format_json_nothing_to_do(repo: Path) -> None:
    import json

    result = run("--format", "json", "plain.py", cwd=repo)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"version": __import__("migrator").__version__, "files": [],
                                         "summary": {"scanned": 1, "changed": 0, "failed": 0, "todos": 0}}


def test_stdin_to_stdout(tmp_path: Path) -> None:
    source = OLD + b"x = openai.Edit.create(model='m', input='i', instruction='j')\n"
    result = cli_runner().invoke(main, ["-"], input=source, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == engine.migrate_source(source).new
    assert NEW_FRAGMENT in result.stdout_bytes
    assert "<stdin>:7: TODO [resource-calls] openai.Edit:" in result.stderr


def test_stdin_unchanged_and_failing_input(tmp_path: Path) -> None:
    plain = b"print('no api here')\n"
    result = cli_runner().invoke(main, ["-"], input=plain, catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout_bytes == plain
    broken = b"import openai\nopenai.api_key = <API-KEY>\n"
    result = cli_runner().invoke(main, ["-"], input=broken, catch_exceptions=False)
    assert result.exit_code == 3
    assert result.stdout_bytes == broken
    assert "error: <stdin>: cannot parse" in result.stderr


def test_stdin_global_flag_and_mixing_is_a_usage_error(tmp_path: Path) -> None:
    result = cli_runner().invoke(main, ["--global", "-"], input=OLD, catch_exceptions=False)
    assert result.exit_code == 0 and b"openai.completions.create" in result.stdout_bytes
    assert cli_runner().invoke(main, ["-", "app.py"], input=OLD).exit_code == 2


def _pre_commit_hooks() -> list:
    """A tiny reader for the flat list-of-mappings layout of .pre-commit-hooks.yaml (no YAML dependency)."""
    hooks: list = []
    text = (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            hooks.append({})
            line = "  " + line[2:]
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            value = [item.strip() for item in value[1:-1].split(",")]
        hooks[-1][key] = value
    return hooks


def test_pre_commit_hooks_use_existing_flags() -> None:
    hooks = {hook["id"]: hook for hook in _pre_commit_hooks()}
    assert set(hooks) == {"openai-migrate", "openai-migrate-fix"}
    assert hooks["openai-migrate"]["entry"] == "openai-migrate --check --force-exclude"
    assert hooks["openai-migrate-fix"]["entry"] == "openai-migrate --allow-dirty --force-exclude"
    options = {opt for param in main.params for opt in getattr(param, "opts", [])}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "jupyter"]
        program, *flags = hook["entry"].split()
        assert program == "openai-migrate"
        assert all(flag in options for flag in flags), flags


def test_pre_commit_fix_hook_on_staged_files(repo: Path) -> None:
    # what pre-commit does: the hook gets the staged file names, which have uncommitted changes
    (repo / "app.py").write_bytes(OLD + b"# staged edit\n")
    git(repo, "add", "app.py")
    assert run("--check", "app.py", cwd=repo).exit_code == 1
    result = run("--allow-dirty", "app.py", cwd=repo)
    assert result.exit_code == 0, result.output
    assert NEW_FRAGMENT in (repo / "app.py").read_bytes()
    assert run("--check", "app.py", cwd=repo).exit_code == 0


def test_no_color_on_a_terminal(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import migrator.cli as cli
    from rich.console import Console

    class TerminalConsole(Console):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "force_terminal": True})

    monkeypatch.setattr(cli, "Console", TerminalConsole)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    result = run("--dry-run", ".", cwd=repo)
    assert result.exit_code == 1
    assert "+++ b/app.py" in result.stdout
    assert "\x1b[" not in result.stdout and "\x1b[" not in result.stderr
    monkeypatch.delenv("NO_COLOR")
    coloured = run("--dry-run", ".", cwd=repo)
    assert "\x1b[" in coloured.stdout  # the test really exercises a terminal


def test_rule_selection_resolver() -> None:
    from codemods import RULES
    from migrator.config import ConfigError, resolve_rule_selection

    rules = [(rule.code, rule.name) for rule in RULES]
    everything = frozenset(name for _, name in rules)
    assert resolve_rule_selection([], [], rules) is None
    assert resolve_rule_selection(["OM003"], [], rules) == {"response-access"}
    assert resolve_rule_selection(["om004", "test-mocks"], [], rules) == {"error-classes", "test-mocks"}
    assert resolve_rule_selection([], ["response-access"], rules) == everything - {"response-access"}
    assert resolve_rule_selection(["OM003", "OM004"], ["OM003"], rules) == {"error-classes"}
    with pytest.raises(ConfigError, match="unknown rule 'OM999'"):
        resolve_rule_selection(["OM999"], [], rules)


def test_stdin_rejects_report_flags(tmp_path: Path) -> None:
    for flags in (["--check"], ["--diff"], ["--format", "json"]):
        assert cli_runner().invoke(main, [*flags, "-"], input=OLD).exit_code == 2


def test_stdin_real_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "migrator", "-"], input=OLD, cwd=tmp_path, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == engine.migrate_source(OLD).new


def test_select_and_ignore_rules(repo: Path) -> None:
    (repo / "errors.py").write_bytes(b"import openai\ntry:\n    openai.Completion.create(model='m', prompt='p')\n"
                                     b"except openai.error.RateLimitError:\n    pass\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "errors")
    only_errors = run("--dry-run", "--select", "OM004", "errors.py", cwd=repo)
    assert "+except openai.RateLimitError:" in only_errors.stdout
    assert "client" not in only_errors.stdout  # the calls were not touched
    no_errors = run("--dry-run", "--ignore", "error-classes", "errors.py", cwd=repo)
    assert "+    client.completions.create(" in no_errors.stdout
    assert "except openai.error.RateLimitError" in no_errors.stdout.replace("-except", "")
    # response-access needs the calls migrated: its prerequisites run with it
    responses = run("--dry-run", "--select", "response-access", "app.py", cwd=repo)
    assert '+print(r.choices[0].text)' in responses.stdout and "+client = OpenAI(" in responses.stdout
    assert run("--dry-run", "--select", "OM999", ".", cwd=repo).exit_code == 2


def test_rules_skipped_in_pyproject(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.openai-migrate]\nignore = ["response-access"]\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    result = run("--dry-run", "app.py", cwd=repo)
    assert "+r = client.completions.create(" in result.stdout
    assert 'print(r["choices"][0]["text"])' in result.stdout and "+print(r.choices" not in result.stdout


def test_summary_table_counts_todos_by_rule() -> None:
    from rich.console import Console

    from migrator.engine import TodoAt
    from migrator.report import FileOutcome, summary_table

    outcomes = [FileOutcome(Path("a.py"), new=b"x", todos=[TodoAt(1, "resource-calls", "m"), TodoAt(2, "resource-calls", "n")]),
                FileOutcome(Path("b.py"), error="cannot parse"),
                FileOutcome(Path("c.py"), new=b"y", todos=[TodoAt(3, "error-classes", "o")])]
    console = Console(record=True, width=80)
    console.print(summary_table(outcomes, "changed"))
    text = console.export_text()
    assert "files changed" in text and "files that failed" in text
    assert "TODOs from resource-calls" in text and "TODOs from error-classes" in text
    lines = {line.split()[-2] + " " + line.split()[-1] for line in text.splitlines() if "TODOs from" in line}
    assert lines == {"resource-calls 2", "error-classes 1"}


def test_force_color_colours_a_pipe_and_no_color_wins(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\x1b[" not in run("--dry-run", ".", cwd=repo).stdout  # the runner's output is not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    forced = run("--dry-run", ".", cwd=repo)
    assert "\x1b[" in forced.stdout and "+++ b/app.py" in forced.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run("--dry-run", ".", cwd=repo).stdout


def test_verbose_says_what_was_used_and_found(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.openai-migrate]\nignore = ["test-mocks"]\n')
    (repo / "settings_only.py").write_bytes(b"import openai  # configured elsewhere\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "more")
    result = run("--dry-run", "-v", ".", cwd=repo)
    assert result.exit_code == 1
    err = result.stderr
    assert f"configuration: {(repo / 'pyproject.toml').resolve().as_posix()}\n" in err
    assert "rules: OM001 client-setup, OM002 resource-calls, OM003 response-access, OM004 error-classes\n" in err
    assert "scanned 4 files: 3 mention openai, 0 unreadable" in err  # pyproject.toml: "openai-migrate"
    assert "unchanged: settings_only.py" in err and "unchanged: app.py" not in err
    assert "done in " in err
    quiet = run("--dry-run", ".", cwd=repo)
    assert "configuration:" not in quiet.stderr and "unchanged:" not in quiet.stderr


def test_verbose_explains_shared_configuration(repo: Path) -> None:
    (repo / "settings.py").write_bytes(b'import openai\nopenai.api_key = "sk-x"\n')
    (repo / "calls.py").write_bytes(b'import openai\nr = openai.Completion.create(model="m", prompt="p")\n')
    result = run("--dry-run", "-v", "settings.py", "calls.py", cwd=repo)
    assert "openai is configured in settings.py and called without configuration in calls.py" in result.stderr


def test_quiet_and_verbose_conflict(repo: Path) -> None:
    result = run("-q", "-v", ".", cwd=repo)
    assert result.exit_code == 2 and "--quiet and --verbose cannot be combined" in result.output


def test_version_and_help_with_examples(tmp_path: Path) -> None:
    from migrator import __version__

    version = run("--version", cwd=tmp_path)
    assert version.exit_code == 0 and version.output == f"openai-migrate, version {__version__}\n"
    for flag in ("--help", "-h"):
        shown = run(flag, cwd=tmp_path)
        assert shown.exit_code == 0
        assert "Examples:" in shown.output and "openai-migrate --check ." in shown.output
        assert "Exit status:" in shown.output
        for option in ("--extend-exclude", "--force-exclude", "--only", "--skip", "--verbose", "--format"):
            assert option in shown.output


def test_quiet_prints_no_diff_but_still_the_todos_and_summary(repo: Path) -> None:
    (repo / "edit.py").write_bytes(b'import openai\nr = openai.Edit.create(model="m", input="x", instruction="y")\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "edit")
    for flag in ("-q", "--quiet"):
        result = run("--dry-run", flag, ".", cwd=repo)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "edit.py:" in result.stderr and "TODO [resource-calls]" in result.stderr
        assert "would change" in result.stderr


def test_jobs_from_configuration_and_flag(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import migrator.cli as cli

    seen = []
    real = cli._migrate_all

    def spy(found, skipped, reporter, quiet, jobs, *rest):
        seen.append(jobs)
        return real(found, skipped, reporter, quiet, jobs, *rest)

    monkeypatch.setattr(cli, "_migrate_all", spy)
    (repo / "pyproject.toml").write_text("[tool.openai-migrate]\njobs = 1\n")
    run("--dry-run", ".", cwd=repo)
    run("--dry-run", "-j", "2", ".", cwd=repo)
    run("--dry-run", "--jobs", "3", ".", cwd=repo)
    (repo / "pyproject.toml").unlink()
    run("--dry-run", ".", cwd=repo)
    assert seen == [1, 2, 3, 0]
