"""OM001 client-setup: module configuration (``openai.api_key = ...``) becomes a client.

Straight-line module-level configuration turns into one ``client = OpenAI(api_key=...,
organization=..., base_url=...)`` placed right after the last configuration statement, so
everything its arguments use (``load_dotenv()``, constants) already exists. Without any
configuration, ``client = OpenAI()`` goes after the imports and any env-loading call.

Configuration set inside a function, an ``if`` or a ``try`` cannot move into an eager
client without changing when it is read, so such files keep the 1.x module-level client
(which reads ``openai.api_key`` / ``openai.base_url`` at call time) and get a TODO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import libcst as cst

from .analysis import OpenAIRef
from .api_table import CONFIG_MANUAL, CONFIG_MODULE_ATTRIBUTE, CONFIG_NOOPS, CONFIG_TO_CLIENT_KWARG
from .base import Rule, string_value
from .context import MigrationContext
from .strategy import InstanceClientStrategy, ModuleClientStrategy, dotted

RULE = "client-setup"
_ENV_LOADERS = ("load_dotenv", "load_env", "find_dotenv", "dotenv_values", "load_environment")
_CONFIG_NAMES = set(CONFIG_TO_CLIENT_KWARG) | set(CONFIG_NOOPS) | set(CONFIG_MANUAL)


@dataclass
class ConfigSet:
    ref: OpenAIRef
    attr: str
    assign: cst.Assign
    line: cst.CSTNode  # the statement line holding the assignment
    top_level: bool  # directly in the module body, executed once at import


class ClientSetup(Rule):
    code = "OM001"
    name = RULE
    summary = "openai.api_key/organization/api_base settings become one OpenAI(...) client"

    def prepare(self, ctx: MigrationContext) -> None:
        self.sets: List[ConfigSet] = []
        self.reads: List[OpenAIRef] = []
        analysis = ctx.analysis
        for ref in ctx.analysis.openai_refs:
            parts = ref.qualname.split(".")
            if len(parts) != 2 or parts[1] not in _CONFIG_NAMES:
                continue
            target = analysis.parents.get(ref.node)
            assign = analysis.parents.get(target) if isinstance(target, cst.AssignTarget) else None
            if isinstance(assign, cst.Assign) and len(assign.targets) > 1:
                ctx.todo(assign, RULE, f"openai.{parts[1]} is set in a chained assignment: pass the value to "
                                       "OpenAI(...) where the client is created")
                continue
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                line = analysis.parents[assign]
                top = isinstance(line, cst.SimpleStatementLine) and analysis.parents.get(line) is ctx.module
                self.sets.append(ConfigSet(ref, parts[1], assign, line, top))
            else:
                self.reads.append(ref)

        nested_import = any(ref.scope is not analysis.module_scope for ref in analysis.openai_refs
                            if ref.qualname.split(".")[0] == "openai"
                            and analysis.bindings_of(ref.root)[0] is not analysis.module_scope)
        self.nested = [s for s in self.sets if not s.top_level and (s.attr in CONFIG_TO_CLIENT_KWARG or s.attr == "api_key_path")]
        # every setting made at run time, under its 0.28 or its 1.x name, in file order: the TODO goes on
        # the first, which a second run finds at the same place
        runtime_set = _runtime_settings(ctx) if self.nested or _runtime_settings(ctx, only_1x=True) else []
        options = ctx.options
        if options.global_client or options.shared_configuration or runtime_set or nested_import:
            # async calls need an AsyncOpenAI: created once after this file's own settings if they are
            # all set at import time, else built from the module settings when a call is made
            settled = not self.nested and not nested_import and any(s.top_level for s in self.sets)
            if settled:
                ctx.strategy = ModuleClientStrategy("openai", ctx.free_name("aclient", "async_openai_client"), False)
            else:
                ctx.strategy = ModuleClientStrategy("openai", ctx.free_name("async_openai_client", "_async_openai_client"), True)
            if options.global_client or options.shared_configuration:
                pass  # asked for, or required by the other files of the run: no TODO
            elif runtime_set:
                first = runtime_set[0]
                where = _describe_location(ctx, first)
                ctx.todo(
                    first,
                    RULE,
                    f"openai settings are set {where}, so this file keeps the 1.x module-level client "
                    f"(openai.chat.completions...), which reads openai.api_key/openai.base_url when called; "
                    f"to use an explicit client, create OpenAI(...) where the configuration is complete and call it instead",
                )
            elif nested_import and not ctx.options.global_client:
                ctx.todo(
                    _first_nested_import(ctx),
                    RULE,
                    "openai is imported inside a function here, so the calls use the 1.x module-level client "
                    "(openai.chat.completions...); create an OpenAI() client there if you prefer an explicit one",
                )
        else:
            ctx.strategy = InstanceClientStrategy(
                ctx.free_name("client", "openai_client"), ctx.free_name("aclient", "async_openai_client")
            )

    def finish(self, ctx: MigrationContext) -> None:
        creates_client = isinstance(ctx.strategy, InstanceClientStrategy) and (
            ctx.strategy.uses_sync or ctx.strategy.uses_async)
        moved = {item.attr for item in self.sets}
        for ref in self.reads:
            if creates_client and ref.qualname.split(".")[1] in CONFIG_TO_CLIENT_KWARG \
                    and ref.qualname.split(".")[1] in moved:
                attr = ref.qualname.split(".")[1]
                ctx.todo(
                    ref.node,
                    RULE,
                    f"openai.{attr} is no longer set by this file (the value now goes to OpenAI(...)); "
                    f"read it from the client ({_client_attr(attr)}) or from where it came from",
                )
        if isinstance(ctx.strategy, ModuleClientStrategy):
            self._keep_module_settings(ctx)
            if ctx.strategy.uses_async and ctx.strategy.async_factory:
                self._async_client_factory(ctx)
            elif ctx.strategy.uses_async:
                self._async_module_client(ctx)
        elif ctx.strategy.uses_sync or ctx.strategy.uses_async:
            self._create_clients(ctx)
        else:
            self._configuration_only(ctx)

    def _configuration_only(self, ctx: MigrationContext) -> None:
        """No call here needs a client: keep the settings as 1.x module attributes, never drop a value."""
        self._keep_module_settings(ctx)
        for item in self.sets:
            if item.attr in ("api_key", "organization", "api_base"):
                ctx.todo(item.assign, RULE,
                         f"openai.{item.attr} is set here but this file makes no API call: 1.x clients created "
                         f"elsewhere (OpenAI()) do not read it; pass it to OpenAI(...) where the client is created")
                break

    # ----------------------------------------------------------------- module client
    def _keep_module_settings(self, ctx: MigrationContext) -> None:
        """Settings stay module attributes, under the names the 1.x module client reads."""
        azure = _azure_kind(self.sets)
        for item in self.sets:
            value = item.assign.value
            new_attr: Optional[str] = item.attr
            new_value: Optional[cst.BaseExpression] = None
            if item.attr in CONFIG_NOOPS or (item.attr == "debug" and _is_false(value)):
                ctx.consume(item.ref)
                ctx.edits.remove_statement(item.assign)
                continue
            if item.attr == "api_base":
                if azure:
                    new_attr = "azure_endpoint"
                else:
                    ctx.edits.replace(item.assign, _to_base_url(item.assign))
                    new_attr = None
            elif item.attr == "api_type" and azure:
                new_value = cst.SimpleString('"azure"') if azure == "azure_ad" else None
                if not any(other.attr == "api_version" for other in self.sets) and item.top_level:
                    # 0.28 defaulted to this version for Azure; 1.x requires one
                    default = cst.parse_statement(f'{_module_of(item)}.api_version = "{_AZURE_DEFAULT_VERSION}"\n',
                                                  config=parser_config(ctx.module))
                    ctx.edits.insert_statements(item.line, [default], after=True)
            elif item.attr == "api_type" and not azure and (string_value(value) or "").lower() not in _OPENAI_TYPES:
                ctx.todo(item.assign, RULE, "api_type is chosen at run time: 1.x reads openai.api_type ('azure' or "
                                            "'openai') once, and needs openai.azure_endpoint instead of api_base")
                new_attr = None
            elif item.attr == "api_key" and azure == "azure_ad":
                new_attr = "azure_ad_token"
            elif item.attr == "api_version" and azure:
                pass  # read by the 1.x module client for Azure
            elif item.attr == "api_version" and not azure:
                if string_value(value) is None:
                    if _is_none(value):
                        ctx.consume(item.ref)
                        ctx.edits.remove_statement(item.assign)  # no header was sent for None
                    else:
                        ctx.todo(item.assign, RULE, "for the OpenAI API type 0.28 sent api_version as the "
                                                    "OpenAI-Version header; set openai.default_headers if needed")
                    continue
                new_attr = "default_headers"
                new_value = cst.Dict([cst.DictElement(cst.SimpleString('"OpenAI-Version"'), value)])
            elif item.attr == "proxy" and not isinstance(value, cst.Dict):
                new_attr = "http_client"
                new_value = cst.Call(func=dotted("openai", "DefaultHttpxClient"),
                                     args=[cst.Arg(keyword=cst.Name("proxy"), value=value,
                                                   equal=cst.AssignEqual(**_NO_SPACE))])
            elif item.attr == "api_key_path" and _is_none(value):
                ctx.consume(item.ref)
                ctx.edits.remove_statement(item.assign)
                continue
            elif item.attr == "api_key_path":
                ctx.needed_modules.add("pathlib")
                new_attr = "api_key"
                new_value = _read_file_expression(value)
            elif item.attr == "debug" and isinstance(value, cst.Name) and value.value == "True":
                new_attr = "default_headers"
                new_value = cst.Dict([cst.DictElement(cst.SimpleString('"OpenAI-Debug"'), cst.SimpleString('"true"'))])
            elif item.attr in CONFIG_MANUAL:
                ctx.todo(item.assign, RULE, f"openai.{item.attr}: {CONFIG_MANUAL[item.attr]}")
                continue
            if new_attr is not None and (new_attr != item.attr or new_value is not None):
                ctx.edits.replace(item.assign, _set_module_attribute(new_attr, new_value))

    def _async_module_client(self, ctx: MigrationContext) -> None:
        """``aclient = openai.AsyncOpenAI(...)`` from the module settings, once they are all set."""
        strategy = ctx.strategy
        assert isinstance(strategy, ModuleClientStrategy) and strategy.async_name is not None
        azure = _azure_kind(self.sets)
        attrs = {item.attr for item in self.sets}
        if azure:
            cls = "AsyncAzureOpenAI"
            credential = "azure_ad_token" if azure == "azure_ad" else "api_key"
            wanted = [("azure_endpoint", "azure_endpoint"), (credential, credential)]
            if "api_version" in attrs:
                wanted.insert(1, ("api_version", "api_version"))
        else:
            cls = "AsyncOpenAI"
            settings = (("api_key", "api_key"), ("organization", "organization"), ("base_url", "api_base"),
                        ("api_key", "api_key_path"))
            wanted = [(key, key) for key, old in settings if old in attrs]
        seen = set()
        kwargs = []
        for key, attr in wanted:
            if key not in seen:
                seen.add(key)
                kwargs.append((key, dotted(strategy.module_name, attr)))
        proxy = next((i.assign.value for i in self.sets if i.attr == "proxy"), None)
        if proxy is not None and not isinstance(proxy, cst.Dict):
            kwargs.append(("http_client", cst.Call(func=dotted(strategy.module_name, "DefaultAsyncHttpxClient"),
                                                   args=[cst.Arg(keyword=cst.Name("proxy"), value=proxy,
                                                                 equal=cst.AssignEqual(**_NO_SPACE))])))
        statement = _client_statement(ctx.module, strategy.async_name, f"{strategy.module_name}.{cls}", kwargs)
        ctx.needs_openai_module = True
        top = [item.line for item in self.sets if item.top_level]
        anchor = top[-1] if top else _default_anchor(ctx)
        if anchor is not None and _is_import_like(anchor):
            statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
        if anchor is None:
            ctx.edits.insert_statements(ctx.module.body[0], [statement], after=False)
        else:
            ctx.edits.insert_statements(anchor, [statement], after=True)

    def _async_client_factory(self, ctx: MigrationContext) -> None:
        """A function building an AsyncOpenAI from the module settings as they are when it is called.

        0.28 read the module settings on every request (and opened a new HTTP session per call); the
        1.x module client does the same for sync calls, and this keeps async calls equivalent.
        """
        strategy = ctx.strategy
        assert isinstance(strategy, ModuleClientStrategy)
        module = strategy.module_name
        newline, indent = ctx.module.default_newline, _indent(ctx.module)
        text = (f"def {strategy.async_name}():{newline}"
                f"{indent}return {module}.AsyncOpenAI(api_key={module}.api_key, organization={module}.organization, "
                f"base_url={module}.base_url){newline}")
        function = cst.parse_statement(text, config=parser_config(ctx.module))
        function = function.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        ctx.needs_openai_module = True
        anchor = _last_import_line(ctx)
        if anchor is None:
            ctx.edits.insert_statements(ctx.module.body[0], [function], after=False)
        else:
            ctx.edits.insert_statements(anchor, [function], after=True)

    # ----------------------------------------------------------------- instance client
    def _create_clients(self, ctx: MigrationContext) -> None:
        strategy = ctx.strategy
        assert isinstance(strategy, InstanceClientStrategy)
        settings = ClientSettings(ctx)
        last_line: Optional[cst.CSTNode] = None
        for item in self.sets:
            if settings.take(item):
                ctx.consume(item.ref)
                ctx.edits.remove_statement(item.assign)
                last_line = item.line
        settings.complete()
        wanted = [(strategy.uses_sync, strategy.sync_name, False), (strategy.uses_async, strategy.async_name, True)]
        statements = []
        for used, variable, is_async in wanted:
            if not used:
                continue
            cls = settings.class_name(is_async)
            ctx.needed_imports.add((cls, None))
            statements.append(_client_statement(ctx.module, variable, cls,
                                                [(key, build(is_async)) for key, build in settings.kwargs]))
        if not statements:
            return
        if len(statements) == 2 and not all(_repeatable(value) for value in settings.value_list):
            ctx.todo(self.sets[-1].assign, RULE,
                     "both OpenAI and AsyncOpenAI evaluate the same settings; store the value in a variable "
                     "first if evaluating it twice is a problem")
        anchor = last_line if last_line is not None else _default_anchor(ctx)
        if anchor is not None and _is_import_like(anchor):
            statements[0] = statements[0].with_changes(leading_lines=[cst.EmptyLine()])
        if anchor is None:
            ctx.edits.insert_statements(ctx.module.body[0], statements, after=False)
        else:
            ctx.edits.insert_statements(anchor, statements, after=True)


_NO_SPACE = dict(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
_AZURE_TYPES = ("azure", "azure_ad", "azuread")
_OPENAI_TYPES = ("open_ai", "openai")
_AZURE_DEFAULT_VERSION = "2023-05-15"  # what 0.28 used when api_type was azure and no api_version was set


class ClientSettings:
    """Turns the straight-line module settings of one file into client class and keyword arguments."""

    def __init__(self, ctx: MigrationContext) -> None:
        self.ctx = ctx
        self.azure: Optional[str] = None  # "azure" or "azure_ad" when api_type says so
        self.values: dict = {}  # 0.28 setting -> value expression (last assignment wins, as in 0.28)
        self.kwargs: List[Tuple[str, Callable[[bool], cst.BaseExpression]]] = []

    def take(self, item: "ConfigSet") -> bool:
        """Record one ``openai.<attr> = value``; False keeps the statement (it gets a TODO)."""
        ctx, attr, value = self.ctx, item.attr, item.assign.value
        if attr == "api_type":
            literal = (string_value(value) or "").lower()
            if literal in _AZURE_TYPES:
                self.azure = "azure" if literal == "azure" else "azure_ad"
                return True
            if literal in _OPENAI_TYPES:
                return True
            ctx.todo(item.assign, RULE, "api_type is chosen at run time: create AzureOpenAI(azure_endpoint=..., "
                                        "api_version=..., api_key=...) for Azure and OpenAI(...) otherwise")
            return False
        if attr in CONFIG_NOOPS:
            return True
        if attr == "debug":
            if isinstance(value, cst.Name) and value.value in ("True", "False"):
                self.values["debug"] = value
                return True
        elif attr in ("api_key_path", "proxy") and _is_none(value):
            return True  # None: the setting was off
        elif attr in ("api_key", "organization", "api_base", "api_version", "proxy", "api_key_path"):
            if attr == "proxy" and isinstance(value, cst.Dict):
                ctx.todo(item.assign, RULE, "a per-scheme proxy dict: pass http_client=openai.DefaultHttpxClient("
                                            "mounts=...) to the client, with one transport per scheme")
                return False
            self.values[attr] = value
            return True
        ctx.todo(item.assign, RULE, f"openai.{attr}: {CONFIG_MANUAL[attr]}")
        return False

    def complete(self) -> None:
        values, ctx = self.values, self.ctx
        if self.azure:
            endpoint = values.get("api_base") or self._env("OPENAI_API_BASE")
            self._add("azure_endpoint", endpoint)
            self._add("api_version", values.get("api_version") or cst.SimpleString(f'"{_AZURE_DEFAULT_VERSION}"'))
            key = values.get("api_key") or (self._read_key_file() if "api_key_path" in values else None) \
                or self._env("OPENAI_API_KEY")
            self._add("azure_ad_token" if self.azure == "azure_ad" else "api_key", key)
        else:
            if "api_key" in values:
                self._add("api_key", values["api_key"])
            elif "api_key_path" in values:
                self._add("api_key", self._read_key_file())
            if "api_base" in values:
                self._add("base_url", values["api_base"])
            version = values.get("api_version")
            if version is not None and string_value(version) is not None:  # sent as a header for this API type
                headers = cst.Dict([cst.DictElement(cst.SimpleString('"OpenAI-Version"'), version)])
                self._add("default_headers", headers)
        if "organization" in values:
            self._add("organization", values["organization"])
        if "proxy" in values:
            proxy = values["proxy"]
            ctx.needed_imports.add(("DefaultHttpxClient", None))
            self.kwargs.append(("http_client", lambda is_async: _http_client(ctx, proxy, is_async)))
        if isinstance(values.get("debug"), cst.Name) and values["debug"].value == "True":
            debug = cst.Dict([cst.DictElement(cst.SimpleString('"OpenAI-Debug"'), cst.SimpleString('"true"'))])
            self._add("default_headers", debug)

    def class_name(self, is_async: bool) -> str:
        base = "AzureOpenAI" if self.azure else "OpenAI"
        return "Async" + base if is_async else base

    def _add(self, key: str, value: cst.BaseExpression) -> None:
        self.kwargs.append((key, lambda is_async, value=value: value))

    def _env(self, name: str) -> cst.BaseExpression:
        """``os.environ.get(NAME)``: 0.28 read this variable, and 1.x reads another one."""
        self.ctx.needed_modules.add("os")
        return cst.parse_expression(f'os.environ.get("{name}")')

    def _read_key_file(self) -> cst.BaseExpression:
        """0.28 read api_key_path on every request; read it once when the client is created."""
        self.ctx.needed_modules.add("pathlib")
        path = self.values["api_key_path"]
        return cst.Call(func=cst.Attribute(
            value=cst.Call(func=cst.Attribute(value=cst.Call(func=cst.parse_expression("pathlib.Path"),
                                                             args=[cst.Arg(path)]),
                                              attr=cst.Name("read_text"))),
            attr=cst.Name("strip")))

    @property
    def value_list(self):
        return list(self.values.values())


_LINE_LIMIT = 100


def _client_statement(module: cst.Module, variable: str, cls: str, kwargs) -> cst.SimpleStatementLine:
    """``client = OpenAI(k=v, ...)``, one argument per line when it would not fit on one."""
    rendered = [f"{key}={module.code_for_node(value)}" for key, value in kwargs]
    one_line = f"{variable} = {cls}({', '.join(rendered)})"
    if len(one_line) <= _LINE_LIMIT or len(kwargs) < 2 or any("\n" in r for r in rendered):
        text = one_line + module.default_newline
    else:
        indent, newline = _indent(module), module.default_newline
        text = f"{variable} = {cls}({newline}" + "".join(f"{indent}{r},{newline}" for r in rendered) + f"){newline}"
    statement = cst.parse_statement(text, config=parser_config(module))
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement


def _http_client(ctx: MigrationContext, proxy: cst.BaseExpression, is_async: bool) -> cst.BaseExpression:
    name = "DefaultAsyncHttpxClient" if is_async else "DefaultHttpxClient"
    ctx.needed_imports.add((name, None))
    return cst.Call(func=cst.Name(name), args=[cst.Arg(keyword=cst.Name("proxy"), value=proxy,
                                                        equal=cst.AssignEqual(**_NO_SPACE))])


_RUNTIME_1X_NAMES = ("api_key", "organization", "base_url", "azure_endpoint", "azure_ad_token")
_RUNTIME_ALL_NAMES = (*_RUNTIME_1X_NAMES, "api_base", "api_key_path", "api_type", "api_version", "proxy",
                      "http_client", "default_headers")


def _runtime_settings(ctx: MigrationContext, only_1x: bool = False) -> list:
    """``openai.<setting> = ...`` assignments made outside the module body, in file order."""
    names = _RUNTIME_1X_NAMES if only_1x else _RUNTIME_ALL_NAMES
    found = []
    for ref in ctx.analysis.openai_refs:
        parts = ref.qualname.split(".")
        if len(parts) != 2 or parts[1] not in names:
            continue
        target = ctx.analysis.parents.get(ref.node)
        assign = ctx.analysis.parents.get(target) if isinstance(target, cst.AssignTarget) else None
        if isinstance(assign, cst.Assign):
            line = ctx.analysis.parents.get(assign)
            if ctx.analysis.parents.get(line) is not ctx.module:
                found.append(assign)
    order = {line: i for i, line in enumerate(_lines_in_order(ctx.module))}
    return sorted(found, key=lambda assign: order.get(ctx.analysis.parents.get(assign), 0))


def _lines_in_order(module: cst.Module):
    """Every simple statement line of the module, in source order (blocks walked depth first)."""
    stack = list(reversed(module.body))
    while stack:
        node = stack.pop()
        if isinstance(node, cst.SimpleStatementLine):
            yield node
            continue
        children = []
        for name in ("body", "orelse", "finalbody", "handlers"):
            part = getattr(node, name, None)
            if isinstance(part, (list, tuple)):
                children.extend(part)
            elif part is not None:
                children.append(part)
        for child in reversed(children):
            body = getattr(child, "body", None)
            if isinstance(child, cst.BaseSuite):
                stack.extend(reversed(list(child.body)) if isinstance(child.body, (list, tuple)) else [])
            elif body is not None or isinstance(child, (cst.Else, cst.Finally, cst.If, cst.ExceptHandler)):
                stack.append(child)


def _azure_kind(sets) -> Optional[str]:
    for item in sets:
        if item.attr == "api_type":
            literal = (string_value(item.assign.value) or "").lower()
            if literal in _AZURE_TYPES:
                return "azure" if literal == "azure" else "azure_ad"
    return None


def _module_of(item) -> str:
    """How the file spells the openai module in this setting (``openai`` or an alias)."""
    target = item.assign.targets[0].target
    return target.value.value if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) else "openai"


def _is_none(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _is_false(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _read_file_expression(path: cst.BaseExpression) -> cst.BaseExpression:
    """``pathlib.Path(path).read_text().strip()``."""
    opened = cst.Call(func=cst.parse_expression("pathlib.Path"), args=[cst.Arg(path)])
    text = cst.Call(func=cst.Attribute(value=opened, attr=cst.Name("read_text")))
    return cst.Call(func=cst.Attribute(value=text, attr=cst.Name("strip")))


def _set_module_attribute(attr: str, value: Optional[cst.BaseExpression]):
    """``openai.<old> = v`` -> ``openai.<attr> = v`` (or a new value)."""

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Assign)
        target = updated.targets[0].target
        assert isinstance(target, cst.Attribute)
        new_target = target.with_changes(attr=cst.Name(attr))
        return updated.with_changes(targets=[updated.targets[0].with_changes(target=new_target)],
                                    value=value if value is not None else updated.value)

    return rewrite


def _indent(module: cst.Module) -> str:
    """The module's indent, or four spaces when it is something odd (a form feed before spaces...)."""
    indent = module.default_indent
    return indent if indent and set(indent) <= {" ", "\t"} else "    "


def parser_config(module: cst.Module) -> cst.PartialParserConfig:
    """Parse new code with the module's newline and indent (libcst refuses some real-world indents)."""
    return cst.PartialParserConfig(default_newline=module.default_newline,
                                   default_indent=_indent(module))


def _client_attr(attr: str) -> str:
    return {"api_key": "client.api_key", "organization": "client.organization", "api_base": "client.base_url"}[attr]


def _repeatable(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Name, cst.Attribute, cst.SimpleString, cst.ConcatenatedString, cst.Integer)):
        return True
    if isinstance(node, cst.Subscript):
        return _repeatable(node.value)
    if isinstance(node, cst.Call) and isinstance(node.func, (cst.Name, cst.Attribute)):
        func = node.func.attr.value if isinstance(node.func, cst.Attribute) else node.func.value
        return func in ("getenv", "get") and all(_repeatable(a.value) for a in node.args)
    return False


def _to_base_url(assign: cst.Assign):
    """``openai.api_base = X`` -> ``openai.base_url = X`` with the trailing slash 1.x needs."""

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Assign)
        target = updated.targets[0].target
        assert isinstance(target, cst.Attribute)
        new_target = target.with_changes(attr=cst.Name(CONFIG_MODULE_ATTRIBUTE["api_base"]))
        value = updated.value
        literal = string_value(value)
        if literal is not None and isinstance(value, cst.SimpleString):
            if not literal.endswith("/"):
                quote = value.quote
                value = value.with_changes(value=f"{value.prefix}{quote}{value.raw_value}/{quote}")
        elif literal is None:
            value = cst.BinaryOperation(
                left=cst.Call(func=cst.Attribute(value=_paren_if_needed(value), attr=cst.Name("rstrip")),
                              args=[cst.Arg(cst.SimpleString('"/"'))]),
                operator=cst.Add(),
                right=cst.SimpleString('"/"'),
            )
        return updated.with_changes(targets=[updated.targets[0].with_changes(target=new_target)], value=value)

    return rewrite


def _paren_if_needed(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString)):
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _describe_location(ctx: MigrationContext, node: cst.CSTNode) -> str:
    for ancestor in ctx.analysis.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            return f"inside {ancestor.name.value}()"
        if isinstance(ancestor, cst.If):
            return "inside an if block"
        if isinstance(ancestor, cst.Try):
            return "inside a try block"
        if isinstance(ancestor, (cst.With, cst.For, cst.While)):
            return "inside a block"
    return "conditionally"


def _first_nested_import(ctx: MigrationContext) -> cst.CSTNode:
    for ref in ctx.analysis.openai_refs:
        found = ctx.analysis.bindings_of(ref.root)
        if found and found[0] is not ctx.analysis.module_scope:
            return found[1][0].node
    return ctx.module.body[0]


def _last_import_line(ctx: MigrationContext) -> Optional[cst.CSTNode]:
    """The last import at the top of the module (after a docstring), where helpers can go."""
    anchor = None
    for statement in ctx.module.body:
        if _is_import_like(statement) or (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                                          and isinstance(statement.body[0], cst.Expr)
                                          and isinstance(statement.body[0].value, cst.SimpleString)):
            anchor = statement
        elif anchor is not None:
            break
    return anchor


def _is_import_like(stmt: cst.CSTNode) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):
        return all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)
    if isinstance(stmt, cst.Try):
        body = stmt.body.body
        return all(_is_import_like(s) for s in body)
    return False


def _is_env_loading(stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
        if isinstance(value, cst.Call):
            func = value.func
            name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            if name in _ENV_LOADERS or (isinstance(func, cst.Attribute) and name in ("setdefault", "update")
                                        and _mentions_environ(func.value)):
                return True
        if isinstance(small, cst.Assign) and any(
            isinstance(t.target, cst.Subscript) and _mentions_environ(t.target.value) for t in small.targets
        ):
            return True
    return False


def _mentions_environ(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "environ" or (
        isinstance(node, cst.Name) and node.value == "environ"
    )


def _default_anchor(ctx: MigrationContext) -> Optional[cst.CSTNode]:
    """After the imports and env loading, before the first statement that calls the API at import time."""
    first_use = _first_import_time_use(ctx)
    anchor = None
    for index, stmt in enumerate(ctx.module.body):
        if first_use is not None and index >= first_use:
            break
        if _is_import_like(stmt) or _is_env_loading(stmt):
            anchor = stmt
    if anchor is None and first_use is not None and first_use > 0:
        anchor = ctx.module.body[first_use - 1]
    return anchor


def _first_import_time_use(ctx: MigrationContext) -> Optional[int]:
    analysis = ctx.analysis
    positions = []
    for call in ctx.migrated_calls:
        if analysis.scope_of(call).kind in ("module", "class"):
            statement = call
            for ancestor in analysis.ancestors(call):
                if ancestor is ctx.module:
                    break
                statement = ancestor
            positions.append(next(i for i, s in enumerate(ctx.module.body) if s is statement))
    return min(positions) if positions else None
