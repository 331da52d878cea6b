"""The migration rules (libcst) and the order they run in.

``migrate_module`` is the whole codemod for one parsed module: one analysis walk, every rule
recording edits against the original tree, import bookkeeping, then one targeted apply.
"""

from __future__ import annotations

from typing import List, Tuple, Type

import libcst as cst

from .analysis import ModuleAnalysis
from .api_table import LEGACY_ONLY_MODULE_ATTRIBUTES, RESOURCE_METHODS, UNMIGRATED_RESOURCES
from .base import Rule
from .client_setup import ClientSetup
from .context import MigrationContext, Options, Todo
from .edits import Edits
from .error_classes import ErrorClasses
from .imports import fix_imports
from .resource_calls import ResourceCalls
from .response_access import ResponseAccess
from .test_mocks import TestMocks

# Fixed order: client setup chooses the strategy the calls are spelled with; responses are
# tracked from the migrated calls; errors are independent.
RULES: Tuple[Type[Rule], ...] = (ClientSetup, ResourceCalls, ResponseAccess, ErrorClasses, TestMocks)

__all__ = ["RULES", "Options", "Todo", "enabled_rules", "migrate_module"]


def enabled_rules(chosen) -> frozenset:
    """The chosen rule names plus everything they require (all rules when nothing was chosen)."""
    if chosen is None:
        return frozenset(rule.name for rule in RULES)
    by_name = {rule.name: rule for rule in RULES}
    enabled = set(chosen)
    pending = list(chosen)
    while pending:
        for required in by_name[pending.pop()].requires:
            if required not in enabled:
                enabled.add(required)
                pending.append(required)
    return frozenset(enabled)


def _is_legacy(qualname: str) -> bool:
    parts = qualname.split(".")
    if len(parts) < 2:
        return False
    return parts[1] in RESOURCE_METHODS or parts[1] in UNMIGRATED_RESOURCES or parts[1] in LEGACY_ONLY_MODULE_ATTRIBUTES


def _legacy_imports(analysis: ModuleAnalysis) -> bool:
    """``import openai.error`` / ``from openai.error import X`` fail in 1.x even when unused."""
    for scope in {id(s): s for s in analysis.scope_of_node.values()}.values():
        for bindings in scope.bindings.values():
            for binding in bindings:
                if binding.kind == "import" and isinstance(binding.node, cst.Import):
                    if any(_dotted_name(a.name) == "openai.error" for a in binding.node.names):
                        return True
                elif binding.kind == "import" and _is_legacy(binding.target or ""):
                    return True
    return False


def _dotted_name(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr.value}"
    return node.value if isinstance(node, cst.Name) else ""


def _uses_foreign_openai(analysis: ModuleAnalysis) -> bool:
    for name, _ in analysis.foreign_openai_names():
        parent = analysis.parents.get(name)
        if isinstance(parent, cst.Attribute) and _is_legacy(f"openai.{parent.attr.value}"):
            return True
    return False


def _string_text(node: cst.SimpleString) -> str:
    value = node.evaluated_value
    return value if isinstance(value, str) else ""


def migrate_module(module: cst.Module, options: Options) -> Tuple[cst.Module, List[Todo]]:
    """Migrate one module. Returns the new module (the same object when nothing changed)."""
    analysis = ModuleAnalysis(module)
    if not any(_is_legacy(ref.qualname) for ref in analysis.openai_refs) and not _legacy_imports(analysis) \
            and not any(
            _is_legacy(_string_text(node)) for node in analysis.strings) and not analysis.openai_star_imports \
            and not _uses_foreign_openai(analysis):
        return module, []  # no 0.28 API here (perhaps already 1.x code): nothing to do
    ctx = MigrationContext(module=module, analysis=analysis, edits=Edits(analysis), options=options)
    rules = [rule() for rule in RULES if rule.name in enabled_rules(options.rules)]
    for rule in rules:
        rule.prepare(ctx)
    for rule in rules:
        rule.apply(ctx)
    for rule in rules:
        rule.finish(ctx)
    fix_imports(ctx)
    if ctx.edits.empty:
        return module, ctx.todos
    return ctx.edits.apply(module), ctx.todos
