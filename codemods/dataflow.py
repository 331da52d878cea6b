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
    maybe_none: bool = False  # read with .get(): None when the field was absent


class ResponseFlow:
    def __init__(self, analysis: ModuleAnalysis, api_calls: Dict[cst.CSTNode, MethodMap]) -> None:
        self.analysis = analysis
        self.api_calls = api_calls
        self._memo: Dict[cst.CSTNode, Optional[Tracked]] = {}
        self._returns: Dict[cst.CSTNode, List[cst.Return]] = {}
        for ret, scope in analysis.returns:
            self._returns.setdefault(scope.function_scope.node, []).append(ret)
        self._yields: Dict[cst.CSTNode, List[cst.Yield]] = {}
        for node, scope in analysis.yields:
            self._yields.setdefault(scope.function_scope.node, []).append(node)

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
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            element = self.track(node.elt)
            return Tracked(LIST) if element is not None and element.whole else None
        if isinstance(node, cst.Attribute):
            slot = self._instance_slot(node)
            if slot is not None:
                return slot
            base = self.track(node.value)
            if base is None or base.shape in (LEAF, STREAM):
                return None
            return _field(node.attr.value)
        if isinstance(node, cst.Call):
            return self._call(node)
        return None

    def _api_result(self, call: cst.Call, method: MethodMap) -> Optional[Tracked]:
        if method.result_attr is not None:
            return None  # File.download: bytes in 0.28, and .content of the 1.x result
        if method.resource[0] == "audio":
            response_format = keyword_arg(call, "response_format")
            if response_format is not None and string_value(response_format.value) not in ("json", "verbose_json"):
                return None  # text/srt/vtt (or unknown): a plain str in both SDKs
        if method.method == "list" and self._called_as(call) == "auto_paging_iter":
            return Tracked(LIST)  # Class.auto_paging_iter(): iterating yields the items
        stream = keyword_arg(call, "stream")
        key = (*method.resource, method.method)
        if stream is None and key in STREAMING_METHODS and any(arg.star == "**" for arg in call.args):
            return Tracked(OBJECT, whole=True, maybe_stream=True)  # stream= may be in the ** arguments
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
            elif binding.kind == "unpack_assign" and binding.value is not None:
                tracked = self._unpacked_assign(binding.value, binding.index)
            elif binding.kind == "param" and len(bindings) == 1:
                tracked = self._parameter(binding.node)  # type: ignore[arg-type]
            elif binding.kind == "unpack_rest" and binding.value is not None:
                whole = self.track(binding.value)
                tracked = whole if whole is not None and whole.shape == LIST else None
            elif binding.kind in ("def", "class", "annotation"):
                continue
            else:
                return None
            if tracked is None:
                return None
            results.append(tracked)
        if not results:
            return None
        if all(r.shape in (OBJECT, STREAM) and r.whole for r in results) and \
                len({r.shape for r in results}) > 1:
            return Tracked(OBJECT, whole=True, maybe_stream=True)
        return _merge(results)

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
        key = self.analysis.string_constant(index.value)
        if key is not None:
            return _field(key) if base.shape != LIST else None
        if base.shape == LIST:
            return Tracked(OBJECT)
        return None

    def _call(self, call: cst.Call) -> Optional[Tracked]:
        func = call.func
        if _is_gather(func):
            return self._gathered(call)
        if isinstance(func, cst.Attribute):
            method = self._own_method(func)
            if method is not None:
                return self._function_result(method)
            if func.attr.value == "auto_paging_iter" and not call.args:
                base = self.track(func.value)
                return Tracked(LIST) if base is not None and base.whole else None
            if func.attr.value == "get" and call.args:
                if len(call.args) > 1 and (is_container_literal(call.args[1].value)
                                           or self.analysis.string_constant(call.args[0].value) not in FIELD_SHAPES):
                    return None  # read from the dict view (``.model_dump().get(k, {})``): not followed
                base = self.track(func.value)
                key = self.analysis.string_constant(call.args[0].value)
                if base is not None and base.shape in (OBJECT, UNKNOWN) and key is not None:
                    return _field(key, maybe_none=True)
            return None
        if isinstance(func, cst.Name):
            builtin = self._builtin(func.value, call)
            if builtin is not None:
                return builtin
            found = self.analysis.bindings_of(func)
            if found is None:
                return None
            _, bindings = found
            if len(bindings) != 1 or bindings[0].kind != "def":
                return None
            return self._function_result(bindings[0].node)
        return None

    def _local_function(self, value: cst.CSTNode) -> Optional[cst.FunctionDef]:
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)):
            return None
        found = self.analysis.bindings_of(value.func)
        if found is None or len(found[1]) != 1 or found[1][0].kind != "def":
            return None
        node = found[1][0].node
        return node if isinstance(node, cst.FunctionDef) else None

    def _builtin(self, name: str, call: cst.Call) -> Optional[Tracked]:
        """max/min/next(iter(...)) of a tracked list is an item; sorted/list/reversed of it is a list."""
        if self.analysis.bindings_of(cast_name(call.func)) is not None:
            return None  # shadowed by the module
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if not positional:
            return None
        first = self.track(positional[0].value)
        if name in ("max", "min") and len(positional) == 1 and first is not None and first.shape == LIST:
            return Tracked(OBJECT)
        if name in ("sorted", "list", "reversed", "tuple") and len(positional) == 1 and first is not None \
                and first.shape == LIST:
            return Tracked(LIST)
        if name == "iter" and first is not None and first.shape == LIST:
            return Tracked(LIST)
        if name == "next" and first is not None and first.shape == LIST:
            return Tracked(OBJECT)
        return None

    # -------------------------------------------------------------- classes and functions
    def _class_of_self(self, name: cst.CSTNode) -> Optional[cst.ClassDef]:
        """The module class ``name`` is an instance of: ``self`` in a method, or ``x = SomeClass(...)``."""
        if not isinstance(name, cst.Name):
            return None
        found = self.analysis.bindings_of(name)
        if found is None:
            return None
        if all(b.kind == "assign" and isinstance(b.value, cst.Call) for b in found[1]):
            classes = {self._constructed_class(b.value) for b in found[1]}  # type: ignore[arg-type]
            if len(classes) == 1:
                return classes.pop()
            return None
        if len(found[1]) != 1 or found[1][0].kind != "param":
            return None
        param = found[1][0].node
        parameters = self.analysis.parents.get(param)
        function = self.analysis.parents.get(parameters)
        if not (isinstance(parameters, cst.Parameters) and isinstance(function, cst.FunctionDef)):
            return None
        if not parameters.params or parameters.params[0] is not param:
            return None
        block = self.analysis.parents.get(function)
        owner = self.analysis.parents.get(block)
        return owner if isinstance(owner, cst.ClassDef) else None

    def _constructed_class(self, call: cst.Call) -> Optional[cst.ClassDef]:
        if not isinstance(call.func, cst.Name):
            return None
        found = self.analysis.bindings_of(call.func)
        if found is None or len(found[1]) != 1 or found[1][0].kind != "class":
            return None
        node = found[1][0].node
        return node if isinstance(node, cst.ClassDef) else None

    def _instance_slot(self, node: cst.Attribute) -> Optional[Tracked]:
        """``self.last_response`` when every ``self.last_response = ...`` in the class stores a response."""
        owner = self._class_of_self(node.value)
        if owner is None:
            return None
        attr = node.attr.value
        results = []
        for target, value in self.analysis.attribute_sets:
            if target.attr.value != attr or self._class_of_self(target.value) is not owner:
                continue
            if _is_none(value):
                continue
            tracked = self.track(value) if value is not None else None
            if tracked is None:
                return None
            results.append(tracked)
        return _merge(results)

    def _own_method(self, func: cst.Attribute) -> Optional[cst.FunctionDef]:
        owner = self._class_of_self(func.value)
        if owner is None:
            return None
        for statement in owner.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == func.attr.value:
                return statement
        return None

    def _parameter(self, param: cst.Param) -> Optional[Tracked]:
        """A parameter of a module function that every call site in the module passes a response."""
        parameters = self.analysis.parents.get(param)
        function = self.analysis.parents.get(parameters)
        if isinstance(function, cst.Lambda):
            return self._lambda_parameter(function, param)
        if not (isinstance(parameters, cst.Parameters) and isinstance(function, cst.FunctionDef)):
            return None
        if param not in parameters.params:
            return None
        position = list(parameters.params).index(param)
        owner = self.analysis.parents.get(self.analysis.parents.get(function))
        if isinstance(owner, cst.ClassDef):  # a method: called as self.m(...) / obj.m(...)
            if position == 0:
                return None
            position -= 1
            calls = self._method_call_sites(owner, function)
        else:
            calls = self._call_sites(function)
        if not calls:
            return None
        results = []
        for call in calls:
            value = _argument(call, position, param.name.value)
            if value is None:
                if param.default is None or _is_none(param.default):
                    return None
                value = param.default
            tracked = self.track(value)
            if tracked is None:
                return None
            results.append(tracked)
        return _merge(results)

    def _lambda_parameter(self, function: cst.Lambda, param: cst.Param) -> Optional[Tracked]:
        """``max(choices, key=lambda c: ...)``: the lambda sees the items of the tracked list."""
        params = function.params.params
        arg = self.analysis.parents.get(function)
        call = self.analysis.parents.get(arg)
        if len(params) != 1 or params[0] is not param or not isinstance(arg, cst.Arg) or not isinstance(call, cst.Call):
            return None
        name = call.func.value if isinstance(call.func, cst.Name) else None
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if name in ("max", "min", "sorted") and arg.keyword is not None and arg.keyword.value == "key" and positional:
            return self.iterated(positional[0].value)
        if name in ("map", "filter") and len(positional) == 2 and positional[0] is arg:
            return self.iterated(positional[1].value)
        return None

    def _call_sites(self, function: cst.FunctionDef) -> Optional[List[cst.Call]]:
        """Every call of ``function`` in the module, or None if it escapes (passed around, decorated)."""
        if function.decorators:
            return None
        calls = []
        for use in self.analysis.names_by_value.get(function.name.value, ()):
            found = self.analysis.bindings_of(use)
            if found is None or not any(b.node is function for b in found[1]):
                continue
            parent = self.analysis.parents.get(use)
            if isinstance(parent, cst.Call) and parent.func is use:
                calls.append(parent)
            else:
                return None
        return calls

    def _method_call_sites(self, owner: cst.ClassDef, method: cst.FunctionDef) -> Optional[List[cst.Call]]:
        if method.decorators:
            return None
        calls = []
        for call in self.analysis.calls:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value == method.name.value:
                if self._class_of_self(func.value) is not owner:
                    return None  # the same method name on something else: cannot tell
                calls.append(call)
        return calls

    def _gathered(self, call: cst.Call) -> Optional[Tracked]:
        """``asyncio.gather(*coroutines)`` of API calls: a list of responses."""
        if not call.args:
            return None
        for arg in call.args:
            if arg.keyword is not None:
                continue
            tracked = self.track(arg.value)
            if arg.star == "*":
                if tracked is None or tracked.shape != LIST:
                    return None
            elif tracked is None or tracked.shape != OBJECT:
                return None
        return Tracked(LIST)

    def _unpacked_assign(self, value: cst.CSTNode, path: Tuple[int, ...]) -> Optional[Tracked]:
        """``a, b = <value>``: a tuple literal's elements, or the items of a tracked list."""
        if not path:
            return self.track(value)
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, (cst.Tuple, cst.List)):
            elements = value.elements
            if path[0] < len(elements) and not isinstance(elements[path[0]], cst.StarredElement):
                return self._unpacked_assign(elements[path[0]].value, path[1:])
            return None
        function = self._local_function(value)
        if function is not None:  # ``a, b = helper()`` where helper returns ``x, y``
            returns = self._returns.get(function, [])
            results = []
            for ret in returns:
                if ret.value is None:
                    return None
                tracked = self._unpacked_assign(ret.value, path)
                if tracked is None:
                    return None
                results.append(tracked)
            return _merge(results)
        tracked = self.track(value)
        if tracked is not None and tracked.shape == LIST and len(path) == 1:
            return Tracked(OBJECT, whole=True)
        return None

    def _function_result(self, function: cst.CSTNode) -> Optional[Tracked]:
        assert isinstance(function, cst.FunctionDef)
        returns = self._returns.get(function, [])
        yields = self._yields.get(function, [])
        if yields:  # a generator: iterating its result gives what it yields
            if any(r.value is not None for r in returns):
                return None
            items = []
            for node in yields:
                if node.value is None or isinstance(node.value, cst.From):
                    return None
                tracked = self.track(node.value)
                if tracked is None or tracked.shape != OBJECT:
                    return None
                items.append(tracked)
            return Tracked(LIST)
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


def cast_name(node: cst.CSTNode) -> cst.Name:
    assert isinstance(node, cst.Name)
    return node


def _merge(results: List[Tracked]) -> Optional[Tracked]:
    """One description for values of the same shape (whole only if all are; maybe None if any is)."""
    if not results:
        return None
    first = results[0]
    if all(r == first for r in results):
        return first
    if any(r.shape != first.shape for r in results):
        return None
    return Tracked(first.shape, whole=all(r.whole for r in results),
                   maybe_stream=any(r.maybe_stream for r in results),
                   maybe_none=any(r.maybe_none for r in results))


def _argument(call: cst.Call, position: int, name: str) -> Optional[cst.BaseExpression]:
    positional = [arg for arg in call.args if arg.keyword is None]
    if any(arg.star for arg in call.args):
        return None
    if position < len(positional):
        return positional[position].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _is_gather(func: cst.CSTNode) -> bool:
    if isinstance(func, cst.Attribute):
        return func.attr.value == "gather" and isinstance(func.value, cst.Name) and func.value.value == "asyncio"
    return isinstance(func, cst.Name) and func.value == "gather"


def _is_none(node: Optional[cst.CSTNode]) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def is_container_literal(node: cst.CSTNode) -> bool:
    if isinstance(node, (cst.Dict, cst.List, cst.Tuple)) and not node.elements:
        return True
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("dict", "list") \
        and not node.args


def _field(key: str, maybe_none: bool = False) -> Tracked:
    return Tracked(FIELD_SHAPES.get(key, UNKNOWN), maybe_none=maybe_none)
