"""OM005 test-mocks: test doubles of 0.28 resources target the 1.x resource classes.

``patch("openai.ChatCompletion.create")`` -> ``patch("openai.resources.chat.Completions.create")``,
``mocker.patch.object(openai.Completion, "create")`` and ``monkeypatch.setattr(openai.Image,
"create", fake)`` -> the 1.x class and method (``openai.resources.Images``, ``"generate"``;
``acreate`` -> ``Async...``). Patching the class reaches every client instance. The doubles
usually return 0.28-style dicts while migrated code reads attributes, so each one gets a TODO.
"""

from __future__ import annotations

from typing import Optional, Tuple

import libcst as cst

from .analysis import OpenAIRef
from .api_table import RESOURCE_CLASSES, RESOURCE_METHODS, MethodMap
from .base import Rule, string_value
from .context import MigrationContext
from .strategy import dotted

RULE = "test-mocks"
_PATCHERS = ("patch",)  # patch("openai.X.y"), mock.patch, mocker.patch
_OBJECT_PATCHERS = ("object", "setattr", "delattr")  # patch.object(cls, "m"), monkeypatch.setattr(cls, "m")
_RETURNS_NOTE = ("this double now replaces a 1.x method, whose callers read attributes: make it return a 1.x "
                 "response model (e.g. openai.types.chat.ChatCompletion.model_validate({...})), not a 0.28 dict")


def _callee_name(call: cst.Call) -> Optional[str]:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def _patch_call(ctx: MigrationContext, node: cst.CSTNode, names) -> Optional[cst.Call]:
    """The call ``node`` is the first argument of, if that call's name is one of ``names``."""
    arg = ctx.analysis.parents.get(node)
    call = ctx.analysis.parents.get(arg) if isinstance(arg, cst.Arg) else None
    if isinstance(call, cst.Call) and call.args and call.args[0] is arg and _callee_name(call) in names:
        return call
    return None


def is_mock_target(ctx: MigrationContext, ref: OpenAIRef) -> bool:
    parts = ref.qualname.split(".")
    return len(parts) == 2 and parts[1] in RESOURCE_METHODS and \
        _patch_call(ctx, ref.node, _OBJECT_PATCHERS) is not None


def _class_and_method(resource: str, method: str) -> Optional[Tuple[str, MethodMap]]:
    mapping = RESOURCE_METHODS.get(resource, {}).get(method)
    if mapping is None or mapping.resource not in RESOURCE_CLASSES:
        return None
    return RESOURCE_CLASSES[mapping.resource].format("Async" if mapping.is_async else ""), mapping


class TestMocks(Rule):
    code = "OM005"
    name = RULE
    summary = "patch()/patch.object()/monkeypatch.setattr() of 0.28 resources target the 1.x resource classes"

    def apply(self, ctx: MigrationContext) -> None:
        for ref in ctx.analysis.openai_refs:
            if is_mock_target(ctx, ref):
                self._object_patch(ctx, ref)
        for node in ctx.analysis.strings:
            self._string_patch(ctx, node)

    def _object_patch(self, ctx: MigrationContext, ref: OpenAIRef) -> None:
        call = _patch_call(ctx, ref.node, _OBJECT_PATCHERS)
        assert call is not None
        resource = ref.qualname.split(".")[1]
        method_arg = call.args[1] if len(call.args) > 1 else None
        method = string_value(method_arg.value) if method_arg is not None else None
        found = _class_and_method(resource, method) if method else None
        if found is None or method_arg is None or not isinstance(method_arg.value, cst.SimpleString):
            ctx.todo(ref.node, RULE, f"patch the 1.x resource class instead of openai.{resource} "
                                     "(e.g. openai.resources.chat.Completions, method create)")
            return
        cls, mapping = found
        module = ctx.module_spelling(ref)
        ctx.edits.replace_with(ref.node, dotted(module, *cls.split(".")[1:]))
        quote = method_arg.value.quote
        ctx.edits.replace_with(method_arg.value, cst.SimpleString(f"{quote}{mapping.method}{quote}"))
        ctx.todo(call, RULE, _RETURNS_NOTE)

    def _string_patch(self, ctx: MigrationContext, node: cst.SimpleString) -> None:
        value = string_value(node)
        if value is None or not value.startswith("openai."):
            return
        parts = value.split(".")
        if len(parts) != 3 or parts[1] not in RESOURCE_METHODS:
            return
        call = _patch_call(ctx, node, _PATCHERS + ("setattr",))
        if call is None:
            return
        found = _class_and_method(parts[1], parts[2])
        if found is None:
            ctx.todo(node, RULE, f"{value} has no 1.x counterpart to patch")
            return
        cls, mapping = found
        quote = node.quote
        ctx.edits.replace_with(node, cst.SimpleString(f"{node.prefix}{quote}{cls}.{mapping.method}{quote}"))
        ctx.todo(call, RULE, _RETURNS_NOTE)
