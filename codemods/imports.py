"""Import bookkeeping after the rules ran: drop openai imports nothing uses, add the new names.

An import alias is dropped when every reference to it was rewritten away (``ctx.consumed``)
and no new code spells it (``ctx.kept_names``). ``import openai.error`` (gone in 1.x)
becomes ``import openai`` when the module is still needed. New names (``OpenAI``,
``BadRequestError``...) join an existing ``from openai import ...`` or get one line at the
place of the first openai import.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set

import libcst as cst

from .analysis import _dotted
from .context import MigrationContext

_EQ = dict(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def fix_imports(ctx: MigrationContext) -> None:
    _fix_openai_imports(ctx)
    _add_modules(ctx)


def _add_modules(ctx: MigrationContext) -> None:
    """``import os`` / ``import pathlib`` for new code, unless the module already binds the name."""
    scope = ctx.analysis.module_scope
    missing = sorted(name for name in ctx.needed_modules
                     if not any(b.kind == "import" and b.target == name for b in scope.bindings.get(name, ())))
    if not missing:
        return
    lines = [cst.SimpleStatementLine([cst.Import(names=[cst.ImportAlias(cst.Name(name))])]) for name in missing]
    first_import = next((s for s in ctx.module.body if isinstance(s, cst.SimpleStatementLine)
                         and any(isinstance(x, (cst.Import, cst.ImportFrom)) and not _is_future(x) for x in s.body)),
                        None)
    if first_import is not None:  # standard library first, as isort would have it
        ctx.edits.insert_statements(first_import, lines, after=False, first=True)
        return
    anchor = _top_anchor(ctx)
    if anchor is None:
        ctx.edits.insert_statements(ctx.module.body[0], lines, after=False)
    else:
        ctx.edits.insert_statements(anchor, lines, after=True, first=True)


def _is_future(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.ImportFrom) and isinstance(node.module, cst.Name) and node.module.value == "__future__"


def _fix_openai_imports(ctx: MigrationContext) -> None:
    analysis = ctx.analysis
    statements: List[cst.CSTNode] = []
    for scope in {id(s): s for s in analysis.scope_of_node.values()}.values():
        for bindings in scope.bindings.values():
            for binding in bindings:
                if binding.kind == "import" and (binding.target or "").split(".")[0] == "openai":
                    if binding.node not in statements:
                        statements.append(binding.node)
    if not statements:
        if ctx.needs_openai_module or ctx.needed_imports:
            _add_fresh_imports(ctx, None, has_module=False)
        return

    module_level = [s for s in statements if analysis.scope_of(s) is analysis.module_scope]
    has_module = False  # `openai` itself stays bound at module level
    kept_from: Optional[cst.ImportFrom] = None
    removals: Dict[cst.CSTNode, Set[int]] = {}
    rewrites: Dict[cst.CSTNode, Dict[int, str]] = {}
    for statement in statements:
        scope = analysis.scope_of(statement)
        for index, alias in enumerate(statement.names):  # type: ignore[attr-defined]
            local = _local_name(alias)
            if isinstance(statement, cst.Import):
                dotted = _dotted(alias.name)
                if dotted != "openai" and dotted != "openai.error":
                    continue  # other submodules (openai.lib...) are none of our business
                used = _is_used(ctx, local, scope) or (local in ctx.kept_names) or (
                    ctx.needs_openai_module and local == "openai" and scope is analysis.module_scope)
                if not used:
                    removals.setdefault(statement, set()).add(index)
                elif dotted != "openai" and alias.asname is None:  # `import openai.error`: gone in 1.x
                    rewrites.setdefault(statement, {})[index] = "openai"
                    has_module = has_module or scope is analysis.module_scope
                elif dotted == "openai" and scope is analysis.module_scope:
                    has_module = has_module or local == "openai" or alias.asname is not None
            else:
                if not _is_used(ctx, local, scope) and local not in ctx.kept_names:
                    removals.setdefault(statement, set()).add(index)
                elif statement.module is not None and _dotted(statement.module) == "openai" and scope is analysis.module_scope:
                    kept_from = kept_from or statement
    # A from-import that survives with names left can take the new names.
    if kept_from is not None and len(removals.get(kept_from, ())) == len(kept_from.names):  # type: ignore[arg-type]
        kept_from = None

    new_names = sorted({name for name, _ in ctx.needed_imports} - _already_imported(ctx, removals))
    anchor = module_level[0] if module_level else statements[0]
    replaced_anchor = False
    for statement in statements:
        indexes = removals.get(statement, set())
        renames = rewrites.get(statement, {})
        if not indexes and not renames and not (statement is kept_from and new_names):
            continue
        extra = new_names if statement is kept_from else []
        whole = len(indexes) == len(statement.names)  # type: ignore[attr-defined]
        if whole and statement is anchor and kept_from is None and (new_names or (ctx.needs_openai_module and not has_module)):
            ctx.edits.replace_with(statement, _fresh_import(new_names, ctx.needs_openai_module and not has_module))
            replaced_anchor = True
            has_module = has_module or ctx.needs_openai_module
            continue
        if whole:
            ctx.edits.remove_statement(statement)  # type: ignore[arg-type]
            continue
        ctx.edits.replace(statement, _edit_aliases(indexes, renames, extra))
    if kept_from is not None or replaced_anchor:
        if ctx.needs_openai_module and not has_module and not replaced_anchor:
            _insert_after(ctx, anchor, [_import_line(["openai"], module=True)])
        return
    if new_names or (ctx.needs_openai_module and not has_module):
        _add_fresh_imports(ctx, anchor, has_module)


def _local_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _dotted(alias.name).split(".")[0]


def _is_used(ctx: MigrationContext, local: str, scope) -> bool:
    """Whether some reference to this import binding was not rewritten away."""
    analysis = ctx.analysis
    for name in analysis.names_by_value.get(local, ()):
        if name in ctx.consumed:
            continue
        found = analysis.bindings_of(name)
        if found is None or found[0] is not scope:
            continue
        parent = analysis.parents.get(name)
        if isinstance(parent, (cst.ImportAlias, cst.AsName)):
            continue
        if _inside_removed_statement(ctx, name):
            continue
        return True
    return False


def _inside_removed_statement(ctx: MigrationContext, name: cst.Name) -> bool:
    for ancestor in ctx.analysis.ancestors(name):
        if isinstance(ancestor, cst.BaseSmallStatement):
            return ctx.edits.is_removed(ancestor)
    return False


def _already_imported(ctx: MigrationContext, removals) -> Set[str]:
    names = set()
    for statement in ctx.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None and _dotted(small.module) == "openai" \
                    and not isinstance(small.names, cst.ImportStar):
                for index, alias in enumerate(small.names):
                    if index not in removals.get(small, ()) and alias.asname is None:
                        names.add(_dotted(alias.name))
    return names


def _edit_aliases(indexes: Set[int], renames: Dict[int, str], extra: List[str]):
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        aliases = []
        for index, alias in enumerate(updated.names):  # type: ignore[attr-defined]
            if index in indexes:
                continue
            if index in renames:
                alias = alias.with_changes(name=cst.Name(renames[index]))
            aliases.append(alias)
        for name in extra:
            aliases.append(cst.ImportAlias(cst.Name(name)))
        fixed = []
        for i, alias in enumerate(aliases):
            last = i == len(aliases) - 1
            if last:
                keep_trailing = isinstance(updated, cst.ImportFrom) and updated.lpar is not None and \
                    updated.names[-1].comma is not cst.MaybeSentinel.DEFAULT  # type: ignore[union-attr]
                fixed.append(alias if keep_trailing else alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
            elif alias.comma is cst.MaybeSentinel.DEFAULT:
                fixed.append(alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
            else:
                fixed.append(alias)
        return updated.with_changes(names=fixed)

    return rewrite


def _fresh_import(names: List[str], with_module: bool) -> cst.BaseSmallStatement:
    if names:
        return cst.ImportFrom(module=cst.Name("openai"), names=[cst.ImportAlias(cst.Name(n)) for n in names])
    return cst.Import(names=[cst.ImportAlias(cst.Name("openai"))])


def _import_line(names: List[str], module: bool = False) -> cst.SimpleStatementLine:
    if module:
        return cst.SimpleStatementLine([cst.Import(names=[cst.ImportAlias(cst.Name("openai"))])])
    return cst.SimpleStatementLine([_fresh_import(names, False)])


def _insert_after(ctx: MigrationContext, small: Optional[cst.CSTNode], lines: List[cst.BaseStatement]) -> None:
    if small is None:
        anchor = _top_anchor(ctx)
        if anchor is None:
            ctx.edits.insert_statements(ctx.module.body[0], lines, after=False)
        else:
            ctx.edits.insert_statements(anchor, lines, after=True)
        return
    line = ctx.analysis.parents[small]
    ctx.edits.insert_statements(line, lines, after=True, first=True)


def _add_fresh_imports(ctx: MigrationContext, anchor: Optional[cst.CSTNode], has_module: bool) -> None:
    names = sorted({name for name, _ in ctx.needed_imports})
    lines: List[cst.BaseStatement] = []
    if ctx.needs_openai_module and not has_module:
        lines.append(_import_line([], module=True))
    if names:
        lines.append(_import_line(names))
    if lines:
        _insert_after(ctx, anchor, lines)


def _top_anchor(ctx: MigrationContext) -> Optional[cst.CSTNode]:
    """The last of the leading docstring / ``from __future__`` / import statements."""
    anchor = None
    for statement in ctx.module.body:
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) or (isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))
            for s in statement.body
        ):
            anchor = statement
        else:
            break
    return anchor
