"""Which expressions hold values that came from a migrated API call.

A value is tracked only when it provably comes from the API: the call itself, ``await`` of
it, a name whose every binding in its scope is such a value (assignment, annotated
assignment, walrus, ``for`` over a stream or a list field), an element or field of such a
value, ``.get(...)`` of one, or a call to a function of the module whose every ``return``
returns one. Anything else is unknown and is never rewritten.

Each tracked value carries a *shape*, so rules know what 0.28 code could do with it:
``object`` (a response, a chunk, a message: dict-like in 0.28, a model in 1.x), ``list``
(``choices``, ``data``), ``leaf`` (a string or number), ``unknown`` (a field we do not
know), or ``stream`` (what ``create(stream=True)`` returns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import libcst as cst

from .analysis import ModuleAnalysis
from .api_table import STREAMING_METHODS, MethodMap
from .base import keyword_arg, string_value

OBJECT, LIST, LEAF, UNKNOWN, STREAM = "object", "list", "leaf", "unknown", "stream"

# Field shapes of 1.x response models, by field name (same names in every response type).
FIELD_SHAPES: Dict[str, str] = {
    "choices": LIST, "data": LIST, "results": LIST, "tool_calls": LIST,
    "message": OBJECT, "delta": OBJECT, "usage": OBJECT, "function_call": OBJECT, "function": OBJECT,
    "logprobs": OBJECT, "categories": OBJECT, "category_scores": OBJECT,
    "content": LEAF, "text": LEAF, "role": LEAF, "finish_reason": LEAF, "id": LEAF, "object": LEAF,
    "model": LEAF, "created": LEAF, "index": LEAF, "name": LEAF, "arguments": LEAF, "embedding": LEAF,
    "prompt_tokens": LEAF, "completion_tokens": LEAF, "total_tokens": LEAF, "flagged": LEAF,
    "url": LEAF, "b64_json": LEAF, "revised_prompt": LEAF, "system_fingerprint": LEAF,
}
# Methods of a 0.28 OpenAIObject whose result is a plain dict, not a response.
PLAIN_DICT_METHODS = ("to_dict", "to_dict_recursive", "keys", "values", "items", "copy")


@dataclass(frozen=True)
class Tracked:
    shape: str
    whole: bool = False  # the entire response (not a part of it)
    maybe_stream: bool = False  # stream= was passed a non-literal value


class ResponseFlow:
    def __init__(self, analysis: ModuleAnalysis, api_calls: Dict[cst.CSTNode, MethodMap]) -> None:
        self.analysis = analysis
        self.api_calls = api_calls
        self._memo: Dict[cst.CSTNode, Optional[Tracked]] = {}
        self._returns: Dict[cst.CSTNode, List[cst.Return]] = {}
        for ret, scope in analysis.returns:
            self._returns.setdefault(scope.function_scope.node, []).append(ret)

    def track(self, node: cst.CSTNode) -> Optional[Tracked]:
        if node in self._memo:
            return self._memo[node]
        self._memo[node] = None  # cycles resolve to unknown
        result = self._compute(node)
        self._memo[node] = result
        return result

    # ------------------------------------------------------------------------------
    def _compute(self, node: cst.CSTNode) -> Optional[Tracked]:
        if node in self.api_calls and isinstance(node, cst.Call):
            return self._api_result(node, self.api_calls[node])
        if isinstance(node, cst.Await):
            return self.track(node.expression)
        if isinstance(node, cst.Name):
            return self._name(node)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.Attribute):
            base = self.track(node.value)
            if base is None or base.shape in (LEAF, STREAM):
                return None
            return _field(node.attr.value)
        if isinstance(node, cst.Call):
            return self._call(node)
        return None

    def _api_result(self, call: cst.Call, method: MethodMap) -> Tracked:
        if method.method == "list" and self._called_as(call) == "auto_paging_iter":
            return Tracked(LIST)  # Class.auto_paging_iter(): iterating yields the items
        stream = keyword_arg(call, "stream")
        key = (*method.resource, method.method)
        if stream is not None and key in STREAMING_METHODS:
            value = stream.value
            if isinstance(value, cst.Name) and value.value == "True":
                return Tracked(STREAM, whole=True)
            if not (isinstance(value, cst.Name) and value.value == "False"):
                return Tracked(OBJECT, whole=True, maybe_stream=True)
        return Tracked(OBJECT, whole=True)

    def _called_as(self, call: cst.Call) -> Optional[str]:
        func = call.func
        return func.attr.value if isinstance(func, cst.Attribute) else None

    def _name(self, name: cst.Name) -> Optional[Tracked]:
        found = self.analysis.bindings_of(name)
        if found is None:
            return None
        _, bindings = found
        results: List[Tracked] = []
        for binding in bindings:
            if binding.kind == "assign" and _is_none(binding.value):
                continue  # ``response = None`` before a try: None was never read as a dict
            if binding.kind == "assign" and binding.value is not None:
                tracked = self.track(binding.value)
            elif binding.kind == "for" and binding.value is not None:
                tracked = self.iterated(binding.value)
            elif binding.kind == "unpack" and binding.value is not None:
                tracked = self._unpacked(binding.value, binding.index)
            elif binding.kind in ("def", "class", "annotation"):
                continue
            else:
                return None
            if tracked is None:
                return None
            results.append(tracked)
        if not results:
            return None
        first = results[0]
        if all(r == first for r in results):
            return first
        if all(r.shape in (OBJECT, STREAM) and r.whole for r in results):
            return Tracked(OBJECT, whole=True, maybe_stream=True)
        return None

    def iterated(self, iterable: cst.CSTNode) -> Optional[Tracked]:
        """What a ``for`` over ``iterable`` yields, if tracked."""
        tracked = self.track(iterable)
        if tracked is None:
            return None
        if tracked.shape == STREAM or tracked.maybe_stream:
            return Tracked(OBJECT, whole=True)  # chunks
        if tracked.shape == LIST:
            return Tracked(OBJECT)
        return None

    def _unpacked(self, iterable: cst.CSTNode, path: Tuple[int, ...]) -> Optional[Tracked]:
        """What sits at ``path`` in the tuples ``for a, (b, c) in <iterable>`` unpacks: zip() and enumerate()."""
        if not path:
            return self.iterated(iterable)
        if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name)):
            return None
        args = [arg for arg in iterable.args if arg.keyword is None and not arg.star]
        name, index = iterable.func.value, path[0]
        if name == "zip" and index < len(args):
            return self._unpacked(args[index].value, path[1:])
        if name == "enumerate" and index == 1 and args:
            return self._unpacked(args[0].value, path[1:])
        return None

    def _subscript(self, node: cst.Subscript) -> Optional[Tracked]:
        base = self.track(node.value)
        if base is None or base.shape in (LEAF, STREAM) or len(node.slice) != 1:
            return None
        index = node.slice[0].slice
        if not isinstance(index, cst.Index):
            return Tracked(LIST) if base.shape == LIST else None  # a slice of a list
        key = string_value(index.value)
        if key is not None:
            return _field(key) if base.shape != LIST else None
        if base.shape == LIST:
            return Tracked(OBJECT)
        return None

    def _call(self, call: cst.Call) -> Optional[Tracked]:
        func = call.func
        if isinstance(func, cst.Attribute):
            if func.attr.value == "auto_paging_iter" and not call.args:
                base = self.track(func.value)
                return Tracked(LIST) if base is not None and base.whole else None
            if func.attr.value == "get" and call.args:
                if len(call.args) > 1 and is_container_literal(call.args[1].value):
                    return None  # ``.get("usage", {})`` may be a plain dict: not followed
                base = self.track(func.value)
                key = string_value(call.args[0].value)
                if base is not None and base.shape in (OBJECT, UNKNOWN) and key is not None:
                    return _field(key)
            return None
        if isinstance(func, cst.Name):
            found = self.analysis.bindings_of(func)
            if found is None:
                return None
            _, bindings = found
            if len(bindings) != 1 or bindings[0].kind != "def":
                return None
            return self._function_result(bindings[0].node)
        return None

    def _function_result(self, function: cst.CSTNode) -> Optional[Tracked]:
        assert isinstance(function, cst.FunctionDef)
        returns = self._returns.get(function, [])
        if not returns:
            return None
        results = []
        for ret in returns:
            if ret.value is None:
                return None
            tracked = self.track(ret.value)
            if tracked is None:
                return None
            results.append(tracked)
        first = results[0]
        return first if all(r == first for r in results) else None


def _is_none(node: Optional[cst.CSTNode]) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def is_container_literal(node: cst.CSTNode) -> bool:
    if isinstance(node, (cst.Dict, cst.List, cst.Tuple)) and not node.elements:
        return True
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("dict", "list") \
        and not node.args


def _field(key: str) -> Tracked:
    return Tracked(FIELD_SHAPES.get(key, UNKNOWN))
