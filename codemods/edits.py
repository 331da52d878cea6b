"""Collecting rewrites against the original tree and applying them in one targeted pass.

Rules never transform the tree themselves. They record edits keyed by nodes of the original
tree (node replacements, statement removals and insertions, TODO comments); ``apply`` then
runs one transformer that descends only into the nodes on a path to an edit, so untouched
code is never rebuilt and keeps every byte.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Set, Union

import libcst as cst

from .analysis import ModuleAnalysis

Block = Union[cst.Module, cst.IndentedBlock]
Line = Union[cst.SimpleStatementLine, cst.SimpleStatementSuite]
Replacer = Callable[[cst.CSTNode], cst.CSTNode]

TODO_PREFIX = "# TODO(openai-migrate): "


class Edits:
    def __init__(self, analysis: ModuleAnalysis) -> None:
        self.analysis = analysis
        self.replacers: Dict[cst.CSTNode, List[Replacer]] = defaultdict(list)
        self.removed_small: Dict[Line, Set[int]] = defaultdict(set)
        self.insert_before: Dict[Block, Dict[int, List[cst.BaseStatement]]] = defaultdict(lambda: defaultdict(list))
        self.insert_after: Dict[Block, Dict[int, List[cst.BaseStatement]]] = defaultdict(lambda: defaultdict(list))
        self.todo_lines: Dict[cst.CSTNode, List[str]] = defaultdict(list)

    # -------------------------------------------------------------- recording
    def replace(self, node: cst.CSTNode, replacer: Replacer) -> None:
        """Replace ``node``; ``replacer`` receives the node with its children already edited."""
        self.replacers[node].append(replacer)

    def replace_with(self, node: cst.CSTNode, new: cst.CSTNode) -> None:
        self.replace(node, lambda _updated: new)

    def remove_statement(self, small: cst.BaseSmallStatement) -> None:
        line = self.analysis.parents[small]
        assert isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite))
        self.removed_small[line].add(_index(line.body, small))

    def is_removed(self, small: cst.BaseSmallStatement) -> bool:
        line = self.analysis.parents.get(small)
        return line in self.removed_small and _index(line.body, small) in self.removed_small[line]

    def insert_statements(self, anchor: cst.BaseStatement, statements: Sequence[cst.BaseStatement], *, after: bool,
                          first: bool = False) -> None:
        """Insert next to ``anchor``; ``first`` puts them ahead of earlier insertions at the same place."""
        block = self.analysis.parents[anchor]
        assert isinstance(block, (cst.Module, cst.IndentedBlock)), block
        table = self.insert_after if after else self.insert_before
        pending = table[block][_index(block.body, anchor)]
        if first:
            pending[:0] = statements
        else:
            pending.extend(statements)

    def add_todo(self, node: cst.CSTNode, message: str) -> cst.CSTNode:
        """Attach ``# TODO(openai-migrate): message`` above the statement holding ``node``."""
        statement = self.statement_in_block(node)
        text = TODO_PREFIX + message
        if text not in self.todo_lines[statement]:
            self.todo_lines[statement].append(text)
        return statement

    def statement_in_block(self, node: cst.CSTNode) -> cst.CSTNode:
        """The line that can carry a comment above ``node``: its statement, or its ``except`` clause."""
        current = node
        while True:
            if isinstance(current, (cst.ExceptHandler, cst.ExceptStarHandler)):
                return current
            parent = self.analysis.parents.get(current)
            if parent is None or isinstance(parent, (cst.Module, cst.IndentedBlock)):
                return current
            if isinstance(parent, (cst.ExceptHandler, cst.ExceptStarHandler)) and current is parent.body:
                return parent.body.body[0] if parent.body.body else current  # inside the handler's block
            current = parent

    @property
    def fully_removed(self) -> Set[cst.CSTNode]:
        """Statement lines all of whose small statements are removed."""
        return {line for line, indexes in self.removed_small.items()
                if isinstance(line, cst.SimpleStatementLine) and len(indexes) == len(line.body)}

    @property
    def empty(self) -> bool:
        return not (self.replacers or self.removed_small or self.insert_before or self.insert_after or self.todo_lines)

    # -------------------------------------------------------------- applying
    def apply(self, module: cst.Module) -> cst.Module:
        targets: Set[cst.CSTNode] = set()
        for group in (self.replacers, self.removed_small, self.insert_before, self.insert_after, self.todo_lines):
            targets.update(group)
        touched: Set[cst.CSTNode] = set(targets)
        for node in targets:
            touched.update(self.analysis.ancestors(node))
        touched.add(module)
        result = module.visit(_Applier(self, touched))
        assert isinstance(result, cst.Module)
        return result


def _index(seq: Sequence[cst.CSTNode], item: cst.CSTNode) -> int:
    for i, candidate in enumerate(seq):
        if candidate is item:
            return i
    raise ValueError("node not found in its parent")


class _Applier(cst.CSTTransformer):
    def __init__(self, edits: Edits, touched: Set[cst.CSTNode]) -> None:
        super().__init__()
        self.edits = edits
        self.touched = touched

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node in self.touched

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):  # type: ignore[override]
        edits = self.edits
        if original in edits.removed_small:
            updated = _drop_small(updated, edits.removed_small[original])  # type: ignore[arg-type]
            if updated is None:  # the whole line goes; its block drops it and keeps its comments
                return original
        for replacer in edits.replacers.get(original, ()):
            updated = replacer(updated)
        if original in edits.todo_lines:
            updated = _with_comments(updated, edits.todo_lines[original])
        if isinstance(original, (cst.Module, cst.IndentedBlock)):
            updated = _rebuild_block(
                original,
                updated,  # type: ignore[arg-type]
                edits.fully_removed,
                edits.insert_before.get(original, {}),
                edits.insert_after.get(original, {}),
            )
        return updated


def _drop_small(line: Line, indexes: Set[int]) -> Optional[Line]:
    kept = [stmt for i, stmt in enumerate(line.body) if i not in indexes]
    if kept:
        last = kept[-1]
        if isinstance(last, cst.BaseSmallStatement) and last.semicolon is not cst.MaybeSentinel.DEFAULT:
            kept[-1] = last.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return line.with_changes(body=kept)
    if isinstance(line, cst.SimpleStatementSuite):
        return line.with_changes(body=[cst.Pass()])
    return None


def _with_comments(node: cst.CSTNode, lines: List[str]) -> cst.CSTNode:
    leading = list(getattr(node, "leading_lines", ()))
    present = {line.comment.value for line in leading if line.comment is not None}
    new = [cst.EmptyLine(comment=cst.Comment(text)) for text in lines if text not in present]
    if not new:
        return node
    # TODO lines go right above the statement, after its own comments.
    return node.with_changes(leading_lines=[*leading, *new])


def _rebuild_block(
    original: Block,
    block: Block,
    fully_removed: Set[cst.CSTNode],
    before: Dict[int, List[cst.BaseStatement]],
    after: Dict[int, List[cst.BaseStatement]],
) -> Block:
    body: List[cst.BaseStatement] = []
    orphan_lines: List[cst.EmptyLine] = []  # comments of removed lines, kept for the next statement
    changed = False

    def push(stmt: cst.BaseStatement) -> None:
        nonlocal orphan_lines
        if orphan_lines:
            stmt = stmt.with_changes(leading_lines=[*orphan_lines, *stmt.leading_lines])
            orphan_lines = []
        body.append(stmt)

    assert len(original.body) == len(block.body)
    for i, stmt in enumerate(block.body):
        for new in before.get(i, ()):
            push(new)
            changed = True
        inserted = list(after.get(i, ()))
        if original.body[i] in fully_removed:
            assert isinstance(stmt, cst.SimpleStatementLine)
            orphan_lines.extend(stmt.leading_lines)
            comment = stmt.trailing_whitespace.comment
            if comment is not None and inserted and isinstance(inserted[0], cst.SimpleStatementLine):
                # the statement that replaces this line takes over its trailing comment
                inserted[0] = inserted[0].with_changes(trailing_whitespace=stmt.trailing_whitespace)
            elif comment is not None:
                orphan_lines.append(cst.EmptyLine(comment=comment))
            changed = True
        else:
            push(stmt)
        for new in inserted:
            push(new)
            changed = True
    if not changed:
        return block
    if isinstance(block, cst.IndentedBlock):
        if not body:
            push(cst.SimpleStatementLine(body=[cst.Pass()]))
        elif orphan_lines:
            block = block.with_changes(footer=[*orphan_lines, *block.footer])
        return block.with_changes(body=body)
    if orphan_lines:
        block = block.with_changes(footer=[*orphan_lines, *block.footer])
    return block.with_changes(body=body)
