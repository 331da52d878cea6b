"""Import bookkeeping after the rules ran: drop openai imports nothing uses, add the new names.

An import alias is dropped when every reference to it was rewritten away (``ctx.consumed``).
``import openai.error`` (gone in 1.x) becomes ``import openai`` when the module is still
needed. Imports inside functions stay where they are. New names (``OpenAI``,
``BadRequestError``...) join an existing ``from openai import ...`` or get one line at the
place of the first openai import.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set

import libcst as cst

from .analysis import _dotted
from .context import MigrationContext

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
    module_scope = analysis.module_scope
    statements = _openai_import_statements(ctx)
    removals: Dict[cst.CSTNode, Set[int]] = {}
    renames: Dict[cst.CSTNode, Dict[int, str]] = {}
    module_binds_openai = False  # after the edits, `openai` is the package at module level
    surviving_from: Optional[cst.ImportFrom] = None  # a module-level `from openai import ...` that stays
    for statement in statements:
        scope = analysis.scope_of(statement)
        for index, alias in enumerate(statement.names):  # type: ignore[attr-defined]
            local = _local_name(alias)
            used = _is_used(ctx, local, scope)
            if isinstance(statement, cst.Import):
                dotted = _dotted(alias.name)
                if dotted not in ("openai", "openai.error"):
                    continue  # other submodules (openai.lib...) are none of our business
                binds_package = local == "openai" and alias.asname is None
                if not used:
                    removals.setdefault(statement, set()).add(index)
                elif dotted == "openai.error" and alias.asname is None:  # gone in 1.x
                    if scope is module_scope and module_binds_openai:
                        removals.setdefault(statement, set()).add(index)  # `import openai` is there already
                    else:
                        renames.setdefault(statement, {})[index] = "openai"
                if used and binds_package and scope is module_scope:
                    module_binds_openai = True
            elif not used:
                removals.setdefault(statement, set()).add(index)
            elif scope is module_scope and statement.module is not None and _dotted(statement.module) == "openai":
                surviving_from = surviving_from or statement
    new_names = sorted({name for name, _ in ctx.needed_imports} - _already_imported(ctx, removals))
    need_module = ctx.needs_openai_module and not module_binds_openai
    if surviving_from is not None and new_names:
        ctx.edits.replace(surviving_from, _edit_aliases(removals.pop(surviving_from, set()),
                                                        renames.pop(surviving_from, {}), new_names))
        new_names = []
    first_module_statement = next((s for s in statements if analysis.scope_of(s) is module_scope), None)
    fresh: List[cst.BaseSmallStatement] = []
    if need_module:
        fresh.append(cst.Import(names=[cst.ImportAlias(cst.Name("openai"))]))
    if new_names:
        fresh.append(_from_openai(new_names))
    for statement in statements:
        indexes = removals.get(statement, set())
        names = renames.get(statement, {})
        if not indexes and not names:
            continue
        whole = len(indexes) == len(statement.names)  # type: ignore[attr-defined]
        if whole and statement is first_module_statement and fresh:
            ctx.edits.replace_with(statement, fresh.pop(0))  # keeps the line's comments and place
            if fresh:
                _insert_after(ctx, statement, [cst.SimpleStatementLine([fresh.pop(0)])])
        elif whole:
            ctx.edits.remove_statement(statement)  # type: ignore[arg-type]
        else:
            ctx.edits.replace(statement, _edit_aliases(indexes, names, []))
    if fresh:
        anchor = first_module_statement
        lines = [cst.SimpleStatementLine([small]) for small in fresh]
        if anchor is not None:
            _insert_after(ctx, anchor, lines)
        else:
            _insert_after(ctx, None, lines)


def _openai_import_statements(ctx: MigrationContext) -> List[cst.CSTNode]:
    """Every import statement, in any scope, that binds something from the openai package, in file order."""
    found: List[cst.CSTNode] = []
    for scope in {id(s): s for s in ctx.analysis.scope_of_node.values()}.values():
        for bindings in scope.bindings.values():
            for binding in bindings:
                if binding.kind == "import" and (binding.target or "").split(".")[0] == "openai":
                    if binding.node not in found:
                        found.append(binding.node)
    # module-level statements in file order first (the first one is where new imports go)
    lines = {line: i for i, line in enumerate(ctx.module.body)}
    return sorted(found, key=lambda node: lines.get(ctx.analysis.parents.get(node), len(lines)))


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


def _from_openai(names: List[str]) -> cst.ImportFrom:
    return cst.ImportFrom(module=cst.Name("openai"), names=[cst.ImportAlias(cst.Name(n)) for n in names])


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
