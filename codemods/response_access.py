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
from .dataflow import FIELD_SHAPES, OBJECT, UNKNOWN, ResponseFlow, is_container_literal

RULE = "response-access"
# Defaults for which ``x.k or d`` equals ``x.get("k", d)`` whenever k is absent, None or set.
# OpenAIObject attributes that 1.x responses do not have.
_GONE_ATTRIBUTES = {
    "response_ms": "response_ms is gone: time the call yourself, or use "
    "client.<resource>.with_raw_response.create(...) and read .elapsed / .headers",
    "organization": "the organization is not on 1.x responses: read response headers through "
    "client.<resource>.with_raw_response.create(...)",
}
# Where a conditional or ``or`` expression needs no parentheses.
_LOOSE_PARENTS = (cst.Arg, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Return, cst.Element, cst.Expr,
                  cst.DictElement, cst.FormattedStringExpression, cst.Yield, cst.Index)
_FALSY_LITERALS = ('""', "''", "0", "0.0", "False")


class ResponseAccess(Rule):
    code = "OM003"
    name = RULE
    requires = ("resource-calls",)  # responses are the results of migrated calls
    summary = "response['k'] / .get('k') / 'k' in response on API responses become attribute access"

    def apply(self, ctx: MigrationContext) -> None:
        flow = ResponseFlow(ctx.analysis, ctx.migrated_calls)
        for node in ctx.analysis.subscripts:
            self._subscript(ctx, flow, node)
        for call in ctx.analysis.calls:
            self._get_call(ctx, flow, call)
            self._auto_paging(ctx, flow, call)
            self._as_dict(ctx, flow, call)
        for node in ctx.analysis.subscripts:
            self._probable_response(ctx, flow, node)
        for attribute in ctx.analysis.attributes_named(_GONE_ATTRIBUTES):
            tracked = flow.track(attribute.value)
            if tracked is not None and tracked.whole:
                ctx.todo(attribute, RULE, _GONE_ATTRIBUTES[attribute.attr.value])
            elif tracked is None and attribute.attr.value == "response_ms" and ctx.migrated_calls \
                    and _origin_unseen(ctx, attribute.value):
                ctx.todo(attribute, RULE, "if this is an openai response (it could not be traced to an API call): "
                                          + _GONE_ATTRIBUTES["response_ms"])
        for test in ctx.analysis.truth_tests:
            self._truthiness(ctx, flow, test)
        for call, ref in ctx.util_calls.items():
            ctx.todo(call, RULE, "openai.util.convert_to_dict is gone: call .model_dump(exclude_unset=True) "
                                 "on the response (this value could not be traced to an API call)")
        for comparison in ctx.analysis.comparisons:
            self._membership(ctx, flow, comparison)
        self._iterations(ctx, flow)

    def _subscript(self, ctx: MigrationContext, flow: ResponseFlow, node: cst.Subscript) -> None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return
        index = node.slice[0].slice.value
        key = ctx.analysis.string_constant(index)
        if key is None and not _may_be_string_key(index):
            return
        base = flow.track(node.value)
        if base is None or base.shape not in (OBJECT, UNKNOWN):
            return
        if key is None:
            if base.shape == OBJECT:
                ctx.todo(node, RULE, "responses are objects in openai 1.x, not dicts: a field chosen at run time "
                                     "is read with getattr(response, key), or from response.model_dump()")
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
        key = ctx.analysis.string_constant(call.args[0].value)
        base = flow.track(func.value)
        if key is None or base is None or base.shape not in (OBJECT, UNKNOWN):
            return
        if not is_identifier(key):
            ctx.todo(call, RULE, f"responses are objects in openai 1.x: read field {key!r} with getattr()")
            return
        default = call.args[1].value if len(call.args) == 2 else None
        known = key in FIELD_SHAPES
        if default is not None and (is_container_literal(default) or not known):
            # the dict view gives exactly what 0.28 gave: the default when the server sent no such key
            ctx.edits.replace(func.value, _model_dump)
            return
        if default is None and not known:
            # an undeclared field is not an attribute of the model: getattr() keeps 0.28's None
            ctx.edits.replace(call, lambda updated: cst.Call(
                func=cst.Name("getattr"),
                args=[cst.Arg(updated.func.value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),  # type: ignore[attr-defined]
                      cst.Arg(cst.SimpleString(repr(key)), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                      cst.Arg(cst.Name("None"))]))
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
        if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            # a 0.28 response compared equal to the dict it was; a 1.x model never does
            left, right = flow.track(node.left), flow.track(target.comparator)
            if _is_dict_like(left, whole_only=False) and right is None:
                ctx.edits.replace(node.left, _model_dump)
            elif _is_dict_like(right, whole_only=False) and left is None:
                ctx.edits.replace(target.comparator, _model_dump)
            return
        if not isinstance(target.operator, (cst.In, cst.NotIn)):
            return
        key = ctx.analysis.string_constant(node.left)
        base = flow.track(target.comparator)
        if key is None or base is None or base.shape != OBJECT:
            return
        if not is_identifier(key):
            return
        negate = isinstance(target.operator, cst.NotIn)
        known = key in FIELD_SHAPES

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Comparison)
            base = updated.comparisons[0].comparator
            if known:
                read: cst.BaseExpression = cst.Attribute(value=base, attr=cst.Name(key))
            else:  # not a declared field: only present if the server sent it
                read = cst.Call(func=cst.Name("getattr"), args=[
                    cst.Arg(base, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    cst.Arg(cst.SimpleString(repr(key)), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    cst.Arg(cst.Name("None"))])
            operator = cst.Is() if negate else cst.IsNot()
            return cst.Comparison(left=read, comparisons=[cst.ComparisonTarget(operator, cst.Name("None"))],
                                  lpar=updated.lpar, rpar=updated.rpar)

        ctx.edits.replace(node, rewrite)

    def _iterations(self, ctx: MigrationContext, flow: ResponseFlow) -> None:
        """A ``for`` over a whole non-streamed response iterated its keys in 0.28: iterate the dict."""
        done = set()
        for scope in {id(s): s for s in ctx.analysis.scope_of_node.values()}.values():
            for bindings in scope.bindings.values():
                for binding in bindings:
                    if binding.kind != "for" or binding.value is None or binding.value in done:
                        continue
                    done.add(binding.value)
                    if _is_dict_like(flow.track(binding.value), iterating=True):
                        ctx.edits.replace(binding.value, _model_dump)

    def _as_dict(self, ctx: MigrationContext, flow: ResponseFlow, call: cst.Call) -> None:
        """Code that used a response as the dict it was in 0.28 gets the dict: ``model_dump(exclude_unset=True)``.

        ``r.to_dict()``, ``r.to_dict_recursive()``, ``dict(r)``, ``openai.util.convert_to_dict(r)`` become the
        dump itself; ``json.dumps(r)``, ``len(r)``, ``list(r)``, ``sorted(r)``, ``r.keys()/values()/items()``
        run on the dump. ``exclude_unset`` keeps exactly the fields the server sent.
        """
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "insert") and call.args:
            # a response (or message) put into a list was a dict there in 0.28, read back as one
            stored = call.args[-1]
            tracked = flow.track(stored.value)
            if stored.keyword is None and not stored.star and _is_dict_like(tracked, whole_only=False) \
                    and not tracked.maybe_none:
                ctx.edits.replace(stored.value, _model_dump)
            return
        if isinstance(func, cst.Attribute) and not call.args:
            method = func.attr.value
            if method in ("to_dict", "to_dict_recursive") and _is_dict_like(flow.track(func.value), whole_only=False):
                ctx.edits.replace(call, lambda updated: _model_dump(updated.func.value))  # type: ignore[attr-defined]
            elif method == "to_dict_recursive" and ctx.migrated_calls and flow.track(func.value) is None \
                    and _origin_unseen(ctx, func.value):
                # a method only 0.28's OpenAIObject had (and Stripe's objects: hence the "if")
                ctx.todo(call, RULE, "to_dict_recursive() was a method of openai 0.28 responses: if this is one "
                                     "(it could not be traced to an API call), 1.x responses are pydantic models: "
                                     "call .model_dump(exclude_unset=True) instead")
            elif method in ("keys", "values", "items") and _is_dict_like(flow.track(func.value), whole_only=False):
                ctx.edits.replace(func.value, _model_dump)
            return
        if not call.args or call.args[0].keyword is not None or call.args[0].star:
            return
        first = call.args[0].value
        name = _callee(func)
        iterating = name in ("list", "sorted", "set", "tuple")
        if not _is_dict_like(flow.track(first), whole_only=False, iterating=iterating):
            return
        if (name == "dict" or call in ctx.util_calls) and len(call.args) == 1:
            if call in ctx.util_calls:
                ctx.consume(ctx.util_calls.pop(call))
            ctx.edits.replace(call, lambda updated: _model_dump(updated.args[0].value))  # type: ignore[attr-defined]
        elif name in ("json.dumps", "json.dump", "len", "list", "sorted", "set", "tuple"):
            ctx.edits.replace(first, _model_dump)

    def _truthiness(self, ctx: MigrationContext, flow: ResponseFlow, test: cst.BaseExpression) -> None:
        """``if not delta:`` was False for the empty final delta of a stream; a 1.x model is always true."""
        tracked = flow.track(test)
        if tracked is None or tracked.shape != OBJECT or tracked.whole or tracked.maybe_none:
            return
        ctx.edits.replace(test, _model_dump)

    def _probable_response(self, ctx: MigrationContext, flow: ResponseFlow, node: cst.Subscript) -> None:
        """``x["choices"]`` on a value that cannot be traced: say what to check instead of guessing."""
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return
        if string_value(node.slice[0].slice.value) != "choices" or flow.track(node.value) is not None:
            return
        root = node.value
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        if not isinstance(root, cst.Name):
            return
        found = ctx.analysis.bindings_of(root)
        if found is None:
            return
        shown = ctx.module.code_for_node(node.value)
        if all(b.kind == "param" for b in found[1]):
            ctx.todo(node, RULE, f"if {shown} is an openai response (it comes from outside this function), read "
                                 f"{shown}.choices: responses are objects in 1.x")
        elif any(b.value is not None and flow.track(b.value) is not None for b in found[1]):
            ctx.todo(node, RULE, f"{root.value} holds an openai response on some paths and something else on "
                                 f"others; where it is a response, read {shown}.choices (responses are objects in 1.x)")


def _origin_unseen(ctx: MigrationContext, value: cst.BaseExpression) -> bool:
    """Whether an untraced value may still be an openai response: not the result of a call in sight (which
    is not an openai call, or it would have been traced), nor a name only ever assigned such results."""
    if isinstance(value, (cst.Call, cst.Await)):
        return False
    if isinstance(value, cst.Name):
        found = ctx.analysis.bindings_of(value)
        if found is not None:
            _, bindings = found
            if bindings and all(b.kind == "assign" and isinstance(b.value, (cst.Call, cst.Await)) for b in bindings):
                return False
    return True


def _may_be_string_key(index: cst.BaseExpression) -> bool:
    """A subscript that may be a dict key chosen at run time (a name, an attribute, a call), not a list index."""
    if isinstance(index, (cst.Integer, cst.UnaryOperation, cst.BinaryOperation, cst.Float)):
        return False
    return isinstance(index, (cst.Name, cst.Attribute, cst.Call, cst.FormattedString, cst.Subscript))


def _is_dict_like(tracked, whole_only: bool = True, iterating: bool = False) -> bool:
    """A value that was a dict in 0.28 and is a model in 1.x (not a stream, a list or a leaf).

    A value that may be a stream (``stream=`` unknown) only counts where a stream could not have
    been used in 0.28 either (``json.dumps``, ``dict()``...), not where it is iterated.
    """
    if tracked is None or tracked.shape != OBJECT or (tracked.maybe_stream and iterating):
        return False
    return tracked.whole or not whole_only


def _model_dump(node: cst.CSTNode) -> cst.BaseExpression:
    """``node.model_dump(exclude_unset=True)``: the dict the server sent."""
    base = node
    if not isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) or getattr(node, "lpar", ()):
        base = node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if not getattr(node, "lpar", ()) \
            else node
    return cst.Call(
        func=cst.Attribute(value=base, attr=cst.Name("model_dump")),
        args=[cst.Arg(keyword=cst.Name("exclude_unset"), value=cst.Name("True"),
                      equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                            whitespace_after=cst.SimpleWhitespace("")))],
    )


def _callee(func: cst.CSTNode) -> str:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        inner = _callee(func.value)
        return f"{inner}.{func.attr.value}" if inner else ""
    return ""


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

