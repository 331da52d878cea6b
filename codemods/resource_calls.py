"""OM002 resource-calls: ``openai.ChatCompletion.create(...)`` -> ``client.chat.completions.create(...)``.

Every 0.28 resource method in ``api_table.RESOURCE_METHODS`` moves to the 1.x method the
strategy spells, called or merely referenced (a method passed to a retry wrapper or
``asyncio.to_thread``). Arguments move with it: positional arguments become keywords where
1.x is keyword-only, renamed parameters are renamed, ``engine=``/``deployment_id=`` become
``model=``, per-call credentials become ``client.with_options(...)``, and request options
that 0.28 sent to the server verbatim stay in the request (``extra_body``/``extra_query``).
Resources and methods with no 1.x counterpart keep their code and get a TODO.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst

from .analysis import OpenAIRef
from .api_table import (
    ENGINE_RESOURCES,
    KWARG_CLIENT_OPTIONS,
    KWARG_DROPPED,
    KWARG_MODEL_ALIASES,
    KWARG_RENAMES,
    KWARG_UNSUPPORTED,
    LEAKED_OPTIONS,
    RESOURCE_METHODS,
    UNMIGRATED_METHODS,
    UNMIGRATED_MODULE_ATTRIBUTES,
    UNMIGRATED_RESOURCES,
    MethodMap,
)
from .base import Rule
from .context import MigrationContext
from .strategy import ModuleClientStrategy
from .test_mocks import is_mock_target

RULE = "resource-calls"
_NO_SPACE = dict(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


@dataclass
class ArgumentPlan:
    """How the arguments of one call move. Indexes refer to the original call's arguments."""

    keywords: Dict[int, str] = field(default_factory=dict)  # index -> new keyword name
    dropped: List[int] = field(default_factory=list)
    client_options: List[Tuple[str, int]] = field(default_factory=list)  # (1.x option, index)
    extra: Dict[str, List[Tuple[str, int]]] = field(default_factory=dict)  # extra_body/query -> (key, index)
    raw_file: Optional[Tuple[int, int]] = None  # (data index, filename index)
    problems: List[str] = field(default_factory=list)  # TODOs; the call still migrates
    # module-client spelling of per-call credentials: (module name, async) of a client built for the call
    per_call_client: Optional[Tuple[str, bool]] = None
    blockers: List[str] = field(default_factory=list)  # TODOs; the call is left as it was


class ResourceCalls(Rule):
    code = "OM002"
    name = RULE
    requires = ("client-setup",)  # the client the calls are spelled on
    summary = "0.28 resource calls (chat, completions, embeddings, images, audio, files, ...) move to the 1.x client"

    def apply(self, ctx: MigrationContext) -> None:
        for ref in ctx.analysis.openai_refs:
            parts = ref.qualname.split(".")
            if len(parts) < 2:
                continue
            resource = parts[1]
            if resource in UNMIGRATED_RESOURCES:
                ctx.todo(ref.node, RULE, f"openai.{resource}: {UNMIGRATED_RESOURCES[resource]}")
            elif ref.qualname == "openai.util.convert_to_dict" and _called(ctx, ref):
                ctx.util_calls[ctx.analysis.parents[ref.node]] = ref  # the response rule decides
            elif resource in UNMIGRATED_MODULE_ATTRIBUTES:
                ctx.todo(ref.node, RULE, UNMIGRATED_MODULE_ATTRIBUTES[resource])
            elif resource in RESOURCE_METHODS:
                self._resource(ctx, ref, parts)
        for check in ctx.analysis.version_checks:
            ctx.todo(check, RULE, "this checks which openai SDK is installed, and the code around it is now "
                                  "migrated to openai 1.x: update the check or remove it")
        self._flag_unmigrated_imports(ctx)
        for star in ctx.analysis.openai_star_imports:
            ctx.todo(star, RULE, "names taken from a star import cannot be migrated: import the names you use "
                                 "explicitly (or `import openai`) and run openai-migrate again")
        for name, module in ctx.analysis.foreign_openai_names():
            parent = ctx.analysis.parents.get(name)
            if isinstance(parent, cst.Attribute) and (parent.attr.value in RESOURCE_METHODS
                                                      or parent.attr.value in UNMIGRATED_RESOURCES
                                                      or parent.attr.value == "error"):
                ctx.todo(name, RULE, f"openai is imported from {module} here: import the package directly "
                                     "(import openai) so openai-migrate can migrate these calls, then run it again")

    def _resource(self, ctx: MigrationContext, ref: OpenAIRef, parts: List[str]) -> None:
        resource = parts[1]
        methods = RESOURCE_METHODS[resource]
        if len(parts) == 3 and (resource, parts[2]) in UNMIGRATED_METHODS:
            ctx.todo(ref.node, RULE, f"openai.{resource}.{parts[2]}: {UNMIGRATED_METHODS[(resource, parts[2])]}")
        elif len(parts) == 3 and parts[2] in methods:
            self._migrate(ctx, ref, methods[parts[2]])
        elif is_mock_target(ctx, ref):
            return  # test doubles are the test-mocks rule's business
        elif len(parts) == 2:
            path = ".".join(next(iter(methods.values())).resource)
            # words, not the names chosen for this run: the message must read the same on a second run
            module = isinstance(ctx.strategy, ModuleClientStrategy)
            sync, asynchronous = ("openai", "openai.AsyncOpenAI(...)") if module else ("client", "aclient")
            ctx.todo(ref.node, RULE, f"openai.{resource} is used as a value; in 1.x use the client resource "
                                     f"{sync}.{path} (async: {asynchronous}.{path}) and call its methods")
        else:
            shown = ".".join(parts[1:])
            ctx.todo(ref.node, RULE, f"openai.{shown} has no 1.x counterpart on client."
                                     f"{'.'.join(next(iter(methods.values())).resource)}")

    def _migrate(self, ctx: MigrationContext, ref: OpenAIRef, method: MethodMap) -> None:
        strategy = ctx.strategy
        assert strategy is not None
        parent = ctx.analysis.parents.get(ref.node)
        call = parent if isinstance(parent, cst.Call) and parent.func is ref.node else None
        wrapper = _wrapping_call(ctx, ref) if call is None else None
        if wrapper is not None:  # asyncio.to_thread(openai.X.create, **kwargs): the kwargs are create's
            plan = plan_arguments(_without_callee(wrapper, ref.node), method)
            if plan.client_options:
                plan.blockers.append("move the per-call options of this call to the 1.x spelling by hand "
                                     "(credentials: client.with_options(...))")
        else:
            plan = plan_arguments(call, method) if call is not None else ArgumentPlan()
        if call is None and method.result_attr:
            plan.blockers.append(f"{'.'.join(method.resource)}.{method.method}() returns a response object in 1.x; "
                                 f"call it and read .{method.result_attr} to get what this function returned")
        if plan.client_options and isinstance(strategy, ModuleClientStrategy):
            # the module client has no with_options(): a client for this call, from the module settings
            plan.per_call_client = (ctx.module_spelling(ref), method.is_async)
        if plan.blockers:
            for problem in plan.blockers:
                ctx.todo(ref.node, RULE, problem)
            return
        if isinstance(strategy, ModuleClientStrategy) and not method.is_async:
            strategy.module_name = ctx.module_spelling(ref)  # keeps or replaces the root
        callee = strategy.callee(method)
        assert callee is not None
        for problem in plan.problems:
            ctx.todo(ref.node, RULE, problem)
        if not isinstance(strategy, ModuleClientStrategy) or method.is_async:
            ctx.consume(ref)
        ctx.edits.replace_with(ref.node, callee)
        if call is None:
            ctx.migrated_calls[ref.node] = method
            if wrapper is not None:
                if _callee_name(wrapper) == "to_thread":
                    ctx.migrated_calls[wrapper] = method  # awaiting it gives the response
                ctx.edits.replace(wrapper, lambda updated: _rewrite_wrapper(updated, ref.node, wrapper, plan, method))
            return
        ctx.migrated_calls[call] = method
        ctx.edits.replace(call, lambda updated: _rewrite_call(updated, plan, method))
        if method.result_attr:
            attr = method.result_attr
            ctx.edits.replace(call, lambda updated: cst.Attribute(value=updated, attr=cst.Name(attr)))

    def _flag_unmigrated_imports(self, ctx: MigrationContext) -> None:
        """``from openai.embeddings_utils import ...`` fails at import time in 1.x: say so where it stands."""
        for scope in {id(s): s for s in ctx.analysis.scope_of_node.values()}.values():
            for bindings in scope.bindings.values():
                for binding in bindings:
                    parts = (binding.target or "").split(".")
                    if binding.kind != "import" or len(parts) < 2 or parts[0] != "openai":
                        continue
                    if isinstance(binding.node, cst.ImportFrom) and parts[1] in UNMIGRATED_MODULE_ATTRIBUTES:
                        ctx.todo(binding.node, RULE, UNMIGRATED_MODULE_ATTRIBUTES[parts[1]])
                    elif isinstance(binding.node, cst.ImportFrom) and parts[1] in UNMIGRATED_RESOURCES:
                        ctx.todo(binding.node, RULE, f"openai.{parts[1]}: {UNMIGRATED_RESOURCES[parts[1]]}")


_WRAPPERS = ("to_thread", "partial")  # f(callee, *args, **kwargs) forwards the arguments to callee


def _callee_name(call: cst.Call) -> Optional[str]:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None


def _wrapping_call(ctx: MigrationContext, ref: OpenAIRef) -> Optional[cst.Call]:
    arg = ctx.analysis.parents.get(ref.node)
    call = ctx.analysis.parents.get(arg)
    if isinstance(arg, cst.Arg) and isinstance(call, cst.Call) and call.args and call.args[0] is arg \
            and arg.keyword is None and _callee_name(call) in _WRAPPERS and len(call.args) > 1:
        return call
    return None


def _without_callee(call: cst.Call, callee: cst.CSTNode) -> cst.Call:
    return call.with_changes(args=[a for a in call.args if a.value is not callee])


def _rewrite_wrapper(updated: cst.CSTNode, callee: cst.CSTNode, original: cst.Call, plan: ArgumentPlan,
                     method: MethodMap) -> cst.CSTNode:
    """Apply the argument plan to the arguments a wrapper forwards, keeping the callee first."""
    assert isinstance(updated, cst.Call)
    first, rest = updated.args[0], list(updated.args[1:])
    forwarded = _rewrite_call(updated.with_changes(args=rest), plan, method)
    assert isinstance(forwarded, cst.Call)
    args = list(forwarded.args)
    if args and first.comma is cst.MaybeSentinel.DEFAULT:
        first = first.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return updated.with_changes(args=[first, *args])


def _called(ctx: MigrationContext, ref: OpenAIRef) -> bool:
    parent = ctx.analysis.parents.get(ref.node)
    return isinstance(parent, cst.Call) and parent.func is ref.node


def plan_arguments(call: cst.Call, method: MethodMap) -> ArgumentPlan:
    plan = ArgumentPlan()
    engine = method.resource in ENGINE_RESOURCES
    renames = dict(method.renames)
    keywords = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    positional_index = 0
    for index, arg in enumerate(call.args):
        if arg.star == "*":
            plan.blockers.append("*args are not accepted by 1.x methods (keyword-only); pass keywords")
            continue
        if arg.star == "**":
            plan.problems.append("check that the ** arguments hold no 0.28-only keys (engine, deployment_id, "
                                 "request_timeout, api_key, api_base, organization, headers): 1.x rejects them")
            continue
        if arg.keyword is None:
            if positional_index >= len(method.positional):
                plan.blockers.append("this 0.28 call passes more positional arguments than 1.x accepts; "
                                     "pass them as keywords")
                continue
            name = method.positional[positional_index]
            if positional_index >= method.keep_positional:
                plan.keywords[index] = name
            positional_index += 1
            continue
        name = arg.keyword.value
        if name in renames:
            plan.keywords[index] = renames[name]
        elif name in KWARG_CLIENT_OPTIONS:
            plan.client_options.append((KWARG_CLIENT_OPTIONS[name], index))
            plan.dropped.append(index)
        elif name in KWARG_UNSUPPORTED:
            plan.blockers.append(KWARG_UNSUPPORTED[name])
        elif name in KWARG_DROPPED:
            plan.dropped.append(index)
            plan.problems.append(KWARG_DROPPED[name])
        elif name in KWARG_MODEL_ALIASES:
            if "model" in keywords:
                plan.blockers.append(f"{name}= and model= are both given; 1.x selects the model only with model=")
            plan.keywords[index] = "model"
        elif name in LEAKED_OPTIONS and not engine:
            _leak(plan, method, name, index)
        elif name in KWARG_RENAMES and engine:
            plan.keywords[index] = KWARG_RENAMES[name]
        elif name == "starting_after" and method.resource == ("fine_tuning", "jobs") and method.method == "list":
            _leak(plan, method, name, index)
            plan.problems.append("0.28 sent starting_after= as it is, and the API pages with after=: "
                                 "use after= to actually get the next page")
    if len([k for k in KWARG_MODEL_ALIASES if k in keywords]) > 1:
        plan.blockers.append("engine= and deployment_id= are both given; keep one as model=")
    if method.raw_file:
        data = next((i for i, k in plan.keywords.items() if k == "file"), None)
        filename = next((i for i, k in plan.keywords.items() if k == "filename"), None)
        for index, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value == "file":
                data = index
            if arg.keyword is not None and arg.keyword.value == "filename":
                filename = index
        if data is None or filename is None:
            plan.blockers.append("pass file=(filename, data) to the 1.x method")
        else:
            plan.raw_file = (data, filename)
    return plan


def _leak(plan: ArgumentPlan, method: MethodMap, name: str, index: int) -> None:
    """0.28 sent this option to the server as a request parameter: keep sending it."""
    where = method.options_sent_as
    if where is None:
        plan.blockers.append(f"0.28 rejected {name}= on this method (TypeError); remove it")
        return
    target = "extra_query" if where == "query" else "extra_body"
    plan.extra.setdefault(target, []).append((name, index))
    plan.dropped.append(index)
    if name in ("request_timeout", "timeout", "headers"):
        plan.problems.append(f"0.28 sent {name}= to the server as a request {'parameter' if where == 'query' else 'field'} "
                             f"here (it was never a client option for this method); kept in {target}, "
                             f"use timeout=/extra_headers= if that was the intent")


def _rewrite_call(updated: cst.CSTNode, plan: ArgumentPlan, method: MethodMap) -> cst.CSTNode:
    assert isinstance(updated, cst.Call)
    old_args = list(updated.args)
    args: List[cst.Arg] = []
    for index, arg in enumerate(old_args):
        if index in plan.dropped:
            continue
        if plan.raw_file is not None and index == plan.raw_file[1]:
            continue
        if plan.raw_file is not None and index == plan.raw_file[0]:
            filename = old_args[plan.raw_file[1]].value
            value = cst.Tuple([cst.Element(filename, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                               cst.Element(arg.value)])
            arg = arg.with_changes(value=value)
        if index in plan.keywords:
            arg = arg.with_changes(keyword=cst.Name(plan.keywords[index]),
                                   equal=arg.equal if arg.keyword is not None else cst.AssignEqual(**_NO_SPACE))
        args.append(arg)
    for target, items in plan.extra.items():
        pairs = [cst.DictElement(cst.SimpleString(f'"{key}"'), old_args[index].value,
                                 comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if n < len(items) - 1
                                 else cst.MaybeSentinel.DEFAULT)
                 for n, (key, index) in enumerate(items)]
        args.append(cst.Arg(keyword=cst.Name(target), value=cst.Dict(pairs), equal=cst.AssignEqual(**_NO_SPACE)))
    args = _fix_commas(args, old_args)
    new_call = updated.with_changes(args=args)
    if plan.client_options and plan.per_call_client is not None:
        module, is_async = plan.per_call_client
        given = {option: old_args[index].value for option, index in plan.client_options}
        settings = []
        for option, attr in (("api_key", "api_key"), ("organization", "organization"), ("base_url", "base_url")):
            default = cst.Attribute(value=cst.Name(module), attr=cst.Name(attr))
            value = cst.BooleanOperation(left=given[option], operator=cst.Or(), right=default) \
                if option in given else default  # 0.28 fell back to the module setting for None
            settings.append(cst.Arg(keyword=cst.Name(option), value=value, equal=cst.AssignEqual(**_NO_SPACE)))
        client = cst.Call(func=cst.Attribute(value=cst.Name(module), attr=cst.Name("AsyncOpenAI" if is_async else "OpenAI")),
                          args=_fix_commas(settings, []))
        new_call = new_call.with_changes(func=_rebase(new_call.func, len(method.resource) + 1, client))
    elif plan.client_options:
        owner = new_call.func
        for _ in range(len(method.resource) + 1):
            assert isinstance(owner, cst.Attribute)
            owner = owner.value
        options = [cst.Arg(keyword=cst.Name(option), value=old_args[index].value, equal=cst.AssignEqual(**_NO_SPACE))
                   for option, index in plan.client_options]
        options = _fix_commas(options, [])
        with_options = cst.Call(func=cst.Attribute(value=owner, attr=cst.Name("with_options")), args=options)
        new_call = new_call.with_changes(func=_rebase(new_call.func, len(method.resource) + 1, with_options))
    return new_call


def _fix_commas(args: List[cst.Arg], original: List[cst.Arg]) -> List[cst.Arg]:
    """Every argument but the last has a comma; the last keeps the original call's trailing comma."""
    fixed = []
    for i, arg in enumerate(args):
        last = i == len(args) - 1
        if last:
            comma = original[-1].comma if original else cst.MaybeSentinel.DEFAULT
            fixed.append(arg.with_changes(comma=comma))
        elif arg.comma is cst.MaybeSentinel.DEFAULT:
            fixed.append(arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
        else:
            fixed.append(arg)
    return fixed


def _rebase(callee: cst.BaseExpression, depth: int, new_base: cst.BaseExpression) -> cst.BaseExpression:
    """Replace the expression ``depth`` attributes down in ``callee`` by ``new_base``."""
    assert isinstance(callee, cst.Attribute)
    if depth == 1:
        return callee.with_changes(value=new_base)
    return callee.with_changes(value=_rebase(callee.value, depth - 1, new_base))
