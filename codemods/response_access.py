"""OM003 response-access: dict-style reads of API responses become attribute reads.

0.28 responses were dicts; 1.x responses are pydantic models. On values that provably come
from a migrated call (see ``dataflow``), ``r["k"]`` -> ``r.k``, ``r.get("k")`` -> ``r.k``,
``r.get("k", d)`` -> a form equal to the old value, and ``"k" in r`` -> ``r.k is not None``.
Look-alike dicts are never touched.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .base import Rule, is_identifier, string_value
from .context import MigrationContext
from .dataflow import OBJECT, UNKNOWN, ResponseFlow, is_container_literal

RULE = "response-access"
# Defaults for which ``x.k or d`` equals ``x.get("k", d)`` whenever k is absent, None or set.
# Where a conditional or ``or`` expression needs no parentheses.
_LOOSE_PARENTS = (cst.Arg, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Return, cst.Element, cst.Expr,
                  cst.DictElement, cst.FormattedStringExpression, cst.Yield, cst.Index)
_FALSY_LITERALS = ('""', "''", "0", "0.0", "False")


class ResponseAccess(Rule):
    code = "OM003"
    name = RULE
    summary = "response['k'] / .get('k') / 'k' in response on API responses become attribute access"

    def apply(self, ctx: MigrationContext) -> None:
        flow = ResponseFlow(ctx.analysis, ctx.migrated_calls)
        for node in ctx.analysis.subscripts:
            self._subscript(ctx, flow, node)
        for call in ctx.analysis.calls:
            self._get_call(ctx, flow, call)
            self._auto_paging(ctx, flow, call)
        for comparison in ctx.analysis.comparisons:
            self._membership(ctx, flow, comparison)
        self._iterations(ctx, flow)

    def _subscript(self, ctx: MigrationContext, flow: ResponseFlow, node: cst.Subscript) -> None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return
        key = string_value(node.slice[0].slice.value)
        if key is None:
            return
        base = flow.track(node.value)
        if base is None or base.shape not in (OBJECT, UNKNOWN):
            return
        if not is_identifier(key):
            ctx.todo(node, RULE, f"responses are objects in openai 1.x: read field {key!r} with getattr() "
                                 "or from .model_dump()")
            return
        ctx.edits.replace(node, lambda updated: cst.Attribute(
            value=updated.value, attr=cst.Name(key), lpar=updated.lpar, rpar=updated.rpar))

    def _get_call(self, ctx: MigrationContext, flow: ResponseFlow, call: cst.Call) -> None:
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "get") or not 1 <= len(call.args) <= 2:
            return
        if any(arg.keyword is not None or arg.star for arg in call.args):
            return
        key = string_value(call.args[0].value)
        base = flow.track(func.value)
        if key is None or base is None or base.shape not in (OBJECT, UNKNOWN):
            return
        if not is_identifier(key):
            ctx.todo(call, RULE, f"responses are objects in openai 1.x: read field {key!r} with getattr()")
            return
        default = call.args[1].value if len(call.args) == 2 else None
        if default is not None and is_container_literal(default):
            ctx.todo(call, RULE, f"responses are objects in openai 1.x: .get({key!r}, {ctx.module.code_for_node(default)}) "
                                 f"becomes .{key}, which is None (not an empty container) when absent")
            return
        default_code = ctx.module.code_for_node(default) if default is not None else "None"
        if default_code != "None" and default_code not in _FALSY_LITERALS and not _is_pure(func.value):
            ctx.todo(call, RULE, f"responses are objects in openai 1.x: replace .get({key!r}, default) "
                                 f"with .{key} (it is None when the field is absent) and apply the default")
            return

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call) and isinstance(updated.func, cst.Attribute)
            read = cst.Attribute(value=updated.func.value, attr=cst.Name(key))
            if default_code == "None":
                return read.with_changes(lpar=updated.lpar, rpar=updated.rpar)
            fallback = updated.args[1].value.with_changes()
            if default_code in _FALSY_LITERALS:
                expr = cst.BooleanOperation(left=read, operator=cst.Or(), right=fallback)
            else:
                expr = cst.IfExp(
                    test=cst.Comparison(read, [cst.ComparisonTarget(cst.IsNot(), cst.Name("None"))]),
                    body=read, orelse=fallback)
            if updated.lpar or not bare_ok:
                return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return expr

        bare_ok = isinstance(ctx.analysis.parents.get(call), _LOOSE_PARENTS)
        ctx.edits.replace(call, rewrite)

    def _auto_paging(self, ctx: MigrationContext, flow: ResponseFlow, call: cst.Call) -> None:
        """``page.auto_paging_iter()`` -> ``page``: iterating a 1.x page walks every page."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "auto_paging_iter") or call.args:
            return
        base = flow.track(func.value)
        if base is None or not base.whole:
            return
        ctx.edits.replace(call, lambda updated: updated.func.value)  # type: ignore[attr-defined]

    def _membership(self, ctx: MigrationContext, flow: ResponseFlow, node: cst.Comparison) -> None:
        if len(node.comparisons) != 1:
            return
        target = node.comparisons[0]
        if not isinstance(target.operator, (cst.In, cst.NotIn)):
            return
        key = string_value(node.left)
        base = flow.track(target.comparator)
        if key is None or base is None or base.shape != OBJECT:
            return
        if not is_identifier(key):
            return
        negate = isinstance(target.operator, cst.NotIn)

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Comparison)
            read = cst.Attribute(value=updated.comparisons[0].comparator, attr=cst.Name(key))
            operator = cst.Is() if negate else cst.IsNot()
            return cst.Comparison(left=read, comparisons=[cst.ComparisonTarget(operator, cst.Name("None"))],
                                  lpar=updated.lpar, rpar=updated.rpar)

        ctx.edits.replace(node, rewrite)

    def _iterations(self, ctx: MigrationContext, flow: ResponseFlow) -> None:
        """A ``for`` over a whole non-streamed response iterated its keys in 0.28."""
        for scope in {id(s): s for s in ctx.analysis.scope_of_node.values()}.values():
            for bindings in scope.bindings.values():
                for binding in bindings:
                    if binding.kind != "for" or binding.value is None:
                        continue
                    tracked = flow.track(binding.value)
                    if tracked is not None and tracked.whole and tracked.shape == OBJECT and not tracked.maybe_stream:
                        ctx.todo(binding.node, RULE, "iterating a 1.x response yields (field, value) pairs, not "
                                                     "keys: iterate response.model_dump(exclude_unset=True)")


def _is_pure(node: cst.CSTNode) -> bool:
    """Evaluating the expression twice is harmless (names, attributes, literal subscripts)."""
    if isinstance(node, cst.Name):
        return True
    if isinstance(node, cst.Attribute):
        return _is_pure(node.value)
    if isinstance(node, cst.Subscript):
        index = node.slice[0].slice if len(node.slice) == 1 else None
        return isinstance(index, cst.Index) and isinstance(index.value, (cst.Integer, cst.SimpleString)) and _is_pure(node.value)
    return False

