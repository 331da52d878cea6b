"""Tests of the e2e infrastructure itself: the fake OpenAI server and the harness.

Everything but the last test talks to the server with urllib (no SDK) and is
fast. ``test_basic_chat_runs_under_old_sdk`` runs a fixture program with the
real openai 0.28.1 and builds that SDK env on first use (about 10-20 s).
"""

from __future__ import annotations

import base64
import json
import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e import sdk_envs
from tests.e2e.fake_server import FakeOpenAIServer, canonicalize, chat_content, embedding_vector
from tests.e2e.harness import (
    ProgramRun,
    build_environment,
    compare_runs,
    load_program_spec,
    run_fixture,
    stage_program,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "e2e"


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(server):
    server.reset()


def call(server, method, path, body=None, headers=None, raw=None, content_type="application/json",
         root=False, auth="Bearer sk-test"):
    """(status, headers, body bytes) of one request to the fake server.

    ``path`` is relative to ``base_url`` (``/v1``), or to the root with ``root=True``
    (Azure paths). ``auth=None`` sends no Authorization header.
    """
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    url = (server.root_url.rstrip("/") if root else server.base_url) + path
    request = urllib.request.Request(url, data=data, method=method)
    if auth is not None:
        request.add_header("Authorization", auth)
    if data is not None:
        request.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def chat(server, **body):
    body.setdefault("model", "gpt-3.5-turbo")
    body.setdefault("messages", [{"role": "user", "content": "Hi there"}])
    status, _, payload = call(server, "POST", "/chat/completions", body)
    assert status == 200, payload
    return json.loads(payload)


def sse_events(payload: bytes):
    blocks = [b for b in payload.decode().split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    assert blocks[-1] == "data: [DONE]"
    return [json.loads(b[len("data: "):]) for b in blocks[:-1]]


# ---------------------------------------------------------------------------
# Server


def test_base_url_is_loopback_without_trailing_slash(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/v1")


def test_chat_answer_depends_on_model_and_temperature(server):
    a = chat(server, temperature=0.2)
    b = chat(server, temperature=0.7)
    c = chat(server, model="gpt-4", temperature=0.2)
    contents = [r["choices"][0]["message"]["content"] for r in (a, b, c)]
    assert len(set(contents)) == 3
    assert "temperature=0.2" in contents[0] and "temperature=0.7" in contents[1]
    assert contents[2].startswith("gpt-4|")
    assert contents[0].endswith("echo: Hi there")
    assert a["id"] != b["id"] and a["id"] == chat(server, temperature=0.2)["id"]
    assert a["usage"]["total_tokens"] == a["usage"]["prompt_tokens"] + a["usage"]["completion_tokens"]


def test_chat_n_choices(server):
    reply = chat(server, n=3)
    assert [c["index"] for c in reply["choices"]] == [0, 1, 2]
    assert len({c["message"]["content"] for c in reply["choices"]}) == 3


def test_chat_stream_format(server):
    status, headers, payload = call(server, "POST", "/chat/completions", {
        "model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Hi"}], "stream": True})
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(payload)
    deltas = [e["choices"][0]["delta"] for e in events]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert len(deltas) >= 5  # role, 3+ pieces, final
    assert deltas[-1] == {} and events[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    text = "".join(d.get("content", "") for d in deltas)
    assert text.endswith("echo: Hi") and "stream=true" in text


def test_function_call_answer(server):
    functions = [{"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}]
    reply = chat(server, functions=functions,
                 messages=[{"role": "user", "content": "CALL_FUNCTION weather please"}])
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "function_call"
    assert choice["message"]["content"] is None
    assert choice["message"]["function_call"]["name"] == "get_weather"
    assert json.loads(choice["message"]["function_call"]["arguments"]) == {"city": "city-value", "days": 42}
    plain = chat(server, functions=functions)
    assert plain["choices"][0]["message"]["content"].startswith("gpt-3.5-turbo|functions=#")


def test_function_call_choice_and_loop_end(server):
    functions = [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
                 {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}]
    ask = {"role": "user", "content": "CALL_FUNCTION get_time please"}

    def answer(**params):
        return chat(server, **dict({"functions": functions, "messages": [ask]}, **params))["choices"][0]

    assert answer(function_call="auto")["message"]["function_call"]["name"] == "get_time"  # named in the text
    assert answer(function_call={"name": "get_weather"})["message"]["function_call"]["name"] == "get_weather"
    assert answer(function_call="none")["finish_reason"] == "stop"
    called = answer()["message"]
    result = {"role": "function", "name": "get_time", "content": '{"time": "noon"}'}
    final = answer(messages=[ask, called, result])
    assert final["finish_reason"] == "stop"
    assert final["message"]["content"].endswith('messages=3|choice=0| echo: {"time": "noon"}')
    # A new user message asking again calls again.
    again = answer(messages=[ask, called, result, {"role": "user", "content": "CALL_FUNCTION get_weather"}])
    assert again["message"]["function_call"]["name"] == "get_weather"
    tools = [{"type": "function", "function": f} for f in functions]
    tool = chat(server, tools=tools, messages=[ask])["choices"][0]["message"]["tool_calls"][0]
    assert tool["function"]["name"] == "get_time"
    forced = chat(server, tools=tools, messages=[ask],
                  tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert forced["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    tool_result = {"role": "tool", "tool_call_id": tool["id"], "content": "noon"}
    done = chat(server, tools=tools, messages=[ask, {"role": "assistant", "tool_calls": [tool]}, tool_result])
    assert done["choices"][0]["finish_reason"] == "stop"


def test_chat_stream_function_call_and_role_only_first_delta(server):
    functions = [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    _, _, payload = call(server, "POST", "/chat/completions", {
        "model": "gpt-3.5-turbo", "functions": functions, "stream": True,
        "messages": [{"role": "user", "content": "CALL_FUNCTION"}]})
    deltas = [e["choices"][0]["delta"] for e in sse_events(payload)]
    assert deltas[0] == {"role": "assistant", "content": None,
                         "function_call": {"name": "get_weather", "arguments": ""}}
    assert "".join(d["function_call"]["arguments"] for d in deltas[:-1]) == '{"city": "city-value"}'
    assert deltas[-1] == {}
    _, _, payload = call(server, "POST", "/chat/completions", {
        "model": "gpt-3.5-turbo", "stream": True,
        "messages": [{"role": "user", "content": "Hi ROLE_ONLY_FIRST_DELTA"}]})
    events = sse_events(payload)
    deltas = [e["choices"][0]["delta"] for e in events]
    assert deltas[0] == {"role": "assistant"} and deltas[-1] == {}
    assert all(set(d) == {"content"} for d in deltas[1:-1])
    assert "".join(d.get("content", "") for d in deltas).endswith("echo: Hi ROLE_ONLY_FIRST_DELTA")
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


def test_completions_with_list_prompt_and_stream(server):
    status, _, payload = call(server, "POST", "/completions",
                              {"model": "text-davinci-003", "prompt": ["a", "b"], "max_tokens": 5})
    texts = [c["text"] for c in json.loads(payload)["choices"]]
    assert status == 200 and len(texts) == 2 and texts[1].endswith("echo: b")
    _, headers, payload = call(server, "POST", "/completions",
                               {"model": "text-davinci-003", "prompt": "x", "stream": True})
    events = sse_events(payload)
    assert len(events) >= 3 and events[-1]["choices"][0]["finish_reason"] == "stop"


def test_rate_limit_error_has_fast_retry_headers(server):
    status, headers, payload = call(server, "POST", "/chat/completions", {
        "model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "x TRIGGER_429"}]})
    assert status == 429
    assert headers["retry-after-ms"] == "1" and headers["retry-after"] == "0"
    error = json.loads(payload)["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"
    assert error["param"] is None


@pytest.mark.parametrize("trigger, status", [("TRIGGER_400", 400), ("TRIGGER_401", 401),
                                             ("TRIGGER_500", 500), ("TRIGGER_503", 503)])
def test_error_triggers(server, trigger, status):
    code, _, payload = call(server, "POST", "/embeddings", {"model": "m", "input": f"a {trigger}"})
    assert code == status and "error" in json.loads(payload)


def test_bad_key_missing_model_and_unknown_path(server):
    status, _, _ = call(server, "GET", "/models", headers={"Authorization": "Bearer sk-bad"})
    assert status == 401
    assert call(server, "POST", "/chat/completions", {"model": "missing-model", "messages": []})[0] == 404
    assert call(server, "GET", "/models/missing-model")[0] == 404
    status, _, payload = call(server, "GET", "/nothing-here")
    assert status == 404 and json.loads(payload)["error"]["type"] == "invalid_request_error"
    assert call(server, "POST", "//chat/completions", {"model": "m", "messages": []})[0] == 404


def test_base64_embeddings_decode_to_the_float_values(server):
    body = {"model": "text-embedding-ada-002", "input": ["one", "two"]}
    _, _, floats = call(server, "POST", "/embeddings", body)
    _, _, encoded = call(server, "POST", "/embeddings", dict(body, encoding_format="base64"))
    float_vectors = [d["embedding"] for d in json.loads(floats)["data"]]
    decoded = [list(struct.unpack("<4f", base64.b64decode(d["embedding"])))
               for d in json.loads(encoded)["data"]]
    assert decoded == float_vectors == [embedding_vector("one"), embedding_vector("two")]
    assert all(v != 0 and (v * 4).is_integer() for vector in decoded for v in vector)


def test_lists_return_empty_page_after_cursor(server):
    _, _, payload = call(server, "GET", "/fine_tuning/jobs?limit=10")
    page = json.loads(payload)
    assert page["has_more"] is False and page["data"]
    _, _, payload = call(server, "GET", "/fine_tuning/jobs?after=" + page["data"][-1]["id"])
    assert json.loads(payload) == {"object": "list", "data": [], "has_more": False}


def _multipart(fields, files):
    boundary = "XbOuNdArYx"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    for name, (filename, content) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                     + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_files_upload_list_and_download(server):
    raw, content_type = _multipart({"purpose": "fine-tune"}, {"file": ("data.jsonl", b'{"a": 1}\n')})
    status, _, payload = call(server, "POST", "/files", raw=raw, content_type=content_type)
    uploaded = json.loads(payload)
    assert status == 200 and uploaded["filename"] == "data.jsonl" and uploaded["bytes"] == 9
    ids = [f["id"] for f in json.loads(call(server, "GET", "/files")[2])["data"]]
    assert uploaded["id"] in ids
    assert call(server, "GET", f"/files/{uploaded['id']}/content")[2] == b'{"a": 1}\n'
    # 0.28 names /files uploads "file", 1.x uses the real name: canonical form drops it
    canonical_file = server.canonical_requests()[0]["body"]["file"]
    assert set(canonical_file) == {"content_sha"}
    assert server.requests[0].body["file"]["filename"] == "data.jsonl"


def test_audio_text_format_is_plain_text(server):
    raw, content_type = _multipart({"model": "whisper-1", "response_format": "text"},
                                   {"file": ("speech.mp3", b"ID3fake")})
    status, headers, payload = call(server, "POST", "/audio/transcriptions", raw=raw, content_type=content_type)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert payload.decode().startswith("transcribe of speech.mp3")
    assert server.canonical_requests()[0]["body"]["file"]["filename"] == "speech.mp3"


def test_upload_filenames_are_reduced_to_basenames(server):
    raw, content_type = _multipart({"model": "whisper-1"}, {"file": ("/home/u/rec/speech.mp3", b"ID3")})
    _, _, payload = call(server, "POST", "/audio/translations", raw=raw, content_type=content_type)
    assert json.loads(payload)["text"].startswith("translate of speech.mp3")


def test_cursor_pagination_of_job_events(server):
    path = "/fine_tuning/jobs/ftjob-seed0001/events"
    pages, after = [], None
    while True:
        query = "?limit=2" + (f"&after={after}" if after else "")
        page = json.loads(call(server, "GET", path + query)[2])
        pages.append(page)
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert [len(p["data"]) for p in pages] == [2, 2, 1]
    assert [p["has_more"] for p in pages] == [True, True, False]
    messages = [e["message"] for p in pages for e in p["data"]]
    everything = json.loads(call(server, "GET", path)[2])
    assert messages == [e["message"] for e in everything["data"]] and not everything["has_more"]
    assert len(set(messages)) == 5
    unknown = json.loads(call(server, "GET", path + "?after=ftevent-nope")[2])
    assert unknown["data"] == [] and unknown["has_more"] is False


AZURE_CHAT = "/openai/deployments/gpt35-deployment/chat/completions?api-version=2023-05-15"


def test_azure_chat_is_answered_from_the_deployment(server):
    messages = [{"role": "user", "content": "Hi Azure"}]
    old_style = {"messages": messages, "temperature": 0.5}  # 0.28: no model in the body
    new_style = dict(old_style, model="gpt35-deployment")  # 1.x: model = deployment
    replies = []
    for body, headers in ((old_style, {"api-key": "az-key"}),
                          (new_style, {"api-key": "az-key"}),
                          (dict(old_style, model="ignored"), {"api-key": "az-key"})):
        status, _, payload = call(server, "POST", AZURE_CHAT, body, headers=headers, root=True, auth=None)
        assert status == 200, payload
        replies.append(json.loads(payload))
    contents = [r["choices"][0]["message"]["content"] for r in replies]
    assert contents[0] == contents[1] == contents[2] == chat_content(new_style, 0)
    assert contents[0].startswith("gpt35-deployment|temperature=0.5|")
    assert replies[0]["model"] == "gpt35-deployment"
    canonical = server.canonical_requests()
    assert canonical[0] == canonical[1]
    assert canonical[0] == {"method": "POST", "path": "/openai/deployments/gpt35-deployment/chat/completions",
                            "query": {"api-version": "2023-05-15"}, "body": old_style, "auth": "az-key",
                            "organization": None, "auth_via": "api-key"}
    assert server.requests[1].body["model"] == "gpt35-deployment"  # recorded as sent


def test_azure_embeddings_audio_and_errors(server):
    root = "/openai/deployments/ada-deployment/embeddings?api-version=2023-05-15"
    status, _, payload = call(server, "POST", root, {"input": "x"}, root=True, auth=None,
                              headers={"api-key": "k"})
    assert status == 200 and json.loads(payload)["data"][0]["embedding"] == embedding_vector("x")
    assert json.loads(payload)["model"] == "ada-deployment"
    # 0.28 with the portal's trailing-slash endpoint asks for //openai/...
    assert call(server, "POST", "/" + root, {"input": "x"}, root=True, headers={"api-key": "k"})[0] == 200
    assert server.canonical_requests()[-1]["path"] == "/openai/deployments/ada-deployment/embeddings"
    raw, content_type = _multipart({"response_format": "text"}, {"file": ("memo.wav", b"RIFF")})
    status, _, payload = call(server, "POST", "/openai/deployments/whisper-dep/audio/transcriptions"
                              "?api-version=2024-02-01", raw=raw, content_type=content_type, root=True)
    assert status == 200 and payload.decode().startswith('transcribe of memo.wav sha=')
    assert 'model="whisper-dep"' in payload.decode()
    no_version = "/openai/deployments/ada-deployment/embeddings"
    assert call(server, "POST", no_version, {"input": "x"}, root=True)[0] == 404
    missing = "/openai/deployments/missing-model/embeddings?api-version=2023-05-15"
    assert call(server, "POST", missing, {"input": "x"}, root=True)[0] == 404
    assert call(server, "POST", root, {"input": "TRIGGER_400"}, root=True)[0] == 400
    assert call(server, "POST", "/chat/completions", {"input": "x"}, root=True)[0] == 404  # no /v1 at root


def test_auth_via_header_normalisation(server):
    body = {"input": "x"}
    path = "/openai/deployments/d/embeddings?api-version=2023-05-15"
    call(server, "POST", path, body, root=True, auth=None, headers={"api-key": "K"})  # 0.28, 3.x
    call(server, "POST", path, body, root=True, auth="Bearer K", headers={"api-key": "K"})  # 1.3.0
    call(server, "POST", path, body, root=True, auth="Bearer K")  # OpenAI-style / Azure AD
    call(server, "POST", path, body, root=True, auth="Bearer other", headers={"api-key": "K"})
    first, both, bearer, mixed = server.canonical_requests()
    assert first == both and first["auth"] == "K" and first["auth_via"] == "api-key"
    assert bearer["auth"] == "K" and "auth_via" not in bearer and bearer != first
    assert mixed["auth_via"] == "api-key+bearer"


def test_engine_paths_canonicalise_to_model_paths(server):
    body = {"prompt": "Tagline?", "max_tokens": 5}
    status, _, via_engine = call(server, "POST", "/engines/text-davinci-003/completions", body)
    assert status == 200
    _, _, via_model = call(server, "POST", "/completions", dict(body, model="text-davinci-003"))
    assert json.loads(via_engine)["choices"] == json.loads(via_model)["choices"]
    _, _, chat_reply = call(server, "POST", "/engines/gpt-4/chat/completions",
                            {"messages": [{"role": "user", "content": "Hi"}]})
    assert json.loads(chat_reply)["choices"][0]["message"]["content"].startswith("gpt-4|")
    engine, model, chat_request = server.canonical_requests()
    assert engine == model and engine["path"] == "/v1/completions"
    assert engine["body"] == dict(body, model="text-davinci-003")
    assert chat_request["path"] == "/v1/chat/completions" and chat_request["body"]["model"] == "gpt-4"
    assert server.requests[0].path == "/v1/engines/text-davinci-003/completions"


def test_trace_header_is_canonical_only_when_sent(server):
    chat(server)
    body = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Hi there"}]}
    call(server, "POST", "/chat/completions", body, headers={"X-Trace-Id": "abc", "X-Other": "zzz"})
    plain, traced = server.canonical_requests()
    assert "x-trace-id" not in plain and traced["x-trace-id"] == "abc"
    assert {k: v for k, v in traced.items() if k != "x-trace-id"} == plain


def test_canonical_requests_drop_retries(server):
    body = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "TRIGGER_429"}]}
    for retry in ("0", "1", "2"):  # what the 1.x SDK sends
        call(server, "POST", "/chat/completions", body, headers={"x-stainless-retry-count": retry})
    call(server, "POST", "/chat/completions", body)  # identical, no header, after a 429: a retry
    chat(server)
    chat(server)  # identical after a success: a real second call
    canonical = server.canonical_requests()
    assert len(server.requests) == 6
    assert [r["body"]["messages"][0]["content"] for r in canonical] == ["TRIGGER_429", "Hi there", "Hi there"]
    first = canonical[0]
    assert set(first) == {"method", "path", "query", "body", "auth", "organization"}
    assert first["auth"] == "sk-test" and first["path"] == "/v1/chat/completions"
    assert canonicalize(server.requests) == canonical


def test_canonical_request_fields(server):
    call(server, "GET", "/models/ft%3Agpt-3.5-turbo%3Aorg?limit=2&b=1",
         headers={"OpenAI-Organization": "org-x", "User-Agent": "x", "X-Stainless-Lang": "python"})
    (request,) = server.canonical_requests()
    assert request == {"method": "GET", "path": "/v1/models/ft:gpt-3.5-turbo:org",
                       "query": {"b": "1", "limit": "2"}, "body": None, "auth": "sk-test",
                       "organization": "org-x"}
    assert list(request["query"]) == ["b", "limit"]


def test_reset_clears_requests_and_state(server):
    raw, content_type = _multipart({"purpose": "assistants"}, {"file": ("x.txt", b"x")})
    call(server, "POST", "/files", raw=raw, content_type=content_type)
    server.reset()
    assert server.requests == []
    files = json.loads(call(server, "GET", "/files")[2])["data"]
    assert [f["id"] for f in files] == ["file-seed0001"]


# ---------------------------------------------------------------------------
# Harness


def test_build_environment_overrides(server, tmp_path):
    env = build_environment(server, tmp_path, {"OPENAI_API_KEY": None, "FAKE": "{base_url}/x",
                                               "AZURE_OPENAI_ENDPOINT": "{root_url}"})
    assert "OPENAI_API_KEY" not in env
    assert env["FAKE"] == server.base_url + "/x"
    assert env["AZURE_OPENAI_ENDPOINT"] == server.root_url == server.base_url[: -len("v1")]
    assert env["OPENAI_API_BASE"] == env["OPENAI_BASE_URL"] == server.base_url
    assert env["HOME"] == str(tmp_path) and env["PYTHONHASHSEED"] == "0"
    assert build_environment(server, tmp_path)["OPENAI_API_KEY"] == "sk-test-key"


def test_fixture_specs_and_staging(tmp_path):
    names = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
    # the behaviours the end-to-end suite must cover, each with its own program
    assert {"async_chat", "basic_chat", "dotenv_key", "embeddings", "explicit_base",
            "helper_return", "rate_limit", "streaming_chat",
            "images", "audio", "moderation", "models", "files", "fine_tuning", "azure_chat",
            "per_call_options", "error_statuses"} <= set(names)
    assert all((FIXTURES / name / "before.py").is_file() for name in names)
    for name in names:
        spec = load_program_spec(FIXTURES / name)
        assert spec.returncode == 0 and spec.request_order in ("exact", "any")
    assert load_program_spec(FIXTURES / "dotenv_key").env == {"OPENAI_API_KEY": None}
    azure_env = load_program_spec(FIXTURES / "azure_chat").env
    assert azure_env["AZURE_OPENAI_ENDPOINT"] == "{root_url}"
    removed = {k for k, v in azure_env.items() if v is None}
    assert removed == {"OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL"}
    script = stage_program(FIXTURES / "dotenv_key", tmp_path, script_text="print(1)\n")
    assert script.read_text() == "print(1)\n"
    assert "sk-from-dotenv" in (tmp_path / ".env").read_text()
    assert not (tmp_path / "before.py").exists() and not (tmp_path / "run.json").exists()


def test_compare_runs_reports_differences():
    request = {"method": "POST", "path": "/v1/x", "query": {}, "body": {"a": 1}, "auth": "k",
               "organization": None}
    old = ProgramRun("hello\n", "", 0, [request])
    compare_runs(old, ProgramRun("hello\n", "", 0, [dict(request)]))
    with pytest.raises(AssertionError, match=r"(?s)stdout differs.*-hello.*\+bye"):
        compare_runs(old, ProgramRun("bye\n", "", 0, [request]))
    with pytest.raises(AssertionError, match=r'(?s)requests differ.*"a": 2'):
        compare_runs(old, ProgramRun("hello\n", "", 0, [dict(request, body={"a": 2})]))
    with pytest.raises(AssertionError, match="exited 1"):
        compare_runs(old, ProgramRun("hello\n", "boom", 1, [request]))
    compare_runs(ProgramRun("", "", 1, []), ProgramRun("", "", 1, []), returncode=None)


def test_sdk_env_helpers(tmp_path, monkeypatch):
    monkeypatch.setenv(sdk_envs.CACHE_ENV_VAR, str(tmp_path / "envs"))
    assert sdk_envs.cache_root() == tmp_path / "envs" and (tmp_path / "envs").is_dir()
    assert sdk_envs.find_base_python((3, 0))[0] == sys.executable
    assert not sdk_envs._env_is_usable(tmp_path / "envs" / "nope", {"name": "old"})
    with pytest.raises(sdk_envs.EnvError, match="unknown SDK env"):
        sdk_envs.ensure_env("ancient")


def test_basic_chat_runs_under_old_sdk(server, tmp_path):
    """The harness end to end: 0.28.1 really runs a fixture against the fake server."""
    run = run_fixture(FIXTURES / "basic_chat", "old", server, tmp_path)
    assert run.returncode == 0, run.stderr
    first_body = {
        "model": "gpt-3.5-turbo",
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Say hello to the world."}],
        "temperature": 0.2,
        "max_tokens": 64,
    }
    lines = run.stdout.splitlines()
    assert lines[0] == "answer: " + chat_content(first_body, 0)
    assert lines[1] == "finish reason: stop"
    assert lines[-1].startswith("option 1: gpt-3.5-turbo|max_tokens=20|n=2|temperature=0.9|")
    assert [(r["method"], r["path"], r["auth"]) for r in run.requests] == [
        ("POST", "/v1/chat/completions", "sk-test-key")] * 3
    assert run.requests[0]["body"] == first_body
