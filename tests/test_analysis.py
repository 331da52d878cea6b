"""Name resolution through imports and scopes, without LibCST's metadata providers."""

from __future__ import annotations

import textwrap

import libcst as cst

from codemods.analysis import ModuleAnalysis


def refs(source: str):
    analysis = ModuleAnalysis(cst.parse_module(textwrap.dedent(source)))
    return sorted(ref.qualname for ref in analysis.openai_refs)


def test_import_forms() -> None:
    assert refs("""
        import openai as oa
        from openai import ChatCompletion as CC
        from openai.error import RateLimitError
        from openai import error
        oa.Completion.create
        CC.create
        RateLimitError
        error.Timeout
    """) == ["openai.ChatCompletion.create", "openai.Completion.create", "openai.error.RateLimitError",
             "openai.error.Timeout"]


def test_dotted_import_binds_the_package() -> None:
    assert refs("import openai.error\nopenai.error.APIError\n") == ["openai.error.APIError"]


def test_parameter_named_openai_shadows_the_module() -> None:
    assert refs("""
        import openai
        def f(openai):
            return openai.ChatCompletion.create()
        openai.api_key
    """) == ["openai.api_key"]


def test_local_assignment_shadows_in_the_whole_function() -> None:
    assert refs("""
        import openai
        def f():
            openai.Completion.create()  # refers to the local below, as Python scoping says
            openai = object()
    """) == []


def test_global_declaration_reaches_the_module_binding() -> None:
    assert refs("""
        def setup():
            global openai
            import openai
        def call():
            return openai.ChatCompletion.create()
    """) == ["openai.ChatCompletion.create"]


def test_class_scope_is_invisible_to_methods() -> None:
    assert refs("""
        import openai
        class Bot:
            openai = None
            def ask(self):
                return openai.ChatCompletion.create()
    """) == ["openai.ChatCompletion.create"]


def test_optional_import_with_none_fallback() -> None:
    assert refs("""
        try:
            import openai
        except ImportError:
            openai = None
        openai.Embedding.create
    """) == ["openai.Embedding.create"]


def test_rebinding_to_something_else_is_not_the_module() -> None:
    assert refs("""
        import openai
        from openai import OpenAI
        openai = OpenAI()
        openai.chat.completions.create
    """) == ["openai.OpenAI"]


def test_comprehension_and_lambda_scopes() -> None:
    assert refs("""
        import openai
        xs = [openai.Embedding.create(input=t) for t in range(3)]
        f = lambda openai: openai.Completion.create()
    """) == ["openai.Embedding.create"]


def test_module_named_like_openai_elsewhere_is_ignored() -> None:
    assert refs("""
        from langchain.llms import OpenAI
        import my.openai as openai
        openai.ChatCompletion.create
    """) == []
