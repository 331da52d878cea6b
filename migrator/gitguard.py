"""Git safety check: refuse to let the tool overwrite uncommitted work.

:func:`find_unsafe` asks git about every file the tool is about to rewrite and
reports the ones whose current content is not safely committed: modified,
staged, untracked, ignored, conflicted, outside any work tree, or impossible
to check (git missing or failing). A file is only considered safe when git
positively says it is tracked and unchanged.

Git runs a fixed number of times per repository, never once per file:
``rev-parse --show-toplevel`` (grouping), ``ls-files -v`` (what is tracked),
``status --porcelain=v1 -z`` (staged/unstaged changes, conflicts) and, only
if some files are untracked, ``check-ignore --stdin`` (untracked vs ignored).
Up to a few hundred files are passed as literal pathspecs; for more, git
reports on the whole work tree and the answer is filtered here. Git runs
with ``LC_ALL=C``, no pager, no optional locks, no prompts, and without the
repository-selecting environment variables (``GIT_DIR`` & co) that are set
inside git hooks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

__all__ = [
    "Problem",
    "find_unsafe",
    "REASON_CONFLICT",
    "REASON_DIRTY",
    "REASON_GIT_FAILED",
    "REASON_IGNORED",
    "REASON_NEVER_COMMITTED",
    "REASON_NOT_TRACKED",
    "REASON_NO_GIT",
    "REASON_NO_REPO",
    "REASON_UNCHECKABLE",
    "REASON_UNTRACKED",
]

REASON_DIRTY = "has uncommitted changes"
REASON_NEVER_COMMITTED = "has uncommitted changes (added, never committed under this name)"
REASON_CONFLICT = "has unresolved merge conflicts"
REASON_UNTRACKED = "is untracked (not committed to git)"
REASON_IGNORED = "is ignored by git (not committed)"
REASON_NOT_TRACKED = "is not tracked by git"
REASON_UNCHECKABLE = (
    "is marked assume-unchanged/skip-worktree, so git cannot tell whether it changed"
)
REASON_NO_REPO = "is not inside a git work tree"
REASON_NO_GIT = "git is not installed"
REASON_GIT_FAILED = "could not be checked: git failed"

_WINDOWS = os.name == "nt"
_MACOS = sys.platform == "darwin"

# Variables that make git use another repository/index than the one the
# file lives in (they are set when running inside a git hook).
_REPO_ENV_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)

# Up to this many files per repository are passed to git as pathspecs;
# beyond that git is asked about the whole work tree and the answer filtered
# (git matches every index entry against every pathspec, so thousands of
# pathspecs get slow). Also keeps command lines below OS limits (Windows:
# 32767 characters).
_MAX_PATHSPECS = 256
_MAX_ARGS_CHARS = 24_000 if _WINDOWS else 100_000

_UNMERGED = {"DD", "AU", "UD", "UA", "DU", "AA", "UU"}


@dataclass(frozen=True)
class Problem:
    """A file that must not be overwritten, and why (human-readable, meant
    to follow the path: ``f"{p.path} {p.reason}"``)."""

    path: Path
    reason: str


class _GitError(Exception):
    pass


class _GitMissing(Exception):
    pass


def find_git() -> Optional[str]:
    """The git executable on PATH. On Windows, ``shutil.which`` also looks in the current directory first (a
    ``git.bat`` in the repository being migrated would run), so only the PATH entries are searched, and an
    entry that is the current directory is passed over."""
    if os.name != "nt":
        return shutil.which("git")
    here = os.path.normcase(os.path.abspath(os.getcwd()))
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        entry = entry.strip().strip('"')
        if not entry or not os.path.isabs(entry) or os.path.normcase(os.path.abspath(entry)) == here:
            continue
        for name in ("git.exe", "git.cmd", "git.bat"):
            candidate = os.path.join(entry, name)
            if os.path.isfile(candidate):
                return candidate
    return None


def _git_env() -> Dict[str, str]:
    env = dict(os.environ)
    for var in _REPO_ENV_VARS:
        env.pop(var, None)
    env.update(
        LC_ALL="C",
        LANGUAGE="C",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GCM_INTERACTIVE="never",
    )
    return env


def _run_git(
    git: str,
    args: Sequence[str],
    cwd: str,
    env: Dict[str, str],
    stdin: Optional[bytes] = None,
    ok_codes: Tuple[int, ...] = (0,),
) -> bytes:
    kwargs = {}
    if _WINDOWS:
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    try:
        proc = subprocess.run(
            [git, "--no-pager", "-c", "core.quotepath=false", *args],
            cwd=cwd,
            env=env,
            input=stdin if stdin is not None else b"",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
            **kwargs,
        )
    except FileNotFoundError as exc:
        raise _GitMissing() from exc
    except OSError as exc:
        raise _GitError(str(exc)) from exc
    if proc.returncode not in ok_codes:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        main = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
        message = (main or lines or [f"exit status {proc.returncode}"])[0]
        raise _GitError(message.strip())
    return proc.stdout


def _encode(path: str) -> bytes:
    return path.encode("utf-8") if _WINDOWS else os.fsencode(path)


def _decode(raw: bytes) -> str:
    # git prints file names as raw bytes; on Windows they are UTF-8.
    return raw.decode("utf-8", "replace") if _WINDOWS else os.fsdecode(raw)


def _match_key(rel: str, ignorecase: bool = False) -> str:
    """Normalise a repository-relative POSIX path for comparing what we asked
    with what git answered. Case is folded only for repositories with
    ``core.ignorecase`` (case-insensitive file systems); unicode is
    normalised only on macOS, where git precomposes file names."""
    if _MACOS:
        rel = unicodedata.normalize("NFC", rel)
    return rel.casefold() if ignorecase else rel


def _find_dotgit(directory: Path, cache: Dict[str, Optional[Path]]) -> Optional[Path]:
    """Nearest ancestor (inclusive) of *directory* with a ``.git`` entry."""
    visited = []
    found: Optional[Path] = None
    for candidate in (directory, *directory.parents):
        key = str(candidate)
        if key in cache:
            found = cache[key]
            break
        visited.append(key)
        if os.path.lexists(os.path.join(key, ".git")):
            found = candidate
            break
    for key in visited:
        cache[key] = found
    return found


def _physical(path: Path, cache: Dict[str, str]) -> str:
    """Absolute path with symlinks resolved in the *directory* part only (a
    symlinked file stays itself: git tracks the link, not its target)."""
    directory, name = os.path.split(os.path.abspath(path))
    real = cache.get(directory)
    if real is None:
        try:
            real = str(Path(directory).resolve())
        except (OSError, RuntimeError):
            real = directory
        cache[directory] = real
    return os.path.join(real, name)


def _relative(path: str, top: str) -> Optional[str]:
    """*path* relative to the work tree *top*, in POSIX form, or None."""
    top = top.rstrip("/\\") if len(top) > 1 else top
    for p, t in ((path, top), (os.path.normcase(path), os.path.normcase(top))):
        for sep in {os.sep, "/"}:
            prefix = t if t.endswith(sep) else t + sep
            if p.startswith(prefix):
                rel = path[len(prefix):]
                return rel.replace(os.sep, "/") if os.sep != "/" else rel
    return None


def _pathspec_args(rels: Sequence[str]) -> Optional[List[str]]:
    """Pathspecs limiting git to *rels*, or None to query the whole work tree
    (cheaper than thousands of pathspecs, and no command-line length limit)."""
    if len(rels) > _MAX_PATHSPECS or sum(len(r) + 3 for r in rels) > _MAX_ARGS_CHARS:
        return None
    return ["--", *rels]


class _Repo:
    """Queries about one work tree."""

    def __init__(self, git: str, top: str, env: Dict[str, str]) -> None:
        self.git = git
        self.top = top
        self.env = env
        self.ignorecase = False
        if _WINDOWS or _MACOS:
            out = self.run(["config", "--bool", "--get", "core.ignorecase"], ok_codes=(0, 1))
            self.ignorecase = out.strip() == b"true"

    def run(self, args: Sequence[str], stdin: Optional[bytes] = None, ok_codes=(0,)) -> bytes:
        return _run_git(self.git, args, self.top, self.env, stdin=stdin, ok_codes=ok_codes)

    def key(self, raw: Union[bytes, str]) -> str:
        return _match_key(_decode(raw) if isinstance(raw, bytes) else raw, self.ignorecase)

    def tracked(self, spec: Optional[List[str]]) -> Dict[str, str]:
        """Map key -> ls-files tag ("H" = normal) for the files in the index."""
        out = self.run(["--literal-pathspecs", "ls-files", "-z", "-v", *(spec or [])])
        return {
            self.key(record[2:]): record[:1].decode("ascii", "replace")
            for record in out.split(b"\0")
            if len(record) >= 3
        }

    def changed(self, spec: Optional[List[str]]) -> Dict[str, str]:
        """Map key -> reason for tracked paths with staged or unstaged changes
        (untracked files are found through the index instead)."""
        fields = self.run(
            [
                "--literal-pathspecs",
                "--no-optional-locks",
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=no",
                *(spec or []),
            ]
        ).split(b"\0")
        reasons: Dict[str, str] = {}
        i = 0
        while i < len(fields):
            record = fields[i]
            i += 1
            if len(record) < 4:
                continue
            xy = record[:2].decode("ascii", "replace")
            paths = [record[3:]]
            if "R" in xy or "C" in xy:  # "XY new\0old\0": the old name follows
                if i < len(fields):
                    paths.append(fields[i])
                    i += 1
            if xy in _UNMERGED:
                reason = REASON_CONFLICT
            elif xy[0] == "A":
                reason = REASON_NEVER_COMMITTED
            else:
                reason = REASON_DIRTY
            for raw in paths:
                reasons.setdefault(self.key(raw), reason)
        return reasons

    def ignored(self, rels: Sequence[str]) -> Set[str]:
        """Keys of the (untracked) *rels* that git ignores."""
        if not rels:
            return set()
        data = b"".join(_encode(rel) + b"\0" for rel in rels)
        # exit status 1 just means "none of them is ignored"
        out = self.run(["check-ignore", "-z", "--stdin"], stdin=data, ok_codes=(0, 1))
        return {self.key(raw) for raw in out.split(b"\0") if raw}

    def verdicts(self, rels: Sequence[str]) -> List[Optional[str]]:
        """Reason (or None if safe to overwrite) for each of *rels*."""
        # git matches pathspecs case-sensitively even with core.ignorecase,
        # so such repositories are queried whole and matched here.
        spec = None if self.ignorecase else _pathspec_args(rels)
        tracked = self.tracked(spec)
        changed = self.changed(spec)
        keys = [self.key(rel) for rel in rels]
        ignored = self.ignored([rel for rel, key in zip(rels, keys) if key not in tracked])
        result: List[Optional[str]] = []
        for rel, key in zip(rels, keys):
            tag = tracked.get(key)
            reason: Optional[str]
            if key in changed:  # includes the old name of a staged rename
                reason = changed[key]
            elif tag is None:
                if key in ignored:
                    reason = REASON_IGNORED
                elif os.path.lexists(os.path.join(self.top, rel)):
                    reason = REASON_UNTRACKED
                else:
                    reason = REASON_NOT_TRACKED
            elif tag == "M":
                reason = REASON_CONFLICT
            elif tag != "H":  # "S": skip-worktree; lower case: assume-unchanged
                reason = REASON_UNCHECKABLE
            else:
                reason = None
            result.append(reason)
        return result


def find_unsafe(files: Sequence[Path]) -> List[Problem]:
    """Return a :class:`Problem` for each file in *files* that git does not
    vouch for: only files that are tracked and identical to ``HEAD`` (no
    staged or unstaged change) are safe to overwrite.

    Files are grouped per repository (found by walking up to the nearest
    ``.git`` and confirmed with ``git rev-parse --show-toplevel``), so git runs
    a constant number of times per repository. Problems come back in the
    order of *files*; duplicates are reported once.
    """
    unique: List[Path] = []
    seen: Set[str] = set()
    for f in files:
        f = Path(f)
        key = os.path.normcase(os.path.abspath(f))
        if key not in seen:
            seen.add(key)
            unique.append(f)
    if not unique:
        return []

    git = find_git()
    if git is None:
        return [Problem(f, REASON_NO_GIT) for f in unique]

    env = _git_env()
    problems: Dict[int, Problem] = {}
    dotgit_cache: Dict[str, Optional[Path]] = {}
    resolve_cache: Dict[str, str] = {}
    # candidate work tree -> [(index, physical path)]
    groups: Dict[Path, List[Tuple[int, str]]] = {}
    for index, f in enumerate(unique):
        physical = _physical(f, resolve_cache)
        candidate = _find_dotgit(Path(os.path.dirname(physical)), dotgit_cache)
        if candidate is None:
            problems[index] = Problem(f, REASON_NO_REPO)
        else:
            groups.setdefault(candidate, []).append((index, physical))

    try:
        # Confirm each candidate with git; merge candidates resolving to the
        # same work tree (e.g. an invalid nested ".git" that git skips over).
        by_top: Dict[str, List[Tuple[int, str]]] = {}
        for candidate, members in groups.items():
            try:
                out = _run_git(git, ["rev-parse", "--show-toplevel"], str(candidate), env)
                top = _decode(out.rstrip(b"\r\n"))
            except _GitError as exc:
                text = str(exc)
                if "not a git repository" in text or "must be run in a work tree" in text:
                    reason = REASON_NO_REPO
                else:
                    reason = f"{REASON_GIT_FAILED} ({text})"
                for index, _ in members:
                    problems[index] = Problem(unique[index], reason)
                continue
            if not top:
                for index, _ in members:
                    problems[index] = Problem(unique[index], REASON_NO_REPO)
                continue
            by_top.setdefault(top, []).extend(members)

        for top, members in by_top.items():
            asked: List[Tuple[int, str]] = []
            resolved_top: Optional[str] = None
            for index, physical in members:
                rel = _relative(physical, top)
                if rel is None:  # git may print a mapped or subst drive (Z:/...) that resolve() turned into its target
                    if resolved_top is None:
                        try:
                            resolved_top = str(Path(top).resolve())
                        except (OSError, RuntimeError):
                            resolved_top = top
                    rel = _relative(physical, resolved_top)
                if rel is None or rel in ("", ".") or rel == ".git" or rel.startswith(".git/"):
                    problems[index] = Problem(unique[index], REASON_NO_REPO)
                else:
                    asked.append((index, rel))
            if not asked:
                continue
            try:
                verdicts = _Repo(git, top, env).verdicts([rel for _, rel in asked])
            except _GitError as exc:
                for index, _ in asked:
                    problems[index] = Problem(unique[index], f"{REASON_GIT_FAILED} ({exc})")
                continue
            for (index, _), reason in zip(asked, verdicts):
                if reason is not None:
                    problems[index] = Problem(unique[index], reason)
    except _GitMissing:
        return [Problem(f, REASON_NO_GIT) for f in unique]

    return [problems[i] for i in sorted(problems)]
