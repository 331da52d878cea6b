"""Dependency pins: ``openai`` requirements that would keep the 0.28 SDK become ``>=1.0``.

A pin *keeps the old SDK* when its version constraint admits no release >= 1.0 (``==0.28.1``,
``<1``, ``~=0.27``, Poetry's ``^0.28``, conda's ``openai=0.28``). Only the version part of such a
pin is replaced; the name as spelled, extras, environment markers, comments, quotes, whitespace
and line endings stay byte for byte. A pin that already allows 1.x (``openai``, ``>=0.27``,
``>=1.2``) is left alone. Files are edited as text, never re-serialised.

``migrate_requirements_file(name, data)`` dispatches on the file name (see ``pin_file_kind``);
``migrate_pip_commands(text)`` edits every ``pip install``/``conda install`` command in a piece
of shell-like text (a notebook's ``!pip``/``%pip`` line, a Dockerfile). Lock files
(``is_lock_file``) are never edited: the caller tells the user to re-lock.
"""

from __future__ import annotations

import fnmatch
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # packaging is imported where versions are compared: recognising a pin file needs none of it
    from packaging.specifiers import SpecifierSet

__all__ = [
    "LOCK_FILE_SUFFIXES",
    "NEW_SPECIFIER",
    "PIN_FILE_SUFFIXES",
    "PinResult",
    "is_lock_file",
    "is_pin_file",
    "keeps_old_sdk",
    "migrate_pip_command",
    "migrate_pip_commands",
    "migrate_requirement",
    "migrate_requirements_file",
    "pin_file_kind",
    "relock_hint",
]

NEW_SPECIFIER = ">=1.0"
_FIRST_NEW = "1.0.0a0"  # 1.0 betas already had the 1.x API

# ---------------------------------------------------------------------------------------- result


@dataclass
class PinResult:
    """``new`` is None when nothing changed; ``changes`` describes each edited pin
    (``line 3: openai==0.28.1 -> openai>=1.0``); ``notes`` are pins left for a human
    (hash-pinned lines, URLs); ``error`` is set when the file could not be read."""

    new: Optional[bytes] = None
    changes: List[str] = field(default_factory=list)
    error: Optional[str] = None
    notes: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.error is None


# ----------------------------------------------------------------------------------- file names

# For a suffix-based file walk: every dependency file ends with one of these; keep the paths for which
# ``pin_file_kind`` is not None (``Dockerfile.dev`` needs a name check of its own).
PIN_FILE_SUFFIXES = (".txt", ".in", ".toml", ".cfg", "setup.py", "Pipfile", ".yml", ".yaml", "Dockerfile", ".dockerfile")
LOCK_FILE_SUFFIXES = (".lock", "conda-lock.yml", "conda-lock.yaml", ".toml")  # then keep ``is_lock_file`` paths

_LOCK_NAMES = {"poetry.lock", "pipfile.lock", "pdm.lock", "uv.lock", "conda-lock.yml", "conda-lock.yaml", "pylock.toml"}


def is_lock_file(path_name: str) -> bool:
    """Lock files are never edited (``poetry.lock``, ``Pipfile.lock``, ``*.lock``, ``conda-lock.yml``,
    ``pylock*.toml``): after changing a pin the user must re-lock."""
    name = _base_name(path_name).lower()
    return name in _LOCK_NAMES or name.endswith(".lock") or fnmatch.fnmatch(name, "pylock.*.toml")


_RELOCK = {"poetry.lock": "poetry lock", "pipfile.lock": "pipenv lock", "pdm.lock": "pdm lock", "uv.lock": "uv lock",
           "conda-lock.yml": "conda-lock", "conda-lock.yaml": "conda-lock"}


def relock_hint(path_name: str) -> str:
    """What to tell the user about a lock file next to an updated pin: ``poetry.lock: re-lock (poetry lock)``."""
    name = _base_name(path_name)
    command = _RELOCK.get(name.lower())
    return f"{path_name}: still locks the old openai; re-lock" + (f" ({command})" if command else "")


def pin_file_kind(path_name: str) -> Optional[str]:
    """Which kind of dependency file ``path_name`` is, or None.

    ``"requirements"``: ``*requirements*.txt``, ``*constraints*.txt``, ``*.in``, any ``.txt`` in a
    folder called ``requirements``; ``"pyproject"``: ``pyproject.toml``; ``"setup.py"``;
    ``"setup.cfg"``; ``"pipfile"``: ``Pipfile``; ``"conda"``: ``environment*.yml``/``.yaml``
    (also ``conda*.yml``); ``"dockerfile"``: ``Dockerfile``, ``Dockerfile.*``, ``*.dockerfile``.
    """
    if is_lock_file(path_name):
        return None
    name = _base_name(path_name)
    lower = name.lower()
    parent = _parent_name(path_name).lower()
    if lower.endswith(".in") and not lower.endswith((".cfg.in", ".toml.in", ".py.in", ".yml.in", ".yaml.in")) \
            and lower != "manifest.in":
        return "requirements"
    if lower.endswith(".txt") and ("requirements" in lower or "constraints" in lower or parent == "requirements"):
        return "requirements"
    if lower == "pyproject.toml":
        return "pyproject"
    if lower == "setup.py":
        return "setup.py"
    if lower == "setup.cfg":
        return "setup.cfg"
    if name == "Pipfile":
        return "pipfile"
    if lower.endswith((".yml", ".yaml")) and (lower.startswith(("environment", "conda")) or lower == "env.yml"):
        return "conda"
    if lower == "dockerfile" or lower.startswith("dockerfile.") or lower.endswith(".dockerfile"):
        return "dockerfile"
    return None


def is_pin_file(path_name: str) -> bool:
    return pin_file_kind(path_name) is not None


def _base_name(path_name: str) -> str:
    return re.split(r"[\\/]", str(path_name))[-1]


def _parent_name(path_name: str) -> str:
    parts = re.split(r"[\\/]", str(path_name))
    return parts[-2] if len(parts) > 1 else ""


# ------------------------------------------------------------------------------- version checks


def _admits_new(spec: SpecifierSet) -> bool:
    """Whether some release >= 1.0 satisfies ``spec`` (probing the versions it names and their bumps)."""
    from packaging.version import InvalidVersion, Version

    probes = {Version("1.0.0"), Version("1.0.1"), Version("1.1"), Version("2.0"), Version("99999")}
    for clause in spec:
        try:
            version = Version(clause.version.rstrip(".*"))
        except InvalidVersion:
            continue
        release = tuple(version.release) + (0, 0, 0)
        major, minor, micro = release[0], release[1], release[2]
        probes |= {version, Version(f"{major}.{minor}.{micro + 1}"), Version(f"{major}.{minor + 1}"),
                   Version(f"{major + 1}"), Version(f"{major}.{minor}.{micro}.post1")}
    first_new = Version(_FIRST_NEW)
    return any(p >= first_new and spec.contains(p, prereleases=True) for p in probes)


def keeps_old_sdk(specifier: str) -> bool:
    """Whether a PEP 440 specifier (``==0.28.1``, ``<1``, ``>=0.27,<1.0``) admits no 1.x release.

    An empty or invalid specifier is not an old pin.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = re.sub(r"[\s()]", "", specifier)
    if not text:
        return False
    try:
        return not _admits_new(SpecifierSet(text))
    except InvalidSpecifier:
        return False


def _poetry_to_pep440(constraint: str) -> Optional[List[SpecifierSet]]:
    """A Poetry constraint (``^0.28``, ``~0.27.2``, ``0.28.*``, ``>=0.27,<1``, ``a || b``) as OR-ed sets."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    branches = []
    for branch in constraint.split("||"):
        clauses = []
        branch = re.sub(r"(\^|~=?|===?|!=|<=?|>=?)\s+", r"\1", branch.strip())
        for part in re.split(r"\s*,\s*|\s+", branch):
            part = part.strip()
            if not part or part == "*":
                continue
            match = re.fullmatch(r"(\^|~(?!=)|===|==|!=|~=|<=|>=|<|>|=)?\s*(\S+)", part)
            if not match:
                return None
            op, version = match.group(1) or "", match.group(2)
            if op in ("^", "~"):
                try:
                    parsed = Version(version)
                except InvalidVersion:
                    return None
                given = list(parsed.release)
                if op == "^":
                    index = next((i for i, n in enumerate(given) if n != 0), len(given) - 1)
                else:
                    index = 0 if len(given) == 1 else 1
                upper = given[:index + 1]
                upper[-1] += 1
                clauses += [f">={version}", "<" + ".".join(map(str, upper))]
            elif op in ("", "="):
                clauses.append(f"=={version}")
            else:
                clauses.append(f"{op}{version}")
        try:
            branches.append(SpecifierSet(",".join(clauses)))
        except InvalidSpecifier:
            return None
    return branches


def _poetry_keeps_old(constraint: str) -> bool:
    branches = _poetry_to_pep440(constraint)
    return bool(branches) and not any(_admits_new(b) for b in branches)


def _conda_keeps_old(version_spec: str) -> bool:
    """A conda version spec (``=0.28``, ``==0.28.1``, ``0.28.*``, ``>=0.27,<1``, ``0.27|0.28``)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    spec = version_spec.strip()
    if not spec:
        return False
    branches = []
    for branch in spec.split("|"):
        clauses = []
        for part in branch.split(","):
            part = part.strip()
            match = re.fullmatch(r"(==|!=|~=|<=|>=|<|>|=)?\s*([0-9][\w.*+!-]*)", part)
            if not match:
                return False
            op, version = match.group(1) or "", match.group(2)
            if op in ("", "=") and not version.endswith("*"):
                version += ".*"  # conda's fuzzy match: =0.28 is 0.28.*
            clauses.append(("==" if op in ("", "=") else op) + version)
        try:
            branches.append(SpecifierSet(",".join(clauses)))
        except InvalidSpecifier:
            return False
    return not any(_admits_new(b) for b in branches)


# ------------------------------------------------------------------------- one PEP 508 requirement

_NAME = r"(?<![\w.\-\[])(?P<name>[Oo][Pp][Ee][Nn][Aa][Ii])(?![\w.\-])"
_EXTRAS = r"(?P<extras>[ \t]*\[[^\]\n]*\])?"
_CLAUSE = r"(?:===|==|!=|~=|<=|>=|<|>)[ \t]*[A-Za-z0-9.*+!_-]+"
_CLAUSES = rf"{_CLAUSE}(?:[ \t]*,[ \t]*{_CLAUSE})*"
_PEP508 = re.compile(rf"{_NAME}{_EXTRAS}(?P<ws>[ \t]*)(?P<spec>\([ \t]*{_CLAUSES}[ \t]*\)|{_CLAUSES})")


def _replace_spec(spec: str) -> str:
    """The new version part, keeping parentheses."""
    if spec.startswith("("):
        inner = spec[1:-1]
        return "(" + inner[:len(inner) - len(inner.lstrip())] + NEW_SPECIFIER + inner[len(inner.rstrip()):] + ")"
    return NEW_SPECIFIER


def migrate_requirement(text: str) -> Optional[str]:
    """A PEP 508 requirement string for openai that keeps 0.28, with its version part replaced.

    ``"openai[datalib]==0.27.8; python_version >= '3.8'"`` -> ``"openai[datalib]>=1.0; python_version >= '3.8'"``.
    None when ``text`` is not such a requirement (another package, already allows 1.x, not parseable).
    """
    new, _ = _edit_requirements(text, anchored=True)
    return new


def _edit_requirements(text: str, anchored: bool) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """Replace old openai pins in ``text``: only at its start (after whitespace) when ``anchored``,
    else at every requirement-looking occurrence. Returns (new text or None, [(old, new)])."""
    pattern = _PEP508
    pieces, edits, last = [], [], 0
    for match in pattern.finditer(text):
        if anchored and text[:match.start()].strip():
            break
        if not keeps_old_sdk(match.group("spec")):
            continue
        requirement_end = _requirement_end(text, match.end())
        if not _valid_requirement(text[match.start():requirement_end]):
            continue
        spec_start, spec_end = match.span("spec")
        replacement = _replace_spec(match.group("spec"))
        pieces += [text[last:spec_start], replacement]
        last = spec_end
        edits.append((text[match.start():match.end()], text[match.start():spec_start] + replacement))
        if anchored:
            break
    if not edits:
        return None, []
    pieces.append(text[last:])
    return "".join(pieces), edits


def _requirement_end(text: str, start: int) -> int:
    """End of the requirement (with its marker) that continues at ``start``: at a comment, a quote, or the line end."""
    match = re.compile(r"[^\n\r#'\"]*").match(text, start)
    end = match.end() if match else start
    return end


def _valid_requirement(text: str) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement

    text = re.sub(r"\s+(--hash|-{1,2}[a-z][\w-]*)[=\s].*$", "", text.strip())
    text = re.sub(r"\s*\\$", "", text)
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        try:  # the marker part may be cut short (e.g. by a quote); the name and version decide
            requirement = Requirement(text.split(";", 1)[0])
        except InvalidRequirement:
            return False
    return requirement.name.lower() == "openai" and requirement.url is None


# ---------------------------------------------------------------------------------- dispatching


def migrate_requirements_file(path_name: str, data: bytes) -> PinResult:
    """Update the openai pins of one dependency file (its kind is chosen by ``pin_file_kind``)."""
    kind = pin_file_kind(path_name)
    if kind is None:
        return PinResult()
    if b"openai" not in data.lower():
        return PinResult()
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        text = data[len(bom):].decode("utf-8")
    except UnicodeDecodeError:
        if kind != "setup.py":
            return PinResult(error="cannot decode: not UTF-8 text")
        text = None
    editor = _EDITORS[kind]
    result = _FileEdit()
    if kind == "setup.py":
        new_text = _edit_setup_py(data, result)
        if new_text is None:
            return result.to_result(None)
        return result.to_result(new_text)
    assert text is not None
    new_text = editor(text, result)
    if new_text is None or new_text == text:
        return result.to_result(None)
    if kind in ("pyproject", "pipfile") and not _toml_still_equivalent(text, new_text, result.replaced_values):
        return PinResult(error="internal error: the edited TOML does not parse to the intended values; "
                               "file left unchanged")
    return result.to_result(bom + new_text.encode("utf-8"))


class _FileEdit:
    def __init__(self) -> None:
        self.changes: List[str] = []
        self.notes: List[str] = []
        self.replaced_values: List[Tuple[str, str]] = []

    def changed(self, line: int, old: str, new: str) -> None:
        self.changes.append(f"line {line}: {old.strip()} -> {new.strip()}")

    def to_result(self, new: Optional[bytes]) -> PinResult:
        return PinResult(new=new if self.changes else None, changes=self.changes, notes=self.notes)


def _lines(text: str) -> List[str]:
    """Lines with their endings (``\\r\\n``, ``\\r``, ``\\n``)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# ------------------------------------------------------------------------- requirements.txt / .in

_HASH = re.compile(r"--hash[=\s]")


def _edit_requirements_txt(text: str, result: _FileEdit) -> Optional[str]:
    out = []
    lines = _lines(text)
    logical: List[int] = []  # indexes of the physical lines of the current logical line
    for index, line in enumerate(lines):
        out.append(line)
        logical.append(index)
        if re.search(r"(?<!\\)\\\s*$", line.rstrip("\r\n")) and index + 1 < len(lines):
            continue  # a continued line: decide with the whole logical line
        whole = "".join(lines[i] for i in logical)
        first = logical[0]
        logical = []
        stripped = lines[first].lstrip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        code = _strip_txt_comment(lines[first])
        new, edits = _edit_requirements(code, anchored=True)
        if new is None:
            continue
        if _HASH.search(whole):
            result.notes.append(f"line {first + 1}: {code.strip().rstrip(chr(92)).strip()} is hash-pinned (a lock file): "
                                f"re-lock it for openai>=1.0")
            continue
        out[first] = new + lines[first][len(code):]
        for old_req, new_req in edits:
            result.changed(first + 1, old_req, new_req)
    return "".join(out)


def _strip_txt_comment(line: str) -> str:
    """The part of a requirements line before a `` #`` comment and the line ending."""
    body = line.rstrip("\r\n")
    match = re.search(r"(^|\s)#", body)
    return body[:match.start()] if match else body


# ------------------------------------------------------------------------------------ setup.cfg

_CFG_KEYS = {"install_requires", "setup_requires", "tests_require"}


def _edit_setup_cfg(text: str, result: _FileEdit) -> Optional[str]:
    out = []
    section, key = "", ""
    for index, line in enumerate(_lines(text)):
        out.append(line)
        body = line.rstrip("\r\n")
        header = re.match(r"\s*\[([^\]]+)\]", body)
        if header and not body[:1].isspace():
            section, key = header.group(1).strip().lower(), ""
            continue
        if not body.strip() or body.lstrip().startswith(("#", ";")):
            continue
        value_start = 0
        if not body[:1].isspace():
            match = re.match(r"([^=:\s][^=:]*?)\s*[=:]\s*", body)
            if not match:
                key = ""
                continue
            key, value_start = match.group(1).strip().lower(), match.end()
        wanted = (section == "options" and key in _CFG_KEYS) or section == "options.extras_require"
        if not wanted:
            continue
        value = body[value_start:]
        code = value.split(" #", 1)[0]
        new, edits = _edit_requirements(code, anchored=False)
        if new is None:
            continue
        out[-1] = body[:value_start] + new + body[value_start + len(code):] + line[len(body):]
        for old_req, new_req in edits:
            result.changed(index + 1, old_req, new_req)
    return "".join(out)


# ------------------------------------------------------------------------------------- setup.py


def _edit_setup_py(data: bytes, result: _FileEdit) -> Optional[bytes]:
    """Requirement strings in setup.py's string literals (``install_requires=["openai==0.28"]``)."""
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(data).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return None
    encoding = tokens[0].string if tokens and tokens[0].type == tokenize.ENCODING else "utf-8"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
        bom = data[:3]
    else:
        bom = b""
    line_starts = [0]
    for line in _lines(text):
        line_starts.append(line_starts[-1] + len(line))
    pieces, last = [], 0
    for token in tokens:
        if token.type != tokenize.STRING:
            continue
        match = re.match(r"([rRuU]?)('''|\"\"\"|'|\")", token.string)
        if not match:
            continue  # bytes and f-strings are not requirements
        quote = match.group(2)
        body_start = match.end()
        body = token.string[body_start:len(token.string) - len(quote)]
        new_body, edits = _edit_requirements(body, anchored=len(quote) == 1)
        if new_body is None:
            continue
        start = line_starts[token.start[0] - 1] + token.start[1]
        pieces += [text[last:start + body_start], new_body]
        last = start + body_start + len(body)
        for old_req, new_req in edits:
            result.changed(token.start[0], old_req, new_req)
    if not pieces:
        return None
    pieces.append(text[last:])
    return bom + "".join(pieces).encode(encoding)


# ----------------------------------------------------------------------------- TOML (surgically)


@dataclass
class _TomlString:
    start: int  # offset of the opening quote
    end: int  # offset after the closing quote
    quote: str
    value: str
    path: Tuple[str, ...]  # table path + key path (+ inline table keys)
    in_array: bool


class _TomlScanner:
    """Just enough TOML to find each string value and the key path it belongs to."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.strings: List[_TomlString] = []

    def scan(self) -> List[_TomlString]:
        table: Tuple[str, ...] = ()
        text = self.text
        while True:
            self._skip_blank(newlines=True)
            if self.pos >= len(text):
                return self.strings
            if text[self.pos] == "[":
                double = text.startswith("[[", self.pos)
                self.pos += 2 if double else 1
                table = tuple(self._key())
                self._skip_blank()
                self._expect("]]" if double else "]")
                continue
            key = self._key()
            self._skip_blank()
            self._expect("=")
            self._value(table + tuple(key), in_array=False)

    def _expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise ValueError(f"expected {token!r} at offset {self.pos}")
        self.pos += len(token)

    def _skip_blank(self, newlines: bool = False) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                while self.pos < len(text) and text[self.pos] not in "\r\n":
                    self.pos += 1
            else:
                return

    def _key(self) -> List[str]:
        parts = []
        while True:
            self._skip_blank()
            if self.pos < len(self.text) and self.text[self.pos] in "\"'":
                parts.append(self._string(()).value)
            else:
                match = re.compile(r"[A-Za-z0-9_-]+").match(self.text, self.pos)
                if not match:
                    raise ValueError(f"bad key at offset {self.pos}")
                parts.append(match.group())
                self.pos = match.end()
            self._skip_blank()
            if self.text.startswith(".", self.pos):
                self.pos += 1
                continue
            return parts

    def _string(self, path: Tuple[str, ...], in_array: bool = False) -> _TomlString:
        text, start = self.text, self.pos
        for quote in ('"""', "'''", '"', "'"):
            if text.startswith(quote, start):
                break
        body = start + len(quote)
        if quote == '"':
            match = re.compile(r'(?:[^"\\\r\n]|\\.)*"').match(text, body)
        elif quote == "'":
            match = re.compile(r"[^'\r\n]*'").match(text, body)
        else:
            match = re.compile(r"(?s).*?" + re.escape(quote) + "(?!" + re.escape(quote[0]) + ")").match(text, body)
        if not match:
            raise ValueError(f"unterminated string at offset {start}")
        self.pos = match.end()
        raw = text[body:self.pos - len(quote)]
        value = _toml_basic_value(raw) if quote.startswith('"') else raw
        item = _TomlString(start, self.pos, quote, value, path, in_array)
        self.strings.append(item)
        return item

    def _value(self, path: Tuple[str, ...], in_array: bool) -> None:
        self._skip_blank()
        text = self.text
        char = text[self.pos:self.pos + 1]
        if char in ("\"", "'"):
            self._string(path, in_array)
        elif char == "[":
            self.pos += 1
            while True:
                self._skip_blank(newlines=True)
                if text.startswith("]", self.pos):
                    self.pos += 1
                    return
                self._value(path, in_array=True)
                self._skip_blank(newlines=True)
                if text.startswith(",", self.pos):
                    self.pos += 1
        elif char == "{":
            self.pos += 1
            while True:
                self._skip_blank(newlines=True)
                if text.startswith("}", self.pos):
                    self.pos += 1
                    return
                key = self._key()
                self._skip_blank()
                self._expect("=")
                self._skip_blank()
                self._value(path + tuple(key), in_array)
                self._skip_blank(newlines=True)
                if text.startswith(",", self.pos):
                    self.pos += 1
        else:
            self._skip_blank()
            match = re.compile(r"[^\s,\]}#]+(?:[ T][0-9:.+Z-]+)?").match(text, self.pos)
            if not match:
                raise ValueError(f"bad value at offset {self.pos}")
            self.pos = match.end()


def _toml_basic_value(raw: str) -> str:
    if "\\" not in raw:
        return raw
    escapes = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}

    def unescape(match: "re.Match[str]") -> str:
        code = match.group(1)
        if code[0] in "uU":
            return chr(int(code[1:], 16))
        if code[0] in " \t\r\n":
            return ""  # line-ending backslash in a multi-line string
        return escapes.get(code, code)

    return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[\s]+|.)", unescape, raw)


def _edit_toml_strings(text: str, result: _FileEdit,
                       decide: Callable[[_TomlString], Optional[Tuple[str, bool]]]) -> Optional[str]:
    """Rewrite the strings for which ``decide`` returns (new value, value_is_pep508)."""
    try:
        strings = _TomlScanner(text).scan()
    except (ValueError, IndexError) as exc:
        result.notes.append(f"cannot read the TOML ({exc}): pins left unchanged")
        return None
    pieces, last = [], 0
    for item in strings:
        if len(item.quote) != 1:
            continue
        decided = decide(item)
        if decided is None:
            continue
        new_value, is_requirement = decided
        raw = text[item.start + 1:item.end - 1]
        if raw != item.value:
            continue  # escapes inside: leave it to a human rather than risk the quoting
        pieces += [text[last:item.start + 1], new_value]
        last = item.end - 1
        label = "" if is_requirement else "openai "
        result.changed(_line_of(text, item.start), label + item.value, label + new_value)
        result.replaced_values.append((item.value, new_value))
    if not pieces:
        return None
    pieces.append(text[last:])
    return "".join(pieces)


def _is_openai(key: str) -> bool:
    return key.lower() == "openai"


def _edit_pyproject(text: str, result: _FileEdit) -> Optional[str]:
    def decide(item: _TomlString) -> Optional[Tuple[str, bool]]:
        path = [p.lower() for p in item.path]
        poetry_table = len(path) >= 3 and path[0] == "tool" and path[1] == "poetry" and any(
            "dependencies" in p for p in path[2:-1])
        if poetry_table and _is_openai(path[-1]) and not item.in_array:
            return (NEW_SPECIFIER, False) if _poetry_keeps_old(item.value) else None
        if poetry_table and len(path) >= 2 and path[-1] == "version" and _is_openai(path[-2]):
            return (NEW_SPECIFIER, False) if _poetry_keeps_old(item.value) else None
        if item.in_array:
            new = migrate_requirement(item.value)
            if new is not None and not item.value[:1].isspace():
                return new, True
        return None

    return _edit_toml_strings(text, result, decide)


def _edit_pipfile(text: str, result: _FileEdit) -> Optional[str]:
    def decide(item: _TomlString) -> Optional[Tuple[str, bool]]:
        path = [p.lower() for p in item.path]
        if len(path) < 2 or path[0] in ("source", "requires", "scripts", "pipenv"):
            return None
        if (len(path) == 2 and _is_openai(path[1])) or (len(path) == 3 and _is_openai(path[1])
                                                         and path[2] == "version"):
            return (NEW_SPECIFIER, False) if keeps_old_sdk(item.value) else None
        return None

    return _edit_toml_strings(text, result, decide)


def _toml_still_equivalent(old: str, new: str, replaced: Sequence[Tuple[str, str]]) -> bool:
    """The edited TOML parses and differs from the original only by the intended string values."""
    try:
        import tomllib as toml  # type: ignore[import-not-found]
    except ImportError:  # Python < 3.11
        try:
            import tomli as toml  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return True
    try:
        before, after = toml.loads(old), toml.loads(new)
    except Exception:  # noqa: BLE001 - any parse failure of the original means: cannot check
        try:
            toml.loads(old)
        except Exception:  # noqa: BLE001
            return True  # the original did not parse either (a template?): the text edit is all we can do
        return False
    allowed = set(replaced)

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, str) and isinstance(b, str) and a != b:
            return (a, b) in allowed
        return type(a) is type(b) and a == b

    return same(before, after)


# ------------------------------------------------------------------------------ environment.yml

_YAML_ITEM = re.compile(r"^(?P<indent>[ \t]*)-[ \t]+(?P<rest>.*)$")
_CONDA_SPEC = re.compile(
    r"^(?P<prefix>(?:[\w.\-/:]+::)?)" + r"(?P<name>[Oo][Pp][Ee][Nn][Aa][Ii])(?![\w.\-])"
    r"(?P<ws>[ \t]*)(?P<version>(?:==|!=|~=|<=|>=|<|>|=)?[ \t]*[0-9][\w.*+!,|<>=~ -]*?)(?P<build>=[\w.*]+)?[ \t]*$")


def _edit_environment_yml(text: str, result: _FileEdit) -> Optional[str]:
    out = []
    pip_indent: Optional[int] = None
    for index, line in enumerate(_lines(text)):
        out.append(line)
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(body) - len(body.lstrip())
        if pip_indent is not None and indent <= pip_indent:
            pip_indent = None
        item = _YAML_ITEM.match(body)
        if item is None:
            continue
        rest = item.group("rest")
        if re.match(r"pip[ \t]*:[ \t]*(#.*)?$", rest):
            pip_indent = len(item.group("indent"))
            continue
        value, comment = _split_yaml_comment(rest)
        quote = value[:1] if value[:1] in ("'", '"') and value.endswith(value[:1]) and len(value) > 1 else ""
        inner = value[1:-1] if quote else value
        if pip_indent is not None:
            new_inner = migrate_requirement(inner)
            edits = [(inner, new_inner)] if new_inner is not None else []
        else:
            new_inner = _migrate_conda_spec(inner)
            edits = [(inner, new_inner)] if new_inner is not None else []
        if new_inner is None:
            continue
        if not quote and re.search(r"^[>|!&*%@`]|: |\s#", new_inner):
            new_inner = f'"{new_inner}"'  # would not be a plain YAML scalar
        start = len(body) - len(rest)
        out[-1] = body[:start] + quote + new_inner + quote + comment + line[len(body):]
        for old_req, new_req in edits:
            result.changed(index + 1, old_req, new_req)
    return "".join(out)


def _split_yaml_comment(rest: str) -> Tuple[str, str]:
    """(value, trailing whitespace and comment) of a YAML list item."""
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end > 0:
            return rest[:end + 1], rest[end + 1:]
    match = re.search(r"[ \t]+#|[ \t]+$", rest)
    return (rest[:match.start()], rest[match.start():]) if match else (rest, "")


def _migrate_conda_spec(spec: str) -> Optional[str]:
    """``openai=0.28`` / ``conda-forge::openai==0.28.1=pyhd8ed1ab_0`` / ``openai 0.28.*`` -> ``openai>=1.0``."""
    match = _CONDA_SPEC.match(spec)
    if not match:
        return None
    version = match.group("version")
    if not _conda_keeps_old(version):
        return None
    separator = match.group("ws")
    return match.group("prefix") + match.group("name") + separator + NEW_SPECIFIER


# -------------------------------------------------------------------------- pip/conda commands

_PIP_INSTALL = re.compile(
    r"(?:(?<![\w.\-])(?:pip(?:3(?:\.\d+)?)?|uv[ \t]+pip)"
    r"|(?:\{sys\.executable\}|\$?\{?PYTHON\}?|\S*python(?:3(?:\.\d+)?)?(?:\.exe)?)[ \t]+-m[ \t]+pip)"
    r"[ \t]+(?:(?:-\w+|--[\w-]+)[ \t]+)*install\b")
_CONDA_INSTALL = re.compile(r"(?<![\w.\-/])(?:conda|mamba|micromamba)[ \t]+(?:(?:-\w+|--[\w-]+)[ \t]+)*install\b")
_PIP_VALUE_OPTIONS = {
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--src", "--trusted-host", "--platform",
    "--python-version", "--implementation", "--abi", "--only-binary", "--no-binary", "--upgrade-strategy",
    "--progress-bar", "--log", "--cache-dir", "-C", "--config-settings", "--global-option", "--install-option",
    "--proxy", "--retries", "--timeout", "--exists-action", "--cert", "--client-cert", "--report", "--python",
    "-p", "--prefix", "-n", "--name", "--channel", "--file",
}
_CONDA_VALUE_OPTIONS = {"-c", "--channel", "-n", "--name", "-p", "--prefix", "--file", "--override-channels"}
_SHELL_WORD = re.compile(r"""(?:[^\s'"\\;&|<>()#`]|\\.|'[^'\n]*'|"(?:[^"\\\n]|\\.)*")+""")


def migrate_pip_command(line: str) -> Optional[str]:
    """One line of shell-like text (``!pip install -q openai==0.28``, ``%pip install "openai<1"``,
    ``RUN pip install openai==0.27.8``) with its old openai pins updated, or None if unchanged."""
    new, _ = migrate_pip_commands(line)
    return new if new != line else None


def migrate_pip_commands(text: str) -> Tuple[str, List[Tuple[str, str]]]:
    """Every ``pip install`` / ``conda install`` command in ``text`` (shell continuation lines
    included), with old openai pins updated. Returns (new text, [(old argument, new argument)]).

    An unquoted replacement is quoted (``"openai>=1.0"``), since ``>`` is a shell redirection.
    """
    edits: List[Tuple[int, int, str, str, str]] = []
    for pattern, is_conda in ((_PIP_INSTALL, False), (_CONDA_INSTALL, True)):
        for match in pattern.finditer(text):
            for start, end, word in _command_words(text, match.end()):
                new_word = _migrate_install_argument(word, is_conda)
                if new_word is not None:
                    edits.append((start, end, word, new_word, "conda" if is_conda else "pip"))
    if not edits:
        return text, []
    edits.sort()
    pieces, last, pairs = [], 0, []
    for start, end, word, new_word, _kind in edits:
        if start < last:
            continue
        pieces += [text[last:start], new_word]
        last = end
        pairs.append((word, new_word))
    pieces.append(text[last:])
    return "".join(pieces), pairs


def _command_words(text: str, pos: int) -> Iterator[Tuple[int, int, str]]:
    """The arguments of the command continuing at ``pos`` (requirement candidates, options skipped)."""
    skip_next = False
    while pos < len(text):
        match = re.compile(r"(?:[ \t]|\\\r?\n)*").match(text, pos)
        pos = match.end() if match else pos
        if pos >= len(text) or text[pos] in "\r\n;&|<>()#`":
            return
        word = _SHELL_WORD.match(text, pos)
        if not word:
            return
        pos = word.end()
        value = word.group()
        if skip_next:
            skip_next = False
            continue
        if value.startswith("-"):
            skip_next = value in _PIP_VALUE_OPTIONS or value in _CONDA_VALUE_OPTIONS
            continue
        yield word.start(), word.end(), value


def _migrate_install_argument(word: str, is_conda: bool) -> Optional[str]:
    quote = word[0] if word[0] in "'\"" and word.endswith(word[0]) and len(word) > 1 else ""
    inner = word[1:-1] if quote else word
    if not quote and re.search(r"['\"\\]", inner):
        return None
    if is_conda:
        new = _migrate_conda_spec(inner)
    else:
        new = migrate_requirement(inner)
        if new is not None and inner != inner.strip():
            return None
    if new is None:
        return None
    if not quote:
        return f'"{new}"' if re.search(r"[<>|&;()$`\s!*?]", new) else new
    return quote + new + quote


# ----------------------------------------------------------------------------------- Dockerfile


def _edit_dockerfile(text: str, result: _FileEdit) -> Optional[str]:
    new, _ = migrate_pip_commands(text)
    if new == text:
        return None
    old_lines, new_lines = _lines(text), _lines(new)
    for number, (old_line, new_line) in enumerate(zip(old_lines, new_lines), start=1):
        if old_line != new_line:
            result.changed(number, old_line, new_line)
    return new


_EDITORS = {
    "requirements": _edit_requirements_txt,
    "pyproject": _edit_pyproject,
    "setup.cfg": _edit_setup_cfg,
    "setup.py": None,
    "pipfile": _edit_pipfile,
    "conda": _edit_environment_yml,
    "dockerfile": _edit_dockerfile,
}
