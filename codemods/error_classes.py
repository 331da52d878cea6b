"""OM004 error-classes: ``openai.error.X`` -> the 1.x exception that is raised for the same failures.

``InvalidRequestError`` -> ``(BadRequestError, NotFoundError)``, ``Timeout`` ->
``APITimeoutError``, ``PermissionError`` -> ``PermissionDeniedError``, ``TryAgain`` ->
``ConflictError``, ``ServiceUnavailableError`` -> ``InternalServerError``, and 0.28's narrow
``APIError`` (5xx and 422) -> ``(InternalServerError, UnprocessableEntityError)``, never 1.x's
catch-all ``APIError``. Works through ``openai.error.X``, ``from openai.error import X``,
aliases, and ``except (A, B)`` tuples. Where a class has no 1.x counterpart, or a tuple cannot
stand (``raise``, a base class), the code is kept and a TODO says what to do.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import libcst as cst

from .analysis import OpenAIRef
from .api_table import ERROR_ATTRIBUTE_NOTES, ERROR_ATTRIBUTES, ERRORS, STATUS_ERRORS
from .base import Rule
from .context import MigrationContext
from .strategy import dotted

RULE = "error-classes"
# 0.28 re-exported these at the top level (openai.APIError meant openai.error.APIError).
_TOP_LEVEL_REEXPORTS = ("APIError", "InvalidRequestError")
_TUPLE_CONTEXTS = (cst.ExceptHandler, cst.ExceptStarHandler, cst.Arg, cst.Param)


class ErrorClasses(Rule):
    code = "OM004"
    name = RULE
    summary = "openai.error exceptions become the 1.x exceptions raised for the same failures"

    def apply(self, ctx: MigrationContext) -> None:
        legacy_file = any(ref.qualname.startswith("openai.error") for ref in ctx.analysis.openai_refs) or bool(
            ctx.migrated_calls)
        tuple_rewrites = {}
        handled: Dict[cst.CSTNode, List[str]] = {}  # except handler -> the 0.28 error names it catches
        for ref in ctx.analysis.openai_refs:
            parts = ref.qualname.split(".")
            if len(parts) == 3 and parts[1] == "error":
                name = parts[2]
            elif len(parts) == 2 and parts[1] == "InvalidRequestError" or (
                    len(parts) == 2 and parts[1] in _TOP_LEVEL_REEXPORTS and legacy_file):
                name = parts[1]
            else:
                continue
            mapping = ERRORS.get(name)
            if mapping is None:
                continue
            handler = _handler_of(ctx, ref.node)
            if handler is not None:
                handled.setdefault(handler, []).append(name)
            if not mapping.names:
                ctx.todo(ref.node, RULE, mapping.note or f"openai.error.{name} has no 1.x counterpart")
                continue
            parent = ctx.analysis.parents.get(ref.node)
            in_sequence = isinstance(parent, cst.Element) and isinstance(ctx.analysis.parents.get(parent),
                                                                          (cst.Tuple, cst.List))
            if len(mapping.names) > 1 and not in_sequence and not isinstance(parent, _TUPLE_CONTEXTS):
                names = " / ".join(mapping.names)
                ctx.todo(ref.node, RULE, f"openai.error.{name} splits into {names} in openai 1.x; "
                                         "use the class that matches the failure you handle here")
                continue
            new_nodes = [self._spell(ctx, ref, new) for new in mapping.names]
            if isinstance(parent, cst.Call) and parent.func is ref.node:
                ctx.todo(ref.node, RULE, f"1.x exceptions are built by the SDK from an HTTP response: "
                                         f"{mapping.names[0]}(message, response=..., body=...); raise your own "
                                         "exception (or build an httpx response) where code raised this one")
            if in_sequence:  # rebuilt as a whole, so that classes are not listed twice
                tuple_rewrites.setdefault(ctx.analysis.parents[parent], {})[parent] = new_nodes
            elif len(new_nodes) == 1:
                ctx.edits.replace_with(ref.node, new_nodes[0])
            else:  # an except clause or an argument (isinstance, retry policies): a tuple of classes
                ctx.edits.replace_with(ref.node, cst.Tuple([cst.Element(n) for n in new_nodes]))
        for sequence, expansions in tuple_rewrites.items():
            ctx.edits.replace(sequence, _expand(sequence, expansions))
        self._error_attributes(ctx, handled)
        self._shadowed_handlers(ctx, handled)

    def _shadowed_handlers(self, ctx: MigrationContext, handled: Dict[cst.CSTNode, List[str]]) -> None:
        """0.28's error classes were siblings; in 1.x an earlier ``except`` can catch a later one's errors."""
        for statement in {ctx.analysis.parents.get(h) for h in handled}:
            if not isinstance(statement, cst.Try):
                continue
            caught: List[str] = []
            for handler in statement.handlers:
                names = [new for old in handled.get(handler, []) for new in ERRORS[old].names]
                if not names:
                    continue
                shadowing = [c for c in caught if all(_covers(c, n) for n in names)]
                if shadowing or all(any(_covers(c, n) for c in caught) for n in names):
                    ctx.todo(handler, RULE, "in 1.x this except clause is never reached: an earlier clause of this "
                                            f"try already catches {', '.join(names)} (0.28's error classes did not "
                                            "overlap); merge the handlers or check e.status_code")
                caught.extend(names)

    def _error_attributes(self, ctx: MigrationContext, handled: Dict[cst.CSTNode, List[str]]) -> None:
        """``except openai.error.X as e: e.http_status`` -> ``e.status_code`` where 1.x has it."""
        analysis = ctx.analysis
        for handler, names in handled.items():
            assert isinstance(handler, (cst.ExceptHandler, cst.ExceptStarHandler))
            if handler.name is None or not isinstance(handler.name.name, cst.Name):
                continue
            variable = handler.name.name.value
            status_only = all(name in STATUS_ERRORS for name in names)
            for use in analysis.names_by_value.get(variable, ()):
                if handler not in analysis.ancestors(use):
                    continue  # another handler (or code) using the same name
                parent = analysis.parents.get(use)
                if not isinstance(parent, cst.Attribute) or parent.value is not use:
                    continue
                attr = parent.attr.value
                if attr not in ERROR_ATTRIBUTES:
                    continue
                new = ERROR_ATTRIBUTES[attr]
                if new is not None and status_only:
                    ctx.edits.replace_with(parent, dotted(variable, *new.split(".")))
                elif new is not None:
                    ctx.todo(parent, RULE, f"e.{attr} only exists on HTTP status errors in 1.x "
                                           f"(e.{new} on openai.APIStatusError); connection errors and timeouts lack it")
                else:
                    ctx.todo(parent, RULE, ERROR_ATTRIBUTE_NOTES[attr])

    def _spell(self, ctx: MigrationContext, ref: OpenAIRef, new: str) -> cst.BaseExpression:
        found = ctx.analysis.bindings_of(ref.root)
        if found is not None and all(b.target == "openai" for b in found[1] if b.kind == "import"):
            return dotted(ref.root.value, new)  # openai.error.X -> openai.Y: the module import stays
        ctx.consume(ref)  # from openai.error import X -> from openai import Y
        ctx.needed_imports.add((new, None))
        return cst.Name(new)


# 1.x exception classes that are bases of others we emit.
_BASES = {"APITimeoutError": "APIConnectionError"}


def _covers(caught: str, new: str) -> bool:
    """Whether ``except openai.<caught>`` catches what ``openai.<new>`` stands for."""
    return caught == new or caught == "OpenAIError" or _BASES.get(new) == caught


def _handler_of(ctx: MigrationContext, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The except handler whose type ``node`` is (or is an element of)."""
    parent = ctx.analysis.parents.get(node)
    if isinstance(parent, cst.Element):
        parent = ctx.analysis.parents.get(ctx.analysis.parents.get(parent))
    if isinstance(parent, (cst.ExceptHandler, cst.ExceptStarHandler)):
        return parent
    return None


def _expand(original: cst.CSTNode, expansions: dict):
    """Rebuild a tuple/list literal with some elements replaced by several classes."""
    positions = [i for i, element in enumerate(original.elements) if element in expansions]  # type: ignore[attr-defined]
    replacement = {i: expansions[original.elements[i]] for i in positions}  # type: ignore[attr-defined]

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        elements: List[cst.BaseElement] = []
        old = list(updated.elements)  # type: ignore[attr-defined]
        seen = {_code(e.value) for i, e in enumerate(old) if i not in replacement}
        for i, element in enumerate(old):
            if i not in replacement:
                elements.append(element)
                continue
            new_nodes = [n for n in replacement[i] if _code(n) not in seen]
            seen.update(_code(n) for n in new_nodes)
            if not new_nodes:
                continue
            for j, node in enumerate(new_nodes):
                last = j == len(new_nodes) - 1
                comma = element.comma if last else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                if last and i == len(old) - 1 and element.comma is cst.MaybeSentinel.DEFAULT:
                    comma = cst.MaybeSentinel.DEFAULT
                elements.append(cst.Element(node, comma=comma))
        if elements and elements[-1].comma is not cst.MaybeSentinel.DEFAULT and old[-1].comma is cst.MaybeSentinel.DEFAULT:
            elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(elements=elements)

    return rewrite


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
