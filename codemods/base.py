"""The interface every rule implements, and small CST helpers the rules share."""

from __future__ import annotations

import keyword
from typing import ClassVar, Optional, Tuple

import libcst as cst

from .analysis import string_value  # noqa: F401  (the rules import it from here)
from .context import MigrationContext


class Rule:
    """A migration rule. The engine calls ``prepare`` on every rule, then ``apply``, then ``finish``.

    ``prepare`` may choose shared settings (the client strategy); ``apply`` records edits;
    ``finish`` runs after every rule has applied (e.g. to create the client the calls need).
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    #: rules whose work this one builds on; they run whenever it runs
    requires: ClassVar[Tuple[str, ...]] = ()

    def prepare(self, ctx: MigrationContext) -> None:
        pass

    def apply(self, ctx: MigrationContext) -> None:
        pass

    def finish(self, ctx: MigrationContext) -> None:
        pass


def is_identifier(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def keyword_arg(call: cst.Call, name: str) -> Optional[cst.Arg]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None
