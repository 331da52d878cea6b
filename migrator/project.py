"""What the whole run tells about each file: is openai configured in one module and used in others?

0.28 kept its settings in module globals, so a project could set ``openai.api_key`` in a settings
module or a startup hook and call the API from any other module. 1.x clients do not read those
globals, but the 1.x module-level client does, at call time. So when one file of the run sets
openai settings and another file calls the API without setting them, every file keeps the
settings as module attributes and calls through the module client (``shared_configuration``).

The check is a cheap byte scan of the ``.py`` files that mention openai, done before any of them
is parsed; a false alarm only costs the more conservative (still correct) migration. Notebooks
are programs of their own and take no part in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Set

from codemods import Options

_SETS_CONFIGURATION = re.compile(
    rb"\bopenai\s*\.\s*(?:api_key|api_base|organization|api_type|api_version|api_key_path|proxy)\s*=(?!=)")
_CALLS_API = re.compile(
    rb"\b(?:ChatCompletion|Completion|Embedding|Image|Audio|Moderation|File|FineTuningJob|Model)\s*\.\s*"
    rb"a?(?:create|list|retrieve|delete|transcribe|translate|download|create_variation|create_edit|cancel|"
    rb"list_events)\b")


@dataclass
class ProjectFacts:
    configuring: Set[str] = field(default_factory=set)  # files that set openai.* settings
    calling_unconfigured: Set[str] = field(default_factory=set)  # files that call the API without setting them

    def observe(self, name: str, data: bytes) -> None:
        sets = bool(_SETS_CONFIGURATION.search(data))
        if sets:
            self.configuring.add(name)
        elif _CALLS_API.search(data):
            self.calling_unconfigured.add(name)

    @property
    def shared_configuration(self) -> bool:
        """Settings made in one file are relied on by calls in another."""
        return bool(self.configuring) and bool(self.calling_unconfigured - self.configuring)

    def options(self, base: Options) -> Options:
        return replace(base, shared_configuration=self.shared_configuration) if self.shared_configuration else base
