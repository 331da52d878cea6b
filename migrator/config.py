"""Project configuration: ``[tool.openai-migrate]`` in the nearest ``pyproject.toml``.

Found by walking up from the first path given (or pointed at with ``--config``). Command-line
flags override it. Keys:

* ``global`` (bool): keep the module-level client; ``--global``/``--no-global`` override it.
* ``exclude`` (gitignore-style patterns, relative to the file's directory): *replaces* the built-in list of tool and vendor
  directories (``venv``, ``build``, ``node_modules``...); ``--exclude`` replaces it in turn.
* ``extend-exclude`` (patterns): added to whichever ``exclude`` applies, and to ``--extend-exclude``.
* ``force-exclude`` (bool): apply the excludes to files named on the command line too (pre-commit).
* ``select`` / ``ignore`` (rule codes or names): the rules to run / to skip. ``--select`` replaces
  both (the command line then says exactly which rules run); ``--ignore`` adds to ``ignore``.
* ``jobs`` (int): processes; ``-j`` overrides it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import FrozenSet, List, Optional, Sequence, Set, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

SECTION = "openai-migrate"
_KNOWN = {"global", "exclude", "extend-exclude", "force-exclude", "jobs", "select", "ignore"}


class ConfigError(Exception):
    """The configuration file is unreadable or holds a wrong value; the message names the file."""


@dataclass
class ProjectConfig:
    path: Optional[Path] = None  # the pyproject.toml the settings came from
    global_client: Optional[bool] = None
    exclude: Optional[List[str]] = None  # None: the built-in DEFAULT_EXCLUDES
    extend_exclude: List[str] = field(default_factory=list)
    force_exclude: bool = False
    jobs: Optional[int] = None
    select: List[str] = field(default_factory=list)  # rules to run (empty: all), like --select
    ignore: List[str] = field(default_factory=list)  # rules to skip, like --ignore


def find_pyproject(paths: Sequence[Path]) -> Optional[Path]:
    start = Path(paths[0]) if paths else Path(".")
    start = start.resolve()
    if start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(paths: Sequence[Path], explicit: Optional[Path] = None) -> ProjectConfig:
    path = explicit if explicit is not None else find_pyproject(paths)
    if path is None:
        return ProjectConfig()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from exc
    section = data.get("tool", {}).get(SECTION)
    if section is None:
        return ProjectConfig(path=Path(path))
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
    unknown = sorted(set(section) - _KNOWN)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [tool.{SECTION}]: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(_KNOWN))})")
    config = ProjectConfig(path=Path(path))
    if "global" in section:
        if not isinstance(section["global"], bool):
            raise ConfigError(f"{path}: [tool.{SECTION}] global must be true or false")
        config.global_client = section["global"]
    if "force-exclude" in section:
        if not isinstance(section["force-exclude"], bool):
            raise ConfigError(f"{path}: [tool.{SECTION}] force-exclude must be true or false")
        config.force_exclude = section["force-exclude"]
    config.exclude = _strings(section, "exclude", path, "patterns")
    config.extend_exclude = _strings(section, "extend-exclude", path, "patterns") or []
    config.select = _strings(section, "select", path, "rule codes or names") or []
    config.ignore = _strings(section, "ignore", path, "rule codes or names") or []
    if "jobs" in section:
        if not isinstance(section["jobs"], int) or isinstance(section["jobs"], bool) or section["jobs"] < 0:
            raise ConfigError(f"{path}: [tool.{SECTION}] jobs must be a whole number >= 0")
        config.jobs = section["jobs"]
    return config


def _strings(section: dict, key: str, path: Path, what: str) -> Optional[List[str]]:
    if key not in section:
        return None
    value = section[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: [tool.{SECTION}] {key} must be a list of strings ({what})")
    return list(value)


def resolve_rule_selection(select: Sequence[str], ignore: Sequence[str],
                           rules: Sequence[Tuple[str, str]]) -> Optional[FrozenSet[str]]:
    """The rule *names* a ``--select``/``--ignore`` choice leaves enabled, or None for "every rule".

    ``rules`` is ``[(code, name), ...]`` (``[(r.code, r.name) for r in codemods.RULES]``); each entry of
    ``select``/``ignore`` is a code (``OM003``, any case) or a name (``response-access``). ``select`` empty
    means every rule; ``ignore`` then removes rules. Raises ConfigError naming an unknown rule.
    """
    if not select and not ignore:
        return None
    lookup = {}
    for code, name in rules:
        lookup[code.upper()] = name
        lookup[name.lower()] = name

    def names(values: Sequence[str], flag: str) -> Set[str]:
        chosen: Set[str] = set()
        for value in values:
            key = value.strip()
            name = lookup.get(key.upper()) or lookup.get(key.lower())
            if name is None:
                known = ", ".join(f"{code} ({name})" for code, name in rules)
                raise ConfigError(f"{flag}: unknown rule {value!r} (known: {known})")
            chosen.add(name)
        return chosen

    enabled = names(select, "--select") if select else {name for _, name in rules}
    return frozenset(enabled - names(ignore, "--ignore"))
