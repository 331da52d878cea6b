"""The state one module's migration shares between rules: analysis, edits, strategy, TODOs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from .analysis import ModuleAnalysis, OpenAIRef
from .edits import Edits
from .strategy import ClientStrategy


@dataclass(frozen=True)
class Todo:
    rule: str
    message: str


@dataclass
class Options:
    """User-facing switches that change how rules rewrite."""

    global_client: bool = False  # --global: keep the module-level client
    # other files of this run set openai.* settings that this file's calls rely on: keep the
    # settings global (module attributes) and call through the module client
    shared_configuration: bool = False
    # names of the rules to run (None: all); a rule's prerequisites always run with it
    rules: Optional[FrozenSet[str]] = None


@dataclass
class MigrationContext:
    module: cst.Module
    analysis: ModuleAnalysis
    edits: Edits
    options: Options
    strategy: Optional[ClientStrategy] = None
    todos: List[Todo] = field(default_factory=list)
    # openai references that the migration rewrites away (their import may become unused)
    consumed: Set[cst.Name] = field(default_factory=set)
    # names to import from openai: ("OpenAI", None) or ("BadRequestError", None)
    needed_imports: Set[Tuple[str, str]] = field(default_factory=set)
    # migrated API calls (original nodes) and the method they call
    migrated_calls: dict = field(default_factory=dict)
    # whether a module-level `import openai` must exist: new code spells openai.<name> where only
    # names from ``from openai import ...`` were bound
    needs_openai_module: bool = False
    # openai.util.convert_to_dict(r) calls, left for the response rule (it can see whether r is a response)
    util_calls: dict = field(default_factory=dict)
    # standard-library modules the new code uses (``import os``)
    needed_modules: Set[str] = field(default_factory=set)

    def todo(self, node: cst.CSTNode, rule: str, message: str) -> None:
        self.edits.add_todo(node, message)
        item = Todo(rule, message)
        if item not in self.todos:
            self.todos.append(item)

    def consume(self, ref: OpenAIRef) -> None:
        self.consumed.add(ref.root)

    def module_spelling(self, ref: OpenAIRef) -> str:
        """The name to spell ``openai.<x>`` with where ``ref`` stands.

        If ``ref`` starts from the openai module itself (``openai``, ``oa``...), the same name is
        reused and its import stays; otherwise (``from openai import ChatCompletion``) the ref is
        consumed and a module-level ``import openai`` is requested.
        """
        found = self.analysis.bindings_of(ref.root)
        if found and all(b.target == "openai" for b in found[1] if b.kind == "import"):
            return ref.root.value
        self.consume(ref)
        self.needs_openai_module = True
        return "openai"

    def refs(self, prefix: str = "openai") -> List[OpenAIRef]:
        return [ref for ref in self.analysis.openai_refs if ref.qualname == prefix or ref.qualname.startswith(prefix + ".")]

    def free_name(self, preferred: str, fallback: str) -> str:
        """``preferred`` unless the module already uses that name anywhere."""
        if preferred not in self.analysis.names_by_value and not self._bound_anywhere(preferred):
            return preferred
        candidate = fallback
        counter = 2
        while candidate in self.analysis.names_by_value or self._bound_anywhere(candidate):
            candidate = f"{fallback}{counter}"
            counter += 1
        return candidate

    def _bound_anywhere(self, name: str) -> bool:
        return any(name in scope.bindings for scope in self.analysis.scope_of_node.values())
