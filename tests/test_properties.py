"""Property tests: generated programs never crash the tool, unrelated code is never touched,
and 0.28 calls spliced into generated programs come out parseable and stable."""

from __future__ import annotations

import ast
import warnings

import hypothesmith
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods import Options
from migrator.engine import migrate_source

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

LEGACY_SNIPPETS = [
    'import openai\nopenai.api_key = "sk-x"\nr = openai.ChatCompletion.create(model="m", messages=[])\n'
    'print(r["choices"][0]["message"]["content"])\n',
    "import openai\ntry:\n    openai.Completion.create(model='m', prompt='p')\nexcept openai.error.RateLimitError:\n    pass\n",
    "from openai import Embedding\n\n\ndef f(x):\n    return Embedding.create(input=x, model='e')['data'][0]['embedding']\n",
    "import openai as oa\n\n\nasync def g():\n    async for c in await oa.ChatCompletion.acreate(model='m', messages=[], stream=True):\n"
    "        print(c['choices'][0]['delta'].get('content', ''))\n",
]


def _parses(data: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generated code is full of "int is not callable" warnings
        try:
            ast.parse(data)
            return True
        except (SyntaxError, ValueError):
            return False


@PROPERTY_SETTINGS
@given(source=hypothesmith.from_grammar())
def test_programs_without_openai_are_untouched(source: str) -> None:
    data = source.encode("utf-8")
    result = migrate_source(data)
    if b"openai" not in data:
        assert result.new is None and result.error is None and not result.parsed


@PROPERTY_SETTINGS
@given(source=hypothesmith.from_node(), mode=st.booleans())
def test_no_input_crashes_the_tool(source: str, mode: bool) -> None:
    # ``openai`` spliced in so that the file is parsed and analysed, not just pre-filtered
    data = ("import openai\n" + source).encode("utf-8")
    result = migrate_source(data, Options(global_client=mode))
    if result.new is not None:
        assert _parses(result.new)


@PROPERTY_SETTINGS
@given(source=hypothesmith.from_node(), snippet=st.sampled_from(LEGACY_SNIPPETS), before=st.booleans(),
       mode=st.booleans())
def test_legacy_calls_in_generated_programs_migrate_stably(source: str, snippet: str, before: bool,
                                                          mode: bool) -> None:
    program = snippet + "\n" + source if before else source + "\n" + snippet
    if not _parses(program.encode("utf-8")):
        return
    options = Options(global_client=mode)
    first = migrate_source(program.encode("utf-8"), options)
    assert first.error is None, first.error
    assert first.new is not None  # the snippet always has something to migrate
    assert _parses(first.new)
    second = migrate_source(first.new, options)
    assert second.error is None and second.new is None, "a second run changed the output"
