"""OM002 resource-calls: ``openai.ChatCompletion.create(...)`` -> ``client.chat.completions.create(...)``.

Calls and bare references (a method passed to a retry wrapper or ``asyncio.to_thread``) both
move to the 1.x method the strategy spells. Per-call options are translated:
``engine=``/``deployment_id=`` -> ``model=``, ``request_timeout=`` -> ``timeout=``,
``headers=`` -> ``extra_headers=``, and per-call credentials (``api_key=``,
``organization=``, ``api_base=``) -> ``client.with_options(...)``. Anything without a safe
translation keeps its code and gets a TODO.
"""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from .analysis import OpenAIRef
from .api_table import (
    KWARG_CLIENT_OPTIONS,
    KWARG_MODEL_ALIASES,
    KWARG_RENAMES,
    KWARG_UNSUPPORTED,
    RESOURCE_METHODS,
    UNMIGRATED_RESOURCES,
    MethodMap,
)
from .base import Rule
from .context import MigrationContext
from .strategy import InstanceClientStrategy, ModuleClientStrategy

RULE = "resource-calls"


class ResourceCalls(Rule):
    code = "OM002"
    name = RULE
    summary = "ChatCompletion/Completion/Embedding calls move to the 1.x client resources"

    def apply(self, ctx: MigrationContext) -> None:
        for ref in ctx.analysis.openai_refs:
            parts = ref.qualname.split(".")
            if len(parts) < 2 or parts[1] not in RESOURCE_METHODS and parts[1] not in UNMIGRATED_RESOURCES:
                continue
            if parts[1] in UNMIGRATED_RESOURCES:
                ctx.todo(ref.node, RULE, f"openai.{parts[1]}: {UNMIGRATED_RESOURCES[parts[1]]}")
                continue
            methods = RESOURCE_METHODS[parts[1]]
            if len(parts) != 3 or parts[2] not in methods:
                shown = ".".join(parts[1:])
                ctx.todo(ref.node, RULE, f"openai.{shown} has no automatic 1.x migration; "
                                         f"call the client's resource instead (e.g. client.{'.'.join(_first(methods).resource)})")
                continue
            self._migrate(ctx, ref, methods[parts[2]])

    def _migrate(self, ctx: MigrationContext, ref: OpenAIRef, method: MethodMap) -> None:
        strategy = ctx.strategy
        assert strategy is not None
        parent = ctx.analysis.parents.get(ref.node)
        call = parent if isinstance(parent, cst.Call) and parent.func is ref.node else None

        problems: List[str] = []
        client_options: List[cst.Arg] = []
        if call is not None:
            problems, client_options = _check_arguments(call, method)
        if any(p.startswith("!") for p in problems):
            for problem in problems:
                ctx.todo(ref.node, RULE, problem.lstrip("!"))
            return
        if client_options and isinstance(strategy, ModuleClientStrategy):
            ctx.todo(ref.node, RULE, "per-call credentials need an explicit client: create OpenAI(api_key=...) "
                                     "and call it instead of the module-level client")
            return
        module_name = _module_name(ctx, ref)
        if isinstance(strategy, ModuleClientStrategy):
            strategy.module_name = module_name
        callee = strategy.callee(method)
        if callee is None:
            ctx.todo(ref.node, RULE, "async calls need an AsyncOpenAI client, and the configuration of this file "
                                     "is set at run time: create AsyncOpenAI(...) once it is complete and await "
                                     f"<client>.{'.'.join(method.resource)}.{method.method}(...) here")
            return
        if isinstance(strategy, ModuleClientStrategy):
            ctx.needs_openai_module = True
        if client_options:
            owner = callee
            for _ in range(len(method.resource) + 1):
                assert isinstance(owner, cst.Attribute)
                owner = owner.value
            with_options = cst.Call(func=cst.Attribute(value=owner, attr=cst.Name("with_options")), args=client_options)
            callee = _rebase(callee, len(method.resource) + 1, with_options)
        for problem in problems:
            ctx.todo(ref.node, RULE, problem)
        ctx.consume(ref)
        ctx.edits.replace_with(ref.node, callee)
        if call is not None:
            ctx.migrated_calls[call] = method
            ctx.edits.replace(call, _fix_arguments(method))
        else:
            ctx.migrated_calls[ref.node] = method


def _first(methods: dict) -> MethodMap:
    return next(iter(methods.values()))


def _module_name(ctx: MigrationContext, ref: OpenAIRef) -> str:
    """The local name of the openai module at this reference, for module-client spelling."""
    found = ctx.analysis.bindings_of(ref.root)
    if found and all(b.target == "openai" for b in found[1] if b.kind == "import"):
        return ref.root.value
    return "openai"


def _rebase(callee: cst.BaseExpression, depth: int, new_base: cst.BaseExpression) -> cst.BaseExpression:
    """Replace the expression ``depth`` attributes down in ``callee`` by ``new_base``."""
    assert isinstance(callee, cst.Attribute)
    if depth == 1:
        return callee.with_changes(value=new_base)
    return callee.with_changes(value=_rebase(callee.value, depth - 1, new_base))


def _check_arguments(call: cst.Call, method: MethodMap):
    """Problems (a leading ``!`` means: do not migrate) and the with_options arguments."""
    problems: List[str] = []
    options: List[cst.Arg] = []
    keywords = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    positional = [arg for arg in call.args if arg.keyword is None and arg.star == ""]
    if len(positional) > len(method.positional):
        problems.append("!positional arguments to this 0.28 call are not supported by 1.x (keyword-only); "
                        "pass them as keywords")
    for arg in call.args:
        if arg.star == "**":
            problems.append("check that the ** arguments hold no 0.28-only keys (engine, deployment_id, "
                            "request_timeout, api_key, api_base, organization, headers): 1.x rejects them")
        elif arg.star == "*":
            problems.append("!*args are not accepted by 1.x methods (keyword-only); pass keywords")
        if arg.keyword is None:
            continue
        name = arg.keyword.value
        if name in KWARG_UNSUPPORTED:
            problems.append("!" + KWARG_UNSUPPORTED[name])
        elif name in KWARG_CLIENT_OPTIONS:
            options.append(arg.with_changes(keyword=cst.Name(KWARG_CLIENT_OPTIONS[name]), comma=cst.MaybeSentinel.DEFAULT))
        elif name in KWARG_MODEL_ALIASES and "model" in keywords:
            problems.append(f"!{name}= and model= are both given; 1.x selects the model only with model=")
    aliases = [k for k in KWARG_MODEL_ALIASES if k in keywords]
    if len(aliases) > 1:
        problems.append("!engine= and deployment_id= are both given; keep one as model=")
    return problems, options


def _fix_arguments(method: MethodMap):
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        args: List[cst.Arg] = []
        positional_index = 0
        for arg in updated.args:
            if arg.keyword is None and arg.star == "" and positional_index < len(method.positional):
                args.append(arg.with_changes(keyword=cst.Name(method.positional[positional_index]),
                                             equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                                   whitespace_after=cst.SimpleWhitespace(""))))
                positional_index += 1
                continue
            name = arg.keyword.value if arg.keyword is not None else None
            if name in KWARG_CLIENT_OPTIONS:
                continue
            if name in KWARG_RENAMES:
                arg = arg.with_changes(keyword=cst.Name(KWARG_RENAMES[name]))
            elif name in KWARG_MODEL_ALIASES:
                arg = arg.with_changes(keyword=cst.Name("model"))
            args.append(arg)
        if len(args) != len(updated.args) and args:
            # removing the last argument must not leave a dangling comma where there was none
            last_original = updated.args[-1]
            args[-1] = args[-1].with_changes(comma=last_original.comma)
        return updated.with_changes(args=args)

    return rewrite


__all__ = ["ResourceCalls", "InstanceClientStrategy"]
