"""How a migrated call is spelled: on an instantiated client, or on the 1.x module client.

Rules never write ``client.`` themselves; they ask the strategy for the callee of a 1.x
method. The default strategy creates ``client = OpenAI(...)`` (and ``aclient =
AsyncOpenAI(...)`` for async calls); the module strategy keeps ``openai.<resource>`` for
code whose configuration must stay global (and, later, for ``--global`` mode).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .api_table import MethodMap


def dotted(*parts: str) -> cst.BaseExpression:
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


class ClientStrategy:
    """Base class: maps a 1.x method to the expression that calls it."""

    #: whether the sync / async client objects are needed by the calls spelled so far
    uses_sync = False
    uses_async = False

    def callee(self, method: MethodMap) -> cst.BaseExpression:
        raise NotImplementedError


class InstanceClientStrategy(ClientStrategy):
    """``client.chat.completions.create`` / ``aclient.chat.completions.create``."""

    def __init__(self, sync_name: str, async_name: str) -> None:
        self.sync_name = sync_name
        self.async_name = async_name
        self.uses_sync = False
        self.uses_async = False

    def callee(self, method: MethodMap) -> cst.BaseExpression:
        if method.is_async:
            self.uses_async = True
            owner = self.async_name
        else:
            self.uses_sync = True
            owner = self.sync_name
        return dotted(owner, *method.resource, method.method)


class ModuleClientStrategy(ClientStrategy):
    """``openai.chat.completions.create``: the 1.x module client, configured by module attributes.

    The module client is synchronous only: async methods go to an ``AsyncOpenAI`` built from the
    same module settings (``async_name``) where the settings are complete at import time.
    """

    def __init__(self, module_name: str, async_name: str, async_factory: bool) -> None:
        self.module_name = module_name
        # an AsyncOpenAI built from the module settings: a variable created once the settings are
        # complete, or (async_factory) a function that builds one when called
        self.async_name = async_name
        self.async_factory = async_factory
        self.uses_sync = False
        self.uses_async = False

    def callee(self, method: MethodMap) -> cst.BaseExpression:
        if method.is_async:
            self.uses_async = True
            owner: cst.BaseExpression = cst.Call(func=cst.Name(self.async_name)) if self.async_factory \
                else cst.Name(self.async_name)
            for part in (*method.resource, method.method):
                owner = cst.Attribute(value=owner, attr=cst.Name(part))
            return owner
        self.uses_sync = True
        return dotted(self.module_name, *method.resource, method.method)
