"""One fast pass over a parsed module: scopes, name bindings, parents and openai references.

LibCST's metadata providers (ScopeProvider, QualifiedNameProvider) answer the same questions
but cost about a parse's worth of time each. The rules only need three things: which names
refer to the ``openai`` package (through any import form, respecting shadowing), where each
node sits (its parent and enclosing scope), and what each local name was bound to. This
module computes exactly that by walking the dataclass fields of the tree directly, which is
an order of magnitude cheaper than a ``CSTVisitor`` pass.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Set, Tuple, Union

import libcst as cst

# Fields that only ever hold whitespace, punctuation or comments: never walked.
_SKIPPED_PREFIXES = (
    "whitespace",
    "leading_lines",
    "lines_after_decorators",
    "lpar",
    "rpar",
    "lbracket",
    "rbracket",
    "lbrace",
    "rbrace",
    "comma",
    "semicolon",
    "colon",
    "header",
    "footer",
    "trailing_whitespace",
    "equal",
    "dot",
    "operator",
    "indent",
    "newline",
    "encoding",
    "default_",
    "has_trailing",
)
_FIELDS: Dict[type, Tuple[str, ...]] = {}
# Attribute names the rules look up (``x.response_ms``): indexed during the walk.
_WATCHED_ATTRIBUTES = frozenset({"response_ms", "organization"})


def _child_fields(tp: type) -> Tuple[str, ...]:
    names = _FIELDS.get(tp)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(tp) if not f.name.startswith(_SKIPPED_PREFIXES)
        )
        _FIELDS[tp] = names
    return names


ScopeNode = Union[
    cst.Module, cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp,
    cst.DictComp, cst.GeneratorExp,
]


@dataclass
class Binding:
    """One way a name gets bound in a scope."""

    kind: str  # import | assign | annassign | for | param | def | class | other
    node: cst.CSTNode  # the statement or node that binds
    value: Optional[cst.BaseExpression] = None  # right-hand side / iterable, when known
    target: Optional[str] = None  # for imports: the qualified name bound, e.g. "openai.error"
    index: Tuple[int, ...] = ()  # for "unpack": the position in the unpacked (nested) tuple


@dataclass
class Scope:
    node: cst.CSTNode
    kind: str  # module | function | class | comprehension
    parent: Optional["Scope"]
    bindings: Dict[str, List[Binding]] = field(default_factory=dict)
    globals: set = field(default_factory=set)
    nonlocals: set = field(default_factory=set)
    is_async: bool = False

    def bind(self, name: str, binding: Binding) -> None:
        if name in self.globals:
            scope = self
            while scope.parent is not None:
                scope = scope.parent
            scope.bindings.setdefault(name, []).append(binding)
            return
        self.bindings.setdefault(name, []).append(binding)

    def defining_scope(self, name: str) -> Optional["Scope"]:
        """The scope whose binding a load of ``name`` in this scope refers to."""
        scope: Optional[Scope] = self
        first = True
        while scope is not None:
            if name in scope.globals:
                root = scope
                while root.parent is not None:
                    root = root.parent
                return root if name in root.bindings else None
            # Class scopes are invisible to the functions nested inside them.
            if (first or scope.kind != "class") and name in scope.bindings:
                if name not in scope.nonlocals:
                    return scope
            first = False
            scope = scope.parent
        return None

    @property
    def function_scope(self) -> "Scope":
        """The nearest enclosing scope that is not a comprehension (walrus targets bind here)."""
        scope = self
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        return scope


@dataclass
class OpenAIRef:
    """An expression that resolves to something in the openai package.

    ``node`` is the outermost ``Name``/``Attribute`` chain (``openai.ChatCompletion.create``),
    ``qualname`` its qualified name, ``root`` the ``Name`` node the chain starts from.
    """

    node: cst.BaseExpression
    qualname: str
    root: cst.Name
    scope: Scope


class ModuleAnalysis:
    """Everything the rules need to know about one module, computed in a single walk."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.parents: Dict[cst.CSTNode, cst.CSTNode] = {}
        self.name_scope: Dict[cst.Name, Scope] = {}
        self.names_by_value: Dict[str, List[cst.Name]] = {}
        self.names_by_attr: Dict[str, List[cst.Attribute]] = {}
        self.scope_of_node: Dict[cst.CSTNode, Scope] = {}
        self.calls: List[cst.Call] = []
        self.returns: List[Tuple[cst.Return, Scope]] = []
        self.yields: List[Tuple[cst.Yield, Scope]] = []
        self.subscripts: List[cst.Subscript] = []
        self.comparisons: List[cst.Comparison] = []
        self.strings: List[cst.SimpleString] = []
        self.openai_star_imports: List[cst.ImportFrom] = []
        # expressions used only for their truth value: if/while/assert tests, `not x`, ternary tests
        self.truth_tests: List[cst.BaseExpression] = []
        # ``obj.attr = value`` assignments: (target attribute, value)
        self.attribute_sets: List[Tuple[cst.Attribute, Optional[cst.BaseExpression]]] = []
        self.module_scope = Scope(module, "module", None)
        self.scope_of_node[module] = self.module_scope
        self._walk_body(module, self.module_scope)
        refs = self._find_openai_refs()
        # ``if openai.__version__ < "1": ...`` (or hasattr(openai, ...), version("openai")): code that already
        # supports both SDKs; nothing in such an if (either branch) is the migration's business
        # A test that leads nowhere near the SDK's API (``raise`` if 1.x, ``assert`` 0.x) is a version check the
        # migration makes wrong: ``version_checks``, for a TODO.
        self.version_checks: List[cst.CSTNode] = []
        self.version_guards: Set[cst.CSTNode] = self._version_guards(refs)
        self.openai_refs: List[OpenAIRef] = [ref for ref in refs if not self.in_version_guard(ref.node)] \
            if self.version_guards else refs

    # ------------------------------------------------------------------ walking
    def _walk_body(self, node: cst.CSTNode, scope: Scope) -> None:
        for name in _child_fields(type(node)):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                self._visit(value, node, scope)
            elif isinstance(value, (tuple, list)):
                for child in value:
                    if isinstance(child, cst.CSTNode):
                        self._visit(child, node, scope)

    def _visit(self, node: cst.CSTNode, parent: cst.CSTNode, scope: Scope) -> None:
        self.parents[node] = parent
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            handler(self, node, scope)
        else:
            self._walk_body(node, scope)

    def _visit_opt(self, node: Optional[cst.CSTNode], parent: cst.CSTNode, scope: Scope) -> None:
        if node is not None:
            self._visit(node, parent, scope)

    def _mark(self, node: cst.CSTNode, parent: cst.CSTNode) -> None:
        self.parents[node] = parent

    def _on_name(self, node: cst.Name, scope: Scope) -> None:
        self.name_scope[node] = scope
        self.names_by_value.setdefault(node.value, []).append(node)

    def _on_attribute(self, node: cst.Attribute, scope: Scope) -> None:
        self._visit(node.value, node, scope)
        self._mark(node.attr, node)
        if node.attr.value in _WATCHED_ATTRIBUTES:
            self.names_by_attr.setdefault(node.attr.value, []).append(node)

    def _on_arg(self, node: cst.Arg, scope: Scope) -> None:
        self._visit(node.value, node, scope)
        if node.keyword is not None:
            self._mark(node.keyword, node)

    def _on_call(self, node: cst.Call, scope: Scope) -> None:
        self.calls.append(node)
        self._visit(node.func, node, scope)
        for arg in node.args:
            self._visit(arg, node, scope)

    def _new_scope(self, node: cst.CSTNode, kind: str, scope: Scope) -> Scope:
        inner = Scope(node, kind, scope)
        self.scope_of_node[node] = inner
        return inner

    def _on_function(self, node: cst.FunctionDef, scope: Scope) -> None:
        self._mark(node.name, node)
        scope.bind(node.name.value, Binding("def", node))
        for dec in node.decorators:
            self._visit(dec, node, scope)
        inner = self._new_scope(node, "function", scope)
        inner.is_async = node.asynchronous is not None
        self._visit_params(node.params, node, scope, inner)
        if node.returns is not None:
            self._visit(node.returns, node, scope)
        self._visit(node.body, node, inner)

    def _visit_params(self, params: cst.Parameters, owner: cst.CSTNode, outer: Scope, inner: Scope) -> None:
        self._mark(params, owner)
        all_params: List[cst.Param] = [*params.posonly_params, *params.params, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                all_params.append(extra)
        for param in all_params:
            self._mark(param, params)
            self._mark(param.name, param)
            inner.bind(param.name.value, Binding("param", param))
            if param.default is not None:
                self._visit(param.default, param, outer)
            if param.annotation is not None:
                self._visit(param.annotation, param, outer)

    def _on_lambda(self, node: cst.Lambda, scope: Scope) -> None:
        inner = self._new_scope(node, "function", scope)
        self._visit_params(node.params, node, scope, inner)
        self._visit(node.body, node, inner)

    def _on_class(self, node: cst.ClassDef, scope: Scope) -> None:
        self._mark(node.name, node)
        scope.bind(node.name.value, Binding("class", node))
        for dec in node.decorators:
            self._visit(dec, node, scope)
        for arg in (*node.bases, *node.keywords):
            self._visit(arg, node, scope)
        inner = self._new_scope(node, "class", scope)
        self._visit(node.body, node, inner)

    def _on_comprehension(self, node: cst.CSTNode, scope: Scope) -> None:
        inner = self._new_scope(node, "comprehension", scope)
        self._walk_body(node, inner)

    def _on_comp_for(self, node: cst.CompFor, scope: Scope) -> None:
        self._visit(node.iter, node, scope)
        self._bind_target(node.target, node, scope, "for", node.iter)
        for cond in node.ifs:
            self._visit(cond, node, scope)
        self._visit_opt(node.inner_for_in, node, scope)

    def _on_global(self, node: Union[cst.Global, cst.Nonlocal], scope: Scope) -> None:
        target = scope.globals if isinstance(node, cst.Global) else scope.nonlocals
        for item in node.names:
            self._mark(item, node)
            self._mark(item.name, item)
            target.add(item.name.value)

    def _on_import(self, node: cst.Import, scope: Scope) -> None:
        for alias in node.names:
            self._mark(alias, node)
            dotted = _dotted(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                scope.bind(alias.asname.name.value, Binding("import", node, target=dotted))
            else:
                first = dotted.split(".")[0]
                scope.bind(first, Binding("import", node, target=first))

    def _on_import_from(self, node: cst.ImportFrom, scope: Scope) -> None:
        module = _dotted(node.module) if node.module is not None and not node.relative else None
        if isinstance(node.names, cst.ImportStar):
            if module is not None and module.split(".")[0] == "openai":
                self.openai_star_imports.append(node)
            return
        for alias in node.names:
            self._mark(alias, node)
            imported = _dotted(alias.name)
            local = (
                alias.asname.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                else imported
            )
            target = f"{module}.{imported}" if module else None
            scope.bind(local, Binding("import" if target else "other", node, target=target))

    def _on_assign(self, node: cst.Assign, scope: Scope) -> None:
        self._visit(node.value, node, scope)
        for target in node.targets:
            self._mark(target, node)
            self._bind_target(target.target, target, scope, "assign", node.value, statement=node)

    def _on_ann_assign(self, node: cst.AnnAssign, scope: Scope) -> None:
        if node.value is not None:
            self._visit(node.value, node, scope)
        self._visit(node.annotation, node, scope)
        kind = "assign" if node.value is not None else "annotation"
        self._bind_target(node.target, node, scope, kind, node.value, statement=node)

    def _on_aug_assign(self, node: cst.AugAssign, scope: Scope) -> None:
        self._visit(node.value, node, scope)
        self._bind_target(node.target, node, scope, "other", None, statement=node)

    def _on_named_expr(self, node: cst.NamedExpr, scope: Scope) -> None:
        self._visit(node.value, node, scope)
        self._bind_target(node.target, node, scope.function_scope, "assign", node.value, statement=node)

    def _on_for(self, node: cst.For, scope: Scope) -> None:
        self._visit(node.iter, node, scope)
        self._bind_target(node.target, node, scope, "for", node.iter, statement=node)
        self._visit(node.body, node, scope)
        self._visit_opt(node.orelse, node, scope)

    def _on_with_item(self, node: cst.WithItem, scope: Scope) -> None:
        self._visit(node.item, node, scope)
        if node.asname is not None:
            self._mark(node.asname, node)
            self._bind_target(node.asname.name, node.asname, scope, "other", None)

    def _on_except(self, node: Union[cst.ExceptHandler, cst.ExceptStarHandler], scope: Scope) -> None:
        self._visit_opt(node.type, node, scope)
        if node.name is not None:
            self._mark(node.name, node)
            self._bind_target(node.name.name, node.name, scope, "other", None)
        self._visit(node.body, node, scope)

    def _on_del(self, node: cst.Del, scope: Scope) -> None:
        self._bind_target(node.target, node, scope, "other", None)

    def _on_return(self, node: cst.Return, scope: Scope) -> None:
        self.returns.append((node, scope))
        self._walk_body(node, scope)

    def _on_yield(self, node: cst.Yield, scope: Scope) -> None:
        self.yields.append((node, scope))
        self._walk_body(node, scope)

    def _on_subscript(self, node: cst.Subscript, scope: Scope) -> None:
        self.subscripts.append(node)
        self._walk_body(node, scope)

    def _on_string(self, node: cst.SimpleString, scope: Scope) -> None:
        if "openai." in node.value:
            self.strings.append(node)

    def _on_comparison(self, node: cst.Comparison, scope: Scope) -> None:
        self.comparisons.append(node)
        self._walk_body(node, scope)

    def _on_truth_test(self, node: cst.CSTNode, scope: Scope) -> None:
        test = node.expression if isinstance(node, cst.UnaryOperation) else node.test  # type: ignore[attr-defined]
        if not isinstance(node, cst.UnaryOperation) or isinstance(node.operator, cst.Not):
            self.truth_tests.append(test)
        self._walk_body(node, scope)

    def _on_match_capture(self, node: cst.CSTNode, scope: Scope) -> None:
        name = getattr(node, "name", None)
        if isinstance(name, cst.Name):
            scope.bind(name.value, Binding("other", node))
        self._walk_body(node, scope)

    def _bind_target(
        self,
        target: cst.CSTNode,
        parent: cst.CSTNode,
        scope: Scope,
        kind: str,
        value: Optional[cst.BaseExpression],
        statement: Optional[cst.CSTNode] = None,
    ) -> None:
        """Bind the names a target binds; walk the loads inside non-name targets."""
        if isinstance(target, cst.Name):
            self._mark(target, parent)
            self.name_scope[target] = scope
            scope.bind(target.value, Binding(kind, statement or parent, value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            self._mark(target, parent)
            self._bind_elements(target, parent, scope, kind, value, statement, ())

        elif isinstance(target, cst.StarredElement):
            self._mark(target, parent)
            self._bind_target(target.value, target, scope, "other", None, statement)
        else:  # attribute or subscript target: its parts are loads
            if isinstance(target, cst.Attribute):
                self.attribute_sets.append((target, value if kind == "assign" else None))
            self._visit(target, parent, scope)

    def _bind_elements(self, target, parent, scope, kind, value, statement, path: Tuple[int, ...]) -> None:
        starred = any(isinstance(e, cst.StarredElement) for e in target.elements)
        for position, element in enumerate(target.elements):
            self._mark(element, target)
            inner = element.value
            if isinstance(element, cst.StarredElement):
                self._mark(inner, element)
            if kind == "assign" and starred and isinstance(element, cst.StarredElement) and isinstance(inner, cst.Name):
                self.name_scope[inner] = scope
                scope.bind(inner.value, Binding("unpack_rest", statement or parent, value, index=(*path, position)))
            elif kind == "assign" and starred and not path and isinstance(inner, cst.Name):
                # ``first, *rest = items``: the plain names are items of the list
                self._mark(inner, element)
                self.name_scope[inner] = scope
                scope.bind(inner.value, Binding("unpack_assign", statement or parent, value, index=(0,)))
            elif kind in ("for", "assign") and not starred and isinstance(inner, cst.Name):
                # ``for a, b in zip(x, y)`` / ``enumerate(x)``: remember where each name comes from
                self._mark(inner, element)
                self.name_scope[inner] = scope
                unpack = "unpack" if kind == "for" else "unpack_assign"
                scope.bind(inner.value, Binding(unpack, statement or parent, value, index=(*path, position)))
            elif kind in ("for", "assign") and not starred and isinstance(inner, (cst.Tuple, cst.List)):
                self._mark(inner, element)
                self._bind_elements(inner, element, scope, kind, value, statement, (*path, position))
            else:
                self._bind_target(inner, element, scope, "other", None, statement)

    # ------------------------------------------------------------------ queries
    def scope_of(self, node: cst.CSTNode) -> Scope:
        """The scope a node's expression is evaluated in."""
        current: Optional[cst.CSTNode] = node
        while current is not None:
            if isinstance(current, cst.Name) and current in self.name_scope:
                return self.name_scope[current]
            parent = self.parents.get(current)
            if parent is None:
                return self.module_scope
            if parent in self.scope_of_node and _evaluates_inside(parent, current):
                return self.scope_of_node[parent]
            current = parent
        return self.module_scope

    def bindings_of(self, name: cst.Name) -> Optional[Tuple[Scope, List[Binding]]]:
        scope = self.name_scope.get(name)
        if scope is None:
            return None
        defining = scope.defining_scope(name.value)
        if defining is None:
            return None
        return defining, defining.bindings[name.value]

    def string_constant(self, node: cst.CSTNode) -> Optional[str]:
        """The value of a string literal, or of a module-level name bound exactly once, to a string literal
        (``CONTENT = "content"``, ``CHOICES, MESSAGE = "choices", "message"``): keys held in constants."""
        value = string_value(node)
        if value is not None or not isinstance(node, cst.Name):
            return value
        found = self.bindings_of(node)
        if found is None:
            return None
        scope, bindings = found
        if scope.kind != "module" or len(bindings) != 1:
            return None
        binding = bindings[0]
        if binding.kind == "assign" and binding.value is not None and not binding.index:
            return string_value(binding.value)
        if binding.kind == "unpack_assign" and len(binding.index) == 1 and isinstance(binding.value, cst.Tuple):
            elements = binding.value.elements
            if any(isinstance(element, cst.StarredElement) for element in elements):
                return None
            position = binding.index[0]
            return string_value(elements[position].value) if position < len(elements) else None
        return None

    def import_target(self, name: cst.Name) -> Optional[str]:
        """The qualified name a Name refers to if every binding of it is the same import."""
        found = self.bindings_of(name)
        if found is None:
            return None
        _, bindings = found
        targets = set()
        for binding in bindings:
            if binding.kind == "import" and binding.target is not None:
                targets.add(binding.target)
            elif binding.kind in ("assign", "other") and _is_none_fallback(binding):
                continue  # ``except ImportError: openai = None``
            else:
                return None
        return targets.pop() if len(targets) == 1 else None

    def enclosing_statement(self, node: cst.CSTNode) -> cst.CSTNode:
        """The statement (simple line or compound) that contains ``node``."""
        current = node
        while True:
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return current
            parent = self.parents.get(current)
            if parent is None:
                return current
            current = parent

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def _find_openai_refs(self) -> List[OpenAIRef]:
        refs: List[OpenAIRef] = []
        candidates = {
            name
            for scope_bindings in self._all_bindings()
            for name, bindings in scope_bindings.items()
            if any(b.kind == "import" and (b.target or "").split(".")[0] == "openai" for b in bindings)
        }
        for local in sorted(candidates):
            for name in self.names_by_value.get(local, ()):
                target = self.import_target(name)
                if target is None or target.split(".")[0] != "openai":
                    continue
                node: cst.BaseExpression = name
                qualname = target
                while True:
                    parent = self.parents.get(node)
                    if isinstance(parent, cst.Attribute) and parent.value is node:
                        node = parent
                        qualname = f"{qualname}.{parent.attr.value}"
                    else:
                        break
                refs.append(OpenAIRef(node, qualname, name, self.name_scope[name]))
        return refs

    def _version_guards(self, refs: List[OpenAIRef]) -> Set[cst.CSTNode]:
        """The ``if`` statements and conditional expressions whose test asks which openai SDK is installed."""
        probes: List[cst.CSTNode] = [ref.node for ref in refs if ref.qualname in _VERSION_NAMES
                                     or ref.qualname.startswith(_VERSION_PREFIXES)]
        probes += [ref.node for ref in refs if ref.qualname == "openai" and _is_hasattr_probe(self, ref.node)]
        probes += [call for call in self.calls if _is_distribution_probe(call)]
        probes += self._flag_reads(probes)
        tests: List[cst.CSTNode] = []
        for probe in probes:
            child: cst.CSTNode = probe
            for parent in self.ancestors(probe):
                if isinstance(parent, (cst.If, cst.IfExp, cst.Assert)) and parent.test is child:
                    if parent not in tests:
                        tests.append(parent)
                    break
                if isinstance(parent, (cst.BaseSuite, cst.BaseCompoundStatement, cst.SimpleStatementLine)):
                    break  # the probe is not part of a condition
                child = parent
        probe_nodes = set(probes)
        guards: Set[cst.CSTNode] = set()
        for test in tests:
            inside = isinstance(test, (cst.If, cst.IfExp)) and any(
                ref.node not in probe_nodes and any(a is test for a in self.ancestors(ref.node))
                and not self._within(ref.node, test.test) for ref in refs)
            if inside:
                guards.add(test)  # one branch per SDK
                guards.update(self._rest_of_block(test))
            else:
                self.version_checks.append(test)
        return guards

    def _rest_of_block(self, guard: cst.CSTNode) -> List[cst.CSTNode]:
        """``if v1: return new()`` then ``return old()``: when the guarded branch always leaves and there is no
        ``else``, the statements after the ``if`` are the other SDK's branch."""
        if not isinstance(guard, cst.If) or guard.orelse is not None or not isinstance(guard.body, cst.IndentedBlock):
            return []
        last = guard.body.body[-1] if guard.body.body else None
        exits = isinstance(last, cst.SimpleStatementLine) and last.body and isinstance(
            last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
        block = self.parents.get(guard)
        if not exits or not isinstance(block, (cst.IndentedBlock, cst.Module)):
            return []
        statements = list(block.body)
        return statements[statements.index(guard) + 1:] if guard in statements else []

    def _flag_reads(self, probes: List[cst.CSTNode]) -> List[cst.CSTNode]:
        """Reads of a module-level flag holding a probe's answer (``V1 = hasattr(openai, "OpenAI")``, then
        ``if V1:``): the flag must be bound once, by that assignment."""
        reads: List[cst.CSTNode] = []
        for probe in probes:
            child: cst.CSTNode = probe
            for parent in self.ancestors(probe):
                if isinstance(parent, cst.Assign) and parent.value is child:
                    if len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name) \
                            and self.parents.get(self.parents.get(parent)) is self.module:
                        flag = parent.targets[0].target
                        for name in self.names_by_value.get(flag.value, ()):
                            found = self.bindings_of(name) if name is not flag else None
                            if found is not None and found[0] is self.module_scope and len(found[1]) == 1 \
                                    and found[1][0].node is parent:
                                reads.append(name)
                    break
                if isinstance(parent, (cst.BaseSuite, cst.BaseCompoundStatement, cst.SimpleStatementLine)):
                    break
                child = parent
        return reads

    def _within(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        return node is container or any(a is container for a in self.ancestors(node))

    def in_version_guard(self, node: cst.CSTNode) -> bool:
        """Whether ``node`` lies inside an ``if`` (or ``x if c else y``) that tests the openai version."""
        if not self.version_guards:
            return False
        return node in self.version_guards or any(a in self.version_guards for a in self.ancestors(node))

    def foreign_openai_names(self) -> List[Tuple[cst.Name, str]]:
        """Names bound by importing ``openai`` from another module (``from app.llm import openai``)."""
        locals_ = {name for bindings in self._all_bindings() for name, items in bindings.items()
                   if any(b.kind == "import" and (b.target or "").endswith(".openai")
                          and not (b.target or "").startswith("openai") for b in items)}
        found = []
        for local in sorted(locals_):
            for name in self.names_by_value.get(local, ()):
                bound = self.bindings_of(name)
                if bound is None:
                    continue
                targets = {b.target for b in bound[1] if b.kind == "import"}
                if len(targets) == 1:
                    target = targets.pop() or ""
                    if target.endswith(".openai") and not target.startswith("openai"):
                        found.append((name, target[: -len(".openai")]))
        return found

    def attributes_named(self, names) -> List[cst.Attribute]:
        """``x.<name>`` attribute nodes for the given attribute names."""
        found = []
        for name in names:
            for node in self.names_by_attr.get(name, ()):
                found.append(node)
        return found

    def _all_bindings(self) -> Iterator[Dict[str, List[Binding]]]:
        seen = set()
        for scope in self.scope_of_node.values():
            if id(scope) not in seen:
                seen.add(id(scope))
                yield scope.bindings


def _evaluates_inside(scope_node: cst.CSTNode, child: cst.CSTNode) -> bool:
    if isinstance(scope_node, (cst.FunctionDef, cst.ClassDef)):
        return child is scope_node.body
    if isinstance(scope_node, cst.Lambda):
        return child is scope_node.body
    return True  # comprehensions and the module


def _is_none_fallback(binding: Binding) -> bool:
    return isinstance(binding.value, cst.Name) and binding.value.value == "None"


def _dotted(node: Union[cst.Name, cst.Attribute, cst.BaseExpression]) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {node!r}")


_HANDLERS = {
    cst.Name: ModuleAnalysis._on_name,
    cst.Attribute: ModuleAnalysis._on_attribute,
    cst.Arg: ModuleAnalysis._on_arg,
    cst.Call: ModuleAnalysis._on_call,
    cst.FunctionDef: ModuleAnalysis._on_function,
    cst.Lambda: ModuleAnalysis._on_lambda,
    cst.ClassDef: ModuleAnalysis._on_class,
    cst.ListComp: ModuleAnalysis._on_comprehension,
    cst.SetComp: ModuleAnalysis._on_comprehension,
    cst.DictComp: ModuleAnalysis._on_comprehension,
    cst.GeneratorExp: ModuleAnalysis._on_comprehension,
    cst.CompFor: ModuleAnalysis._on_comp_for,
    cst.Global: ModuleAnalysis._on_global,
    cst.Nonlocal: ModuleAnalysis._on_global,
    cst.Import: ModuleAnalysis._on_import,
    cst.ImportFrom: ModuleAnalysis._on_import_from,
    cst.Assign: ModuleAnalysis._on_assign,
    cst.AnnAssign: ModuleAnalysis._on_ann_assign,
    cst.AugAssign: ModuleAnalysis._on_aug_assign,
    cst.NamedExpr: ModuleAnalysis._on_named_expr,
    cst.For: ModuleAnalysis._on_for,
    cst.WithItem: ModuleAnalysis._on_with_item,
    cst.ExceptHandler: ModuleAnalysis._on_except,
    cst.ExceptStarHandler: ModuleAnalysis._on_except,
    cst.Del: ModuleAnalysis._on_del,
    cst.Return: ModuleAnalysis._on_return,
    cst.Yield: ModuleAnalysis._on_yield,
    cst.Subscript: ModuleAnalysis._on_subscript,
    cst.Comparison: ModuleAnalysis._on_comparison,
    cst.SimpleString: ModuleAnalysis._on_string,
    cst.If: ModuleAnalysis._on_truth_test,
    cst.While: ModuleAnalysis._on_truth_test,
    cst.IfExp: ModuleAnalysis._on_truth_test,
    cst.Assert: ModuleAnalysis._on_truth_test,
    cst.UnaryOperation: ModuleAnalysis._on_truth_test,
    cst.MatchAs: ModuleAnalysis._on_match_capture,
    cst.MatchStar: ModuleAnalysis._on_match_capture,
}


def string_value(node: cst.CSTNode) -> Optional[str]:
    """The value of a plain (non-f, non-bytes) string literal, else None."""
    if isinstance(node, cst.SimpleString):
        prefix = node.prefix.lower()
        if "b" in prefix or "f" in prefix:
            return None
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


_VERSION_NAMES = frozenset({"openai.__version__", "openai.version", "openai.version.VERSION", "openai.VERSION"})
# Attributes whose presence tells the SDKs apart (not settings a program may add to the module itself).
_SDK_MARKERS = frozenset({
    "ChatCompletion", "Completion", "Embedding", "Image", "Audio", "Moderation", "File", "FineTune", "FineTuningJob",
    "Model", "Edit", "Engine", "error", "api_resources", "OpenAI", "AsyncOpenAI", "AzureOpenAI", "resources", "types",
    "chat", "completions", "embeddings", "__version__", "version", "VERSION",
})
_VERSION_PREFIXES = tuple(f"{name}." for name in _VERSION_NAMES)  # openai.__version__.startswith(...)


def _is_hasattr_probe(analysis: "ModuleAnalysis", node: cst.CSTNode) -> bool:
    """``hasattr(openai, "OpenAI")`` / ``hasattr(openai, "ChatCompletion")``."""
    arg = analysis.parents.get(node)
    call = analysis.parents.get(arg) if isinstance(arg, cst.Arg) else None
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "hasattr" \
        and len(call.args) == 2 and call.args[0] is arg and string_value(call.args[1].value) in _SDK_MARKERS


def _is_distribution_probe(call: cst.Call) -> bool:
    """``version("openai")``, ``importlib.metadata.version("openai")``, ``pkg_resources.get_distribution("openai")``."""
    func = call.func
    name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
    return name in ("version", "get_distribution", "require") and len(call.args) == 1 \
        and string_value(call.args[0].value) == "openai"
