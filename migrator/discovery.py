"""File discovery: find the files to migrate under the paths the user gave.

Walks the given directories in a deterministic (sorted) order and yields the
files whose suffix is one of ``suffixes``, while

* honouring ``.gitignore`` files the way git does (root and nested files,
  patterns relative to the directory holding them, negations, directory-only
  patterns, ``.git/info/exclude``; ignore files between the repository root
  and a given sub-directory apply too),
* never descending into well-known tool/vendor directories
  (:data:`DEFAULT_EXCLUDES`) or into virtual environments (any directory
  holding a ``pyvenv.cfg`` or ``conda-meta``),
* applying the user's ``--exclude`` patterns, and
* never following symlinks: symlinked directories are not descended into and
  symlinked files are not yielded; both are reported as :class:`Skipped`.

A file named explicitly is always yielded. File contents are never read.

Not emulated: the global ``core.excludesFile`` (it depends on the user's
configuration) and git's rule that a *tracked* file is never ignored (that
would require reading the index).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from pathspec import GitIgnoreSpec

__all__ = [
    "ALWAYS_EXCLUDED",
    "DEFAULT_EXCLUDES",
    "VENV_MARKERS",
    "DiscoveryError",
    "DiscoveryResult",
    "Skipped",
    "SKIP_IGNORED",
    "SKIP_SYMLINK",
    "SKIP_SYMLINK_DIR",
    "SKIP_UNREADABLE_DIR",
    "SKIP_SPECIAL",
    "SKIP_LEFTOVER",
    "discover",
    "discover_all",
]

#: Directory names (or ``fnmatch`` globs on the name) that are never descended
#: into while walking. A directory passed explicitly is still walked.
DEFAULT_EXCLUDES: Tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "site-packages",
    "dist-packages",
    "node_modules",
    "__pycache__",
    "build",
    "dist",
    ".eggs",
    "*.egg-info",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    ".direnv",
)

#: Version-control directories: never descended into, even when ``exclude``
#: replaces :data:`DEFAULT_EXCLUDES`.
ALWAYS_EXCLUDED: Tuple[str, ...] = (".git", ".hg", ".svn")

#: Entries whose presence marks a directory as a Python environment
#: (virtualenv/venv: ``pyvenv.cfg``; conda: ``conda-meta``); such directories
#: are never descended into, whatever their name.
VENV_MARKERS: Tuple[str, ...] = ("pyvenv.cfg", "conda-meta")

# Reasons recorded in Skipped.reason (human-readable, stable strings).
SKIP_SYMLINK = "symlink (not followed)"
SKIP_SYMLINK_DIR = "symlinked directory (not followed)"
SKIP_IGNORED = "ignored by .gitignore"
SKIP_UNREADABLE_DIR = "directory cannot be read"
SKIP_SPECIAL = "not a regular file or directory"
SKIP_LEFTOVER = ("temporary file left by an interrupted openai-migrate run (the file it was for is intact); "
                 "safe to delete")

# The writer's temporary files: ".<name>.openai-migrate-<random>.tmp" (see migrator.writer.atomic_write).
_LEFTOVER = re.compile(r"\..+\.openai-migrate-[A-Za-z0-9_]+\.tmp\Z", re.DOTALL)


def _has_magic(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")



_WINDOWS = os.name == "nt"


class DiscoveryError(Exception):
    """A path given on the command line cannot be used (e.g. it does not exist)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Skipped:
    """An entry deliberately not yielded, worth telling the user about."""

    path: Path
    reason: str


@dataclass
class DiscoveryResult:
    """Everything :func:`discover_all` found."""

    files: List[Path] = field(default_factory=list)
    skipped: List[Skipped] = field(default_factory=list)


# --------------------------------------------------------------------------
# gitignore handling
# --------------------------------------------------------------------------

_GLOB_SPECIAL = "\\*?["


def _escape_glob(text: str) -> str:
    """Escape *text* so that it matches literally inside a gitignore pattern."""
    out = []
    for ch in text:
        if ch in _GLOB_SPECIAL or ch == "]":
            out.append("\\")
        out.append(ch)
    return "".join(out)


def _strip_trailing_spaces(text: str) -> str:
    """Drop trailing spaces unless escaped with a backslash (as git does)."""
    stripped = text.rstrip(" ")
    if stripped != text and stripped.endswith("\\"):
        # Count the backslashes: an odd number escapes the first space.
        run = len(stripped) - len(stripped.rstrip("\\"))
        if run % 2:
            stripped += " "
    return stripped


def _rebase_pattern(line: str, prefix: str) -> Optional[str]:
    """Rewrite one gitignore line so it can be matched against paths relative
    to the repository (or walk) root instead of the directory holding it.

    *prefix* is that directory relative to the root, in POSIX form, without a
    trailing slash ("" for the root itself). Returns None for blank lines,
    comments and patterns that can never match.

    Patterns containing a slash (other than a trailing one) are anchored to
    the directory holding the .gitignore; the others match at any depth below
    it. ``**`` is normalised where pathspec's translation differs from git:
    runs of ``**`` segments collapse into one, and a trailing ``/**`` ("all
    contents") becomes ``/**/*`` so that it never matches the directory
    itself (directories are matched as ``"dir/"``).
    """
    if not line.strip() or line.startswith("#"):
        return None
    negate = line.startswith("!")
    body = _strip_trailing_spaces(line[1:] if negate else line)
    dir_only = body.endswith("/")
    core = body[:-1] if dir_only else body
    if not core:
        return None
    anchored = "/" in core
    if core.startswith("/"):
        core = core[1:]
        if not core:
            return None
    segments = core.split("/")
    if prefix:
        head = [_escape_glob(part) for part in prefix.split("/")]
        segments = head + segments if anchored else head + ["**"] + segments
        anchored = True
    collapsed: List[str] = []
    for seg in segments:
        if seg == "**" and collapsed and collapsed[-1] == "**":
            continue
        collapsed.append(seg)
    if collapsed[-1] == "**":
        if len(collapsed) == 1 and not anchored:
            collapsed = ["*"]  # "**" alone: every name at any depth
        else:
            collapsed.append("*")
    return (
        ("!" if negate else "")
        + ("/" if anchored else "")
        + "/".join(collapsed)
        + ("/" if dir_only else "")
    )


def _compile(lines: Sequence[str]) -> list:
    """Compile gitignore lines into pathspec patterns, dropping invalid ones."""
    lines = [ln for ln in lines if ln is not None]
    if not lines:
        return []
    try:
        return list(GitIgnoreSpec.from_lines(lines).patterns)
    except Exception:  # an invalid line: compile one by one, dropping it
        patterns: list = []
        for line in lines:
            try:
                patterns.extend(GitIgnoreSpec.from_lines([line]).patterns)
            except Exception:
                continue
        return patterns


def _read_ignore_file(path: str) -> List[str]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return []
    text = raw.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    # Like git: lines end at "\n" only (not at the other characters
    # str.splitlines() knows), and one trailing "\r" is dropped.
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


_DIR_MARK = "ps_d"  # pathspec's regex group for "a directory matched here"
_RX_PREFIX = "^(?:.+/)?"  # pathspec's regex prefix for un-anchored patterns
# Regex endings pathspec produces (1.x and 0.11/0.12 respectively).
_RX_SUFFIXES = (
    "(?:(?P<ps_d>/)|$)",
    "(?P<ps_d>/)",
    "(?:(?P<ps_d>/).*)?$",
    "(?P<ps_d>/).*$",
)
_RX_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


def _prefilter(regexes: Sequence[str]) -> Optional[Callable[[str], object]]:
    """Build one regex that matches whenever any of *regexes* (the ignoring,
    i.e. non-negated, patterns) matches.

    Most paths are not ignored; rejecting them with a single C-level regex
    call instead of one call per pattern keeps the walk close to raw
    ``os.scandir`` speed. It only has to be a superset (positives are then
    evaluated exactly): un-anchored patterns, the bulk of any .gitignore,
    share one ``(?:.+/)?`` prefix; other shapes become plain alternatives.
    """
    groups: Dict[str, List[str]] = {sfx: [] for sfx in _RX_SUFFIXES}
    others: List[str] = []
    for regex in regexes:
        for sfx in _RX_SUFFIXES:
            if regex.startswith(_RX_PREFIX) and regex.endswith(sfx):
                middle = regex[len(_RX_PREFIX):-len(sfx)]
                if "(" not in middle and "|" not in middle:
                    groups[sfx].append(middle)
                    break
        else:
            body = _RX_NAMED_GROUP.sub("(?:", regex)
            others.append(body[1:] if body.startswith("^") else "(?s:.*?)" + body)
    alternatives = [
        "(?:.+/)?(?:%s)%s" % ("|".join(middles), _RX_NAMED_GROUP.sub("(?:", sfx))
        for sfx, middles in groups.items()
        if middles
    ]
    alternatives.extend("(?:%s)" % alt for alt in others)
    if not alternatives:
        return None
    try:
        return re.compile("^(?:%s)" % "|".join(alternatives)).match
    except re.error:
        return None


class _Rules:
    """Compiled gitignore patterns evaluated the way git does while walking.

    Git checks every path level by level and never descends into an ignored
    directory, so a pattern only counts when it matches the path itself
    (pathspec's regexes also match everything below a matching directory;
    those "descendant" matches are disregarded here). Patterns are tried last
    to first and the first match decides. Directories are given with a
    trailing "/" so that directory-only patterns apply to them.
    """

    __slots__ = ("patterns", "_checks", "_prefilter")

    def __init__(self, patterns: Sequence[object]) -> None:
        self.patterns = list(patterns)
        checks = []
        positives = []
        for pattern in self.patterns:
            include = getattr(pattern, "include", None)
            regex = getattr(pattern, "regex", None)
            if include is None or regex is None:
                continue
            has_mark = _DIR_MARK in regex.groupindex
            checks.append((bool(include), regex.search, has_mark))
            if include and isinstance(regex.pattern, str):
                positives.append(regex.pattern)
        checks.reverse()
        self._checks = checks
        self._prefilter = _prefilter(positives) if positives else None
        if not positives:
            self._checks = []  # nothing can be ignored

    def __bool__(self) -> bool:
        return bool(self._checks)

    def ignored(self, path: str) -> bool:
        """Whether *path* (POSIX, relative; directories end with "/") is
        ignored by these rules."""
        if not self._checks:
            return False
        prefilter = self._prefilter
        if prefilter is not None and prefilter(path) is None:
            return False
        size = len(path)
        for include, search, has_mark in self._checks:
            match = search(path)
            if match is None:
                continue
            if has_mark:
                end = match.end(_DIR_MARK)
                if end != -1 and end != size:
                    continue  # matched a parent directory, not the path itself
            return include
        return False


class _IgnoreContext:
    """Ignore rules in force for a directory, all expressed relative to the
    same base (a repository root, or the walked root outside a repository).

    Contexts are immutable; :meth:`extend` returns a new one. Each
    ``.gitignore`` is compiled once and the combined rules are built once per
    directory holding one. Deeper files come later, so they take precedence.
    """

    __slots__ = ("rules", "fold")

    def __init__(self, patterns: list, fold: bool = False) -> None:
        self.rules = _Rules(patterns)
        self.fold = fold  # core.ignorecase: patterns and paths compared in lower case

    @classmethod
    def for_repo(cls, repo_root: str) -> "_IgnoreContext":
        exclude = _info_exclude_path(repo_root)
        lines = _read_ignore_file(exclude) if exclude else []
        fold = _ignores_case(repo_root)
        return cls(_compile([_rebase_pattern(ln.lower() if fold else ln, "") for ln in lines]), fold)

    def extend(self, lines: Sequence[str], prefix: str) -> "_IgnoreContext":
        fold = self.fold
        new = _compile([_rebase_pattern(ln.lower() if fold else ln, prefix.lower() if fold else prefix)
                        for ln in lines])
        if not new:
            return self
        return _IgnoreContext(self.rules.patterns + new, fold)

    def ignored(self, rel: str) -> bool:
        """*rel*: POSIX path relative to base; directories end with '/'."""
        return self.rules.ignored(rel.lower() if self.fold else rel)


_EMPTY_CONTEXT = _IgnoreContext([])


def _common_git_dir(repo_root: str) -> Optional[str]:
    """The git directory holding ``info/exclude`` and ``config`` for the
    repository whose work tree is *repo_root* (``.git`` may be a directory, or
    a file pointing elsewhere as in worktrees and submodules)."""
    dotgit = os.path.join(repo_root, ".git")
    gitdir: Optional[str] = None
    if os.path.isdir(dotgit):
        gitdir = dotgit
    elif os.path.isfile(dotgit):
        try:
            with open(dotgit, "r", encoding="utf-8", errors="replace") as fh:
                first = fh.readline().strip()
        except OSError:
            return None
        if not first.startswith("gitdir:"):
            return None
        gitdir = first[len("gitdir:"):].strip()
        if not os.path.isabs(gitdir):
            gitdir = os.path.join(repo_root, gitdir)
        commondir_file = os.path.join(gitdir, "commondir")
        if os.path.isfile(commondir_file):
            try:
                with open(commondir_file, "r", encoding="utf-8", errors="replace") as fh:
                    common = fh.readline().strip()
            except OSError:
                common = ""
            if common:
                gitdir = common if os.path.isabs(common) else os.path.join(gitdir, common)
    return gitdir


def _info_exclude_path(repo_root: str) -> Optional[str]:
    gitdir = _common_git_dir(repo_root)
    return None if gitdir is None else os.path.join(gitdir, "info", "exclude")


_CONFIG_SECTION = re.compile(r"\s*\[\s*([A-Za-z0-9.-]+)")
_CONFIG_IGNORECASE = re.compile(r"\s*ignorecase\s*=\s*(\S+)", re.IGNORECASE)


def _ignores_case(repo_root: str) -> bool:
    """``core.ignorecase`` of the repository (set by ``git init`` on the case-insensitive file systems of
    Windows and macOS): git then matches ignore patterns without regard to case, and so must the walk."""
    gitdir = _common_git_dir(repo_root)
    if gitdir is None:
        return False
    try:
        with open(os.path.join(gitdir, "config"), "r", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    section = ""
    value = False
    for line in text.splitlines():
        header = _CONFIG_SECTION.match(line)
        if header is not None:
            section = header.group(1).lower()
            continue
        if section == "core":
            setting = _CONFIG_IGNORECASE.match(line)
            if setting is not None:
                value = setting.group(1).strip().lower() in ("true", "yes", "on", "1")
    return value


def _find_repo_root(directory: Path) -> Optional[Path]:
    """Nearest ancestor of *directory* (inclusive) containing a ``.git`` entry."""
    for candidate in (directory, *directory.parents):
        if os.path.lexists(os.path.join(candidate, ".git")):
            return candidate
    return None


# --------------------------------------------------------------------------
# --exclude handling
# --------------------------------------------------------------------------


class _Excluder:
    """The user's ``--exclude`` patterns (gitignore syntax, root-relative).

    A path is excluded when the patterns match its path relative to the given
    root, its path as it will be displayed (when that differs), or its bare
    name -- so ``tests/*``, ``legacy.py`` and ``src/legacy.py`` (as typed
    relative to the current directory) all work.
    """

    __slots__ = ("rules", "dir_names", "dir_globs", "anchored", "anchor")

    def __init__(self, patterns: Sequence[str], default_excludes: Sequence[str] = DEFAULT_EXCLUDES,
                 anchored: Sequence[str] = (), anchor: Optional[Path] = None) -> None:
        names = (*ALWAYS_EXCLUDED, *default_excludes)
        self.dir_names = frozenset(p for p in names if not _has_magic(p))
        self.dir_globs = tuple(p for p in names if _has_magic(p))
        self.rules = _Rules(_compile([_exclude_line(pat) for pat in patterns]))
        # patterns from a configuration file: relative to its directory (``anchor``), as in ruff and black
        self.anchored = _Rules(_compile([_exclude_line(pat) for pat in anchored]))
        self.anchor: Optional[str] = None
        if self.anchored and anchor is not None:
            try:
                self.anchor = str(Path(anchor).resolve())
            except (OSError, RuntimeError):
                self.anchor = None
        if self.anchored and self.anchor is None:  # nothing to anchor to: match them like the others
            self.rules = _Rules(self.rules.patterns + self.anchored.patterns)
            self.anchored = _Rules([])

    def anchor_prefix(self, real: Path) -> Optional[str]:
        """The POSIX path of directory *real* relative to the anchor, with a trailing "/" ("" for the anchor
        itself), or None when it lies outside (the anchored patterns then match like the others)."""
        if self.anchor is None:
            return None
        rel = _relative_to(str(real), self.anchor)
        return None if rel is None else (rel + "/" if rel else "")

    def excluded(self, rel: str, display: Optional[str], name: str, is_dir: bool,
                 anchored_rel: Optional[str] = None) -> bool:
        slash = "/" if is_dir else ""
        if self.anchored:
            if anchored_rel is not None:
                if self.anchored.ignored(anchored_rel + slash):
                    return True
            elif _matches(self.anchored, rel, display, name, slash):
                return True
        return bool(self.rules) and _matches(self.rules, rel, display, name, slash)

    def __bool__(self) -> bool:
        return bool(self.rules) or bool(self.anchored)


def _matches(rules: "_Rules", rel: str, display: Optional[str], name: str, slash: str) -> bool:
    if rules.ignored(rel + slash):
        return True
    if display is not None and display != rel and rules.ignored(display + slash):
        return True
    return rel != name and rules.ignored(name + slash)


def _exclude_line(pattern: str) -> str:
    if _WINDOWS:
        pattern = pattern.replace("\\", "/")
    negate = pattern.startswith("!")
    body = pattern[1:] if negate else pattern
    while body.startswith("./"):
        body = body[2:]
    return _rebase_pattern(("!" if negate else "") + body, "")


def _relative_to(path: str, base: str) -> Optional[str]:
    """*path* relative to *base* (both absolute and resolved) in POSIX form, or None if outside."""
    if os.path.normcase(path) == os.path.normcase(base):
        return ""
    prefix = base if base.endswith(os.sep) else base + os.sep
    if not os.path.normcase(path).startswith(os.path.normcase(prefix)):
        return None
    return path[len(prefix):].replace(os.sep, "/")


# --------------------------------------------------------------------------
# the walk
# --------------------------------------------------------------------------


def _is_default_excluded(name: str, excluder: _Excluder) -> bool:
    if name in excluder.dir_names:
        return True
    for glob in excluder.dir_globs:
        if fnmatch.fnmatchcase(name, glob):
            return True
    return False


_IO_REPARSE_TAG_MOUNT_POINT = 0xA0000003


def _is_junction(entry: "os.DirEntry[str]") -> bool:
    """Windows directory junctions are treated like symlinks (never entered).
    On Windows, DirEntry.stat(follow_symlinks=False) is served from the
    directory listing, so this costs no system call."""
    is_junction = getattr(entry, "is_junction", None)  # Python >= 3.12
    if is_junction is not None:
        return bool(is_junction())
    tag = getattr(entry.stat(follow_symlinks=False), "st_reparse_tag", 0)
    return tag == _IO_REPARSE_TAG_MOUNT_POINT


def _key(path: str) -> str:
    return os.path.normcase(path)


@dataclass
class _Root:
    display: Path  # as the user spelled it
    real: Path  # fully resolved
    real_parent: Path  # resolved parent directory (the root itself may be a link)
    is_dir: bool


def _check_root(path: Path) -> _Root:
    path = Path(path)
    if not os.path.lexists(path):
        raise DiscoveryError(path, f"{path}: no such file or directory")
    if not os.path.exists(path):
        raise DiscoveryError(path, f"{path}: is a broken symlink")
    try:
        real = path.resolve()
        real_parent = Path(os.path.abspath(path)).parent.resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops, permissions
        raise DiscoveryError(path, f"{path}: cannot resolve path ({exc})") from exc
    return _Root(display=path, real=real, real_parent=real_parent, is_dir=os.path.isdir(path))


def _posix_rel(rel_parts: Sequence[str]) -> str:
    return "/".join(rel_parts)


def discover(
    paths: Sequence[Path],
    *,
    excludes: Sequence[str] = (),
    suffixes: Sequence[str] = (".py", ".ipynb"),
    skipped: Optional[List[Skipped]] = None,
    default_excludes: Sequence[str] = DEFAULT_EXCLUDES,
    force_exclude: bool = False,
    anchored_excludes: Sequence[str] = (),
    anchor: Optional[Path] = None,
) -> Iterator[Path]:
    """Yield the files to process under *paths*.

    * Files given explicitly are always yielded (even if ignored, excluded or
      with another suffix), unless *force_exclude*: then a named file inside
      an excluded directory, or matching *excludes*, is left out (as
      pre-commit needs: it names every staged file).
    * Directories are walked depth-first, entries sorted by name, yielding
      regular files ending in one of *suffixes* that are not ignored by
      ``.gitignore`` / ``.git/info/exclude``, not inside a version-control
      directory, a directory named in *default_excludes* (the user's
      ``exclude`` setting replaces :data:`DEFAULT_EXCLUDES`) or a virtual
      environment, and not matched by *excludes* (relative to the given
      path, as displayed, or a bare name) or *anchored_excludes* (relative
      to the directory *anchor*: a configuration file's patterns). A
      directory that is itself git-ignored yields nothing and is reported.
    * Each file is yielded once (deduplicated by resolved path), spelled
      relative to the given path (``Path("src") / "pkg" / "a.py"``).
    * Symlinks are never followed while walking; if *skipped* is a list,
      symlinks and other noteworthy omissions are appended to it as
      :class:`Skipped` entries while iterating.

    Raises :class:`DiscoveryError` immediately (before yielding anything) if
    a given path does not exist.
    """
    roots = [_check_root(Path(p)) for p in paths]
    return _iterate(
        roots,
        _Excluder(excludes, default_excludes, anchored_excludes, anchor),
        tuple(suffixes),
        skipped if skipped is not None else [],
        force_exclude,
    )


def discover_all(
    paths: Sequence[Path],
    *,
    excludes: Sequence[str] = (),
    suffixes: Sequence[str] = (".py", ".ipynb"),
) -> DiscoveryResult:
    """Run :func:`discover` to completion and return files and skipped entries."""
    result = DiscoveryResult()
    result.files.extend(
        discover(paths, excludes=excludes, suffixes=suffixes, skipped=result.skipped)
    )
    return result


def _iterate(
    roots: List[_Root],
    excluder: _Excluder,
    suffixes: Tuple[str, ...],
    skipped: List[Skipped],
    force_exclude: bool = False,
) -> Iterator[Path]:
    seen: set = set()
    for root in roots:
        if not root.is_dir:
            if force_exclude and _named_file_excluded(root, excluder):
                continue
            key = _key(str(root.real_parent / root.display.name))
            if key not in seen:
                seen.add(key)
                yield root.display
            continue
        yield from _walk_root(root, excluder, suffixes, skipped, seen)


def _named_file_excluded(root: _Root, excluder: _Excluder) -> bool:
    """Whether a file named on the command line would have been left out by a walk of its path as spelled:
    a directory on the way is excluded by name (``build``, ``.venv``...) or by pattern, or the file is."""
    # Only the folders below the current directory count, as only those below the root count in a walk: a
    # project that lives under /home/me/build/ is not "in a build folder".
    absolute = os.path.abspath(root.display)
    below = _relative_to(absolute, os.path.abspath(os.getcwd()))
    parts = [part for part in (below if below is not None else root.display.name).split("/") if part]
    if not parts:
        return False
    anchored_dir = excluder.anchor_prefix(root.real_parent)
    anchored_parts = None if anchored_dir is None else [p for p in anchored_dir.split("/") if p] + [parts[-1]]
    for depth in range(1, len(parts)):
        if _is_default_excluded(parts[depth - 1], excluder):
            return True
        if excluder.rules and _matches(excluder.rules, "/".join(parts[:depth]), None, parts[depth - 1], "/"):
            return True
    if anchored_parts is not None and excluder.anchored:
        for depth in range(1, len(anchored_parts)):
            if excluder.anchored.ignored("/".join(anchored_parts[:depth]) + "/"):
                return True
        if excluder.anchored.ignored("/".join(anchored_parts)):
            return True
        return bool(excluder.rules) and _matches(excluder.rules, "/".join(parts), None, parts[-1], "")
    return bool(excluder) and excluder.excluded("/".join(parts), None, parts[-1], False)


def _root_context(root: _Root, skipped: List[Skipped]) -> Optional[Tuple[_IgnoreContext, str]]:
    """Ignore context in force for the *parent* of the root directory's
    entries, i.e. everything from the repository root down to (but excluding)
    the root's own ``.gitignore``. Returns None if the root itself is ignored.

    The returned string is the root's path relative to the context base
    (POSIX, "" when the root is the base)."""
    repo = _find_repo_root(root.real)
    if repo is None or repo == root.real:
        return (_EMPTY_CONTEXT, "")
    ctx = _IgnoreContext.for_repo(str(repo))
    rel_parts = root.real.relative_to(repo).parts
    current = repo
    for i, part in enumerate(rel_parts):
        gitignore = os.path.join(current, ".gitignore")
        if not os.path.islink(gitignore) and os.path.isfile(gitignore):
            ctx = ctx.extend(_read_ignore_file(gitignore), _posix_rel(rel_parts[:i]))
        current = current / part
        if ctx.ignored(_posix_rel(rel_parts[: i + 1]) + "/"):
            skipped.append(Skipped(root.display, SKIP_IGNORED))
            return None
    return (ctx, _posix_rel(rel_parts))


class _Frame:
    """A directory being listed."""

    __slots__ = ("entries", "index", "display", "real", "ctx", "ctx_rel", "root_rel")

    def __init__(self, entries, display, real, ctx, ctx_rel, root_rel):
        self.entries = entries  # sorted list of os.DirEntry
        self.index = 0
        self.display = display  # Path, user spelling
        self.real = real  # str, resolved path of this directory
        self.ctx = ctx  # _IgnoreContext
        self.ctx_rel = ctx_rel  # "" or "a/b/" (relative to ctx base, with trailing /)
        self.root_rel = root_rel  # "" or "a/b/" (relative to the given root)


def _list_dir(path: str) -> list:
    with os.scandir(path) as it:
        entries = list(it)
    entries.sort(key=lambda e: e.name)
    return entries


def _enter(
    path_real: str,
    display: Path,
    entries: list,
    parent_ctx: _IgnoreContext,
    ctx_rel: str,
    root_rel: str,
) -> _Frame:
    """Build the frame for a directory whose *entries* were just listed,
    switching to a new repository context or loading its .gitignore."""
    ctx = parent_ctx
    gitignore_entry = None
    is_repo = False
    for entry in entries:
        name = entry.name
        if name == ".gitignore":
            gitignore_entry = entry
        elif name == ".git":
            is_repo = True
    if is_repo:
        # A repository root (the given root, or a nested repository such as
        # a submodule): its own rules apply, not those of an outer one.
        ctx = _IgnoreContext.for_repo(path_real)
        ctx_rel = ""
    if gitignore_entry is not None and not gitignore_entry.is_symlink():
        try:
            is_file = gitignore_entry.is_file()
        except OSError:
            is_file = False
        if is_file:
            ctx = ctx.extend(_read_ignore_file(gitignore_entry.path), ctx_rel.rstrip("/"))
    return _Frame(entries, display, path_real, ctx, ctx_rel, root_rel)


def _walk_root(
    root: _Root,
    excluder: _Excluder,
    suffixes: Tuple[str, ...],
    skipped: List[Skipped],
    seen: set,
) -> Iterator[Path]:
    start = _root_context(root, skipped)
    if start is None:
        return
    ctx, rel = start
    real = str(root.real)
    try:
        entries = _list_dir(real)
    except OSError as exc:
        message = f"{root.display}: cannot read directory ({exc.strerror or exc})"
        raise DiscoveryError(root.display, message) from exc

    # If the root is itself a repository root, _root_context returned an
    # empty context and _enter switches to the repository's context.
    stack = [_enter(real, root.display, entries, ctx, rel + "/" if rel else "", "")]
    has_excludes = bool(excluder)
    dir_names, dir_globs = excluder.dir_names, excluder.dir_globs
    # --exclude also matches the path as displayed, when that is relative.
    show_display = not root.display.is_absolute()
    anchor_prefix = excluder.anchor_prefix(root.real)
    join = os.path.join

    def excluded(frame: _Frame, name: str, display: Path, is_dir: bool) -> bool:
        return has_excludes and excluder.excluded(
            frame.root_rel + name, display.as_posix() if show_display else None, name, is_dir,
            None if anchor_prefix is None else anchor_prefix + frame.root_rel + name,
        )

    while stack:
        frame = stack[-1]
        if frame.index >= len(frame.entries):
            stack.pop()
            continue
        entry = frame.entries[frame.index]
        frame.index += 1
        name = entry.name
        ctx = frame.ctx

        try:
            is_symlink = entry.is_symlink()
            is_dir = not is_symlink and entry.is_dir(follow_symlinks=False)
            if is_dir and _WINDOWS and _is_junction(entry):
                is_symlink, is_dir = True, False
            is_file = not is_symlink and not is_dir and entry.is_file(follow_symlinks=False)
        except OSError:
            continue

        if is_dir:
            if name in dir_names or (dir_globs and _is_default_excluded(name, excluder)):
                continue
            ctx_rel = frame.ctx_rel + name + "/"
            if ctx.ignored(ctx_rel):
                continue
            display = frame.display / name
            if excluded(frame, name, display, True):
                continue
            child_real = join(frame.real, name)
            try:
                child_entries = _list_dir(child_real)
            except OSError as exc:
                reason = f"{SKIP_UNREADABLE_DIR} ({exc.strerror or exc})"
                skipped.append(Skipped(display, reason))
                continue
            if any(e.name in VENV_MARKERS for e in child_entries):
                continue  # a virtual environment, whatever its name
            root_rel = frame.root_rel + name + "/"
            stack.append(_enter(child_real, display, child_entries, ctx, ctx_rel, root_rel))
            continue

        if is_file:
            if not name.endswith(suffixes):
                if name.endswith(".tmp") and _LEFTOVER.match(name):
                    skipped.append(Skipped(frame.display / name, SKIP_LEFTOVER))
                continue
            if ctx.ignored(frame.ctx_rel + name):
                continue
            display = frame.display / name
            if excluded(frame, name, display, False):
                continue
            key = _key(join(frame.real, name))
            if key in seen:
                continue
            seen.add(key)
            yield display
            continue

        if is_symlink:
            # Never followed. Report it unless it would have been left out
            # anyway (ignored, excluded, or a file with another suffix).
            try:
                target_is_dir = entry.is_dir()  # follows the link
            except OSError:
                target_is_dir = False
            if target_is_dir:
                if _is_default_excluded(name, excluder) or ctx.ignored(frame.ctx_rel + name + "/"):
                    continue
            elif not name.endswith(suffixes) or ctx.ignored(frame.ctx_rel + name):
                continue
            display = frame.display / name
            if excluded(frame, name, display, target_is_dir):
                continue
            skipped.append(Skipped(display, SKIP_SYMLINK_DIR if target_is_dir else SKIP_SYMLINK))
            continue

        # FIFOs, sockets, devices: only worth mentioning if the name matches.
        if name.endswith(suffixes) and not ctx.ignored(frame.ctx_rel + name):
            display = frame.display / name
            if not excluded(frame, name, display, False):
                skipped.append(Skipped(display, SKIP_SPECIAL))
