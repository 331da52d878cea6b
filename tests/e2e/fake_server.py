"""A fake OpenAI HTTP API for running old (0.28) and migrated (1.x+) programs side by side.

Stdlib only. ``FakeOpenAIServer`` serves the OpenAI REST surface under ``/v1`` on
127.0.0.1 (never another interface) from a background thread, records every
request, and answers deterministically *from the request*: every parameter a
program sends shows up in the answer (chat/completion text names the model and
each other parameter), so a parameter the migration drops or changes changes
the program's output. Ids are hashes of the request body, timestamps are fixed.

Error triggers (anywhere in the request's text, e.g. a message or prompt):
``TRIGGER_400``, ``TRIGGER_401``, ``TRIGGER_429``, ``TRIGGER_500``,
``TRIGGER_503``; model ``missing-model`` → 404; API key ``sk-bad`` → 401.
Retryable errors carry ``retry-after-ms: 1`` so the 1.x SDK's automatic
retries are instant. 409 is never sent (0.28 retries it forever).

Chat behaviour markers (in the messages' text):

* ``CALL_FUNCTION`` in the last user message: the answer calls a function
  (``functions=``: a ``function_call``; ``tools=``: one ``tool_calls`` entry),
  unless a ``function``/``tool`` result message already follows that user
  message (then the answer is text, so call-the-function-and-ask-again loops
  end) or ``function_call="none"``/``tool_choice="none"``. The function is the
  one ``function_call={"name": ...}`` names, else the first whose name appears
  in that user message, else the first; its arguments are sample values
  derived from its JSON schema (``_function_call_args``).
* ``ROLE_ONLY_FIRST_DELTA`` in a streamed chat request: the first text chunk's
  delta is ``{"role": "assistant"}`` with no ``content`` key (what the API
  streamed in early 2023) instead of ``{"role": "assistant", "content": ""}``.

Azure OpenAI (api-map §7.1) is served at the server root (``root_url``,
``http://127.0.0.1:PORT/``): ``POST /openai/deployments/{deployment}/<op>
?api-version=...`` for chat/completions, completions, embeddings and audio.
The answer is derived from the deployment in the path, never from the body's
``model`` (0.28 omits it, 1.x sends the deployment name). Legacy OpenAI engine
paths ``POST /v1/engines/{engine}/<op>`` (0.28 ``engine=`` without Azure) are
answered like ``/v1/<op>`` with ``model=engine``.

``canonical_requests()`` gives the recorded requests in an SDK-neutral form
(no User-Agent / X-Stainless headers, retries removed) so two runs of a
program, one per SDK, can be compared. Run this file directly to get a
standalone server for debugging.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import sys
import threading
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs, unquote

__all__ = [
    "CREATED",
    "FakeOpenAIServer",
    "RecordedRequest",
    "canonicalize",
    "chat_content",
    "embedding_vector",
]

CREATED = 1_700_000_000
API_PREFIX = "/v1"
RETRY_COUNT_HEADER = "x-stainless-retry-count"
RETRYABLE_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
EMBEDDING_DIMS = 4
# Uploads for which 0.28 sends a placeholder filename (the field name: "file",
# "image", "mask") while 1.x sends the real file's basename. The API ignores
# these names (except to echo a File's name), so canonical requests drop them.
PLACEHOLDER_FILENAME_PATHS = ("/files", "/images/edits", "/images/variations")
# The one custom request header canonical requests keep (when sent), so that a
# migration dropping 0.28's per-call ``headers={...}`` shows.
TRACE_HEADER = "x-trace-id"
# Operations served under a deployment (Azure) or an engine (legacy OpenAI).
DEPLOYMENT_OPS = ("chat/completions", "completions", "embeddings", "audio/transcriptions",
                  "audio/translations")
ENGINE_OPS = ("chat/completions", "completions", "embeddings")
_OPS_RE = "|".join(DEPLOYMENT_OPS)
# 0.28 joins ``api_base + "/openai/..."``, so the portal's trailing-slash
# endpoint gives ``//openai/...``; Azure accepts it, so the fake does too
# (recent http.server versions already reduce a leading "//" to "/").
AZURE_PATH = re.compile(f"^/+openai/deployments/([^/]+)/({_OPS_RE})$")
ENGINE_PATH = re.compile(f"^{API_PREFIX}/engines/([^/]+)/({'|'.join(ENGINE_OPS)})$")
EVENTS_PER_JOB = 5
ROLE_ONLY_MARKER = "ROLE_ONLY_FIRST_DELTA"
SEED_FILE_ID = "file-seed0001"
SEED_JOB_ID = "ftjob-seed0001"
MODEL_IDS = (
    "gpt-3.5-turbo",
    "gpt-4",
    "text-davinci-003",
    "text-embedding-ada-002",
    "whisper-1",
    "ft:gpt-3.5-turbo:fake-org:custom:abc123",
)


# ---------------------------------------------------------------------------
# Small deterministic helpers


def _digest(value: Any, length: int = 24) -> str:
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def _word_count(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    """Text of a message content: a string, None, or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _describe_params(body: Dict[str, Any], skip: Iterable[str]) -> str:
    """``k=v`` for every request parameter except ``skip``, sorted by name.

    Scalars are shown as JSON; lists/objects as a short digest, so that any
    change to them still changes the answer.
    """
    parts = []
    for key in sorted(body):
        if key in skip:
            continue
        value = body[key]
        if isinstance(value, (dict, list)):
            parts.append(f"{key}=#{_digest(value, 6)}")
        else:
            parts.append(f"{key}={json.dumps(value)}")
    return "|".join(parts)


def _join(*parts: Any) -> str:
    return "|".join(str(p) for p in parts if p not in ("", None))


def chat_content(body: Dict[str, Any], choice: int) -> str:
    """The assistant text the fake answers for one chat choice."""
    messages = body.get("messages") or [{}]
    last = messages[-1] if isinstance(messages, list) and messages else {}
    echo = _text_of(last.get("content")) if isinstance(last, dict) else str(last)
    params = _describe_params(body, skip=("model", "messages"))
    count = len(messages) if isinstance(messages, list) else 1
    return _join(body.get("model"), params, f"messages={count}", f"choice={choice}") + f"| echo: {echo}"


def completion_text(body: Dict[str, Any], prompt: str, choice: int) -> str:
    params = _describe_params(body, skip=("model", "prompt"))
    return " " + _join(body.get("model"), params, f"choice={choice}") + f"| echo: {prompt}"


def embedding_vector(text: str, dims: int = EMBEDDING_DIMS) -> List[float]:
    """Small non-zero floats, multiples of 0.25 (exact in float32)."""
    raw = hashlib.sha256(text.encode()).digest()
    return [((raw[k] % 8) + 1) * 0.25 * (1 if raw[k + dims] % 2 else -1) for k in range(dims)]


def _split_pieces(text: str, count: int = 4) -> List[str]:
    size = max(1, -(-len(text) // count))
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    while len(pieces) < 3:
        pieces.append("")
    return pieces


# ---------------------------------------------------------------------------
# Requests and replies


@dataclass
class RecordedRequest:
    """One request as the server saw it, plus the status it answered."""

    method: str
    path: str
    query: Dict[str, Any]
    headers: Dict[str, str]
    body: Any
    status: int = 0
    uploads: Dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def auth(self) -> Optional[str]:
        value = self.headers.get("authorization")
        if value and value.lower().startswith("bearer "):
            return value[7:].strip()
        return self.headers.get("api-key", value)

    @property
    def auth_via(self) -> Optional[str]:
        """``"api-key"`` when the key came in Azure's ``api-key`` header, else None.

        ``Authorization: Bearer K`` alone (OpenAI, Azure AD) is None. A request
        with both ``api-key: K`` and ``Authorization: Bearer K`` (the same K;
        openai 1.3.0's ``AzureOpenAI`` sends both, 3.x only ``api-key``) counts
        as ``"api-key"``; with different values as ``"api-key+bearer"``.
        """
        api_key = self.headers.get("api-key")
        if api_key is None:
            return None
        bearer = self.headers.get("authorization")
        if bearer is None or bearer.strip() == f"Bearer {api_key}".strip():
            return "api-key"
        return "api-key+bearer"

    @property
    def retry_count(self) -> Optional[int]:
        value = self.headers.get(RETRY_COUNT_HEADER)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def canonical(self) -> Dict[str, Any]:
        """SDK-neutral form. Besides dropping SDK-specific headers it normalises:

        * upload filenames on PLACEHOLDER_FILENAME_PATHS (0.28 sends the field name);
        * Azure ``/+openai/deployments/{d}/<op>``: one leading slash, and no
          ``model`` in the body (0.28 omits it, 1.x sends the deployment name;
          the service ignores it);
        * legacy ``/v1/engines/{e}/<op>`` → ``/v1/<op>`` with ``model: e``;
        * ``auth_via``/``x-trace-id`` keys appear only when those headers were sent.
        """
        path, body = self.path, self.body
        azure, engine = AZURE_PATH.match(path), ENGINE_PATH.match(path)
        if azure:
            path = "/" + path.lstrip("/")
            if isinstance(body, dict):
                body = {k: v for k, v in body.items() if k != "model"}
        elif engine:
            path = f"{API_PREFIX}/{engine.group(2)}"
            if isinstance(body, dict):
                body = dict(body, model=engine.group(1))
        if path.endswith(PLACEHOLDER_FILENAME_PATHS) and isinstance(body, dict):
            body = _without_filenames(body)
        canonical = {
            "method": self.method,
            "path": path,
            "query": dict(sorted(self.query.items())),
            "body": body,
            "auth": self.auth,
            "organization": self.headers.get("openai-organization"),
        }
        if self.auth_via is not None:
            canonical["auth_via"] = self.auth_via
        if TRACE_HEADER in self.headers:
            canonical[TRACE_HEADER] = self.headers[TRACE_HEADER]
        return canonical


def canonicalize(requests: Iterable[RecordedRequest]) -> List[Dict[str, Any]]:
    """SDK-neutral view of ``requests`` with automatic retries removed.

    A request is a retry when it carries ``x-stainless-retry-count`` > 0, or
    when it is identical to the previous request and that one failed with a
    retryable status (for SDKs that do not send the header). The second rule
    also folds a *program's* back-to-back identical failing calls into one,
    the same way for both SDKs.
    """
    result: List[Dict[str, Any]] = []
    previous: Optional[Tuple[Dict[str, Any], int]] = None
    for request in requests:
        canonical = request.canonical()
        is_retry = (request.retry_count or 0) > 0 or (
            previous is not None and previous[1] in RETRYABLE_STATUSES and previous[0] == canonical
        )
        if not is_retry:
            result.append(canonical)
        previous = (canonical, request.status)
    return result


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Optional[Dict[str, str]] = None) -> "Reply":
        return cls(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))

    @classmethod
    def text(cls, text: str) -> "Reply":
        return cls(200, text.encode(), "text/plain; charset=utf-8")

    @classmethod
    def sse(cls, events: Iterable[Any]) -> "Reply":
        lines = [f"data: {json.dumps(event)}\n\n" for event in events]
        lines.append("data: [DONE]\n\n")
        return cls(200, "".join(lines).encode(), "text/event-stream; charset=utf-8")


class ApiError(Exception):
    """Raised by handlers; becomes an OpenAI-style JSON error reply."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: Optional[str] = None, param: Optional[str] = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param

    def reply(self) -> Reply:
        headers = {}
        if self.status in RETRYABLE_STATUSES:
            headers = {"retry-after-ms": "1", "retry-after": "0"}
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return Reply.json({"error": error}, self.status, headers)


TRIGGERS = {
    "TRIGGER_400": lambda: ApiError(400, "Fake invalid request (TRIGGER_400).", param="messages"),
    "TRIGGER_401": lambda: ApiError(401, "Fake auth failure (TRIGGER_401).", code="invalid_api_key"),
    "TRIGGER_429": lambda: ApiError(429, "Fake rate limit (TRIGGER_429).", "rate_limit_error",
                                    "rate_limit_exceeded"),
    "TRIGGER_500": lambda: ApiError(500, "Fake server error (TRIGGER_500).", "server_error"),
    "TRIGGER_503": lambda: ApiError(503, "Fake overload (TRIGGER_503).", "server_error"),
}


# ---------------------------------------------------------------------------
# Body parsing


def parse_multipart(body: bytes, content_type: str) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
    """``({name: value}, {name: file bytes})``.

    File parts appear in the fields as ``{"filename", "content_sha"}``.
    Repeated names (e.g. ``timestamp_granularities[]``) become lists.
    """
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(400, "multipart body without boundary")
    fields: Dict[str, Any] = {}
    uploads: Dict[str, bytes] = {}
    for part in body.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        content = content[:-2] if content.endswith(b"\r\n") else content
        disposition = next((line for line in head.decode("utf-8", "replace").split("\r\n")
                            if line.lower().startswith("content-disposition")), "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if not name:
            continue
        value: Any
        if filename:
            value = {"filename": _basename(filename.group(1)),
                     "content_sha": hashlib.sha256(content).hexdigest()[:16]}
            uploads[name.group(1)] = content
        else:
            value = content.decode("utf-8", "replace")
        key = name.group(1)
        if key in fields:
            existing = fields[key]
            fields[key] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            fields[key] = value
    return fields, uploads


def _basename(filename: str) -> str:
    """0.28 sends ``file.name`` as given (maybe a path); 1.x sends its basename."""
    return re.split(r"[\\/]", filename)[-1]


def _without_filenames(fields: Dict[str, Any]) -> Dict[str, Any]:
    """Multipart fields with file parts reduced to their content hash."""
    return {k: {"content_sha": v["content_sha"]} if isinstance(v, dict) and "content_sha" in v else v
            for k, v in fields.items()}


def parse_body(raw: bytes, content_type: str) -> Tuple[Any, Dict[str, bytes]]:
    """The parsed body (JSON, multipart fields, text or None) and any uploaded files."""
    if not raw:
        return None, {}
    if content_type.startswith("multipart/form-data"):
        return parse_multipart(raw, content_type)
    try:
        return json.loads(raw), {}
    except ValueError:
        return raw.decode("utf-8", "replace"), {}


# ---------------------------------------------------------------------------
# Endpoint handlers. Each takes (server, request) and returns a Reply.


def _require(body: Any, *names: str) -> Dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object or form.")
    for name in names:
        if body.get(name) in (None, ""):
            raise ApiError(400, f"Missing required parameter: '{name}'.", param=name)
    return body


def _usage(prompt_text: str, completion_texts: Iterable[str]) -> Dict[str, int]:
    prompt = _word_count(prompt_text) + 1
    completion = sum(_word_count(t) for t in completion_texts)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _function_call_args(schema: Dict[str, Any]) -> str:
    props = (schema.get("parameters") or {}).get("properties") or {}
    samples = {"integer": 42, "number": 1.5, "boolean": True}
    args = {name: samples.get(spec.get("type"), f"{name}-value") for name, spec in sorted(props.items())}
    return json.dumps(args)


def _pick_function(body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The function the fake 'calls', or None for a plain text answer (module docstring)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        return None
    text = _text_of(messages[users[-1]].get("content"))
    if "CALL_FUNCTION" not in text:
        return None
    if any(m.get("role") in ("function", "tool") for m in messages[users[-1] + 1:]):
        return None
    if body.get("functions"):
        functions, choice = body["functions"], body.get("function_call")
    elif body.get("tools"):
        functions = [t.get("function") or {} for t in body["tools"] if isinstance(t, dict)]
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            choice = choice.get("function")
    else:
        return None
    if choice == "none" or not functions:
        return None
    if isinstance(choice, dict):
        return next((f for f in functions if f.get("name") == choice.get("name")), None)
    return next((f for f in functions if f.get("name") and f["name"] in text), functions[0])


def _chat_message(body: Dict[str, Any], choice: int) -> Tuple[Dict[str, Any], str]:
    function = _pick_function(body)
    if function is None:
        return {"role": "assistant", "content": chat_content(body, choice)}, "stop"
    call = {"name": function.get("name"), "arguments": _function_call_args(function)}
    if body.get("functions"):
        return {"role": "assistant", "content": None, "function_call": call}, "function_call"
    tool_call = {"id": f"call_{_digest([body, choice], 12)}", "type": "function", "function": call}
    return {"role": "assistant", "content": None, "tool_calls": [tool_call]}, "tool_calls"


def chat_completions(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "model", "messages")
    n = int(body.get("n") or 1)
    answers = [_chat_message(body, i) for i in range(n)]
    base = {"id": f"chatcmpl-{_digest(body)}", "created": CREATED, "model": body["model"]}
    prompt_text = " ".join(_text_of(m.get("content")) for m in body["messages"] if isinstance(m, dict))
    usage = _usage(prompt_text, [m.get("content") or m.get("function_call", {}).get("arguments", "")
                                 for m, _ in answers])
    if body.get("stream"):
        return Reply.sse(_chat_chunks(base, answers, usage if _wants_stream_usage(body) else None,
                                      role_only=ROLE_ONLY_MARKER in json.dumps(body["messages"])))
    choices = [{"index": i, "message": msg, "logprobs": None, "finish_reason": finish}
               for i, (msg, finish) in enumerate(answers)]
    return Reply.json(dict(base, object="chat.completion", choices=choices, usage=usage))


def _wants_stream_usage(body: Dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


def _chat_chunks(base: Dict[str, Any], answers, usage, role_only: bool = False) -> Iterable[Dict[str, Any]]:
    def chunk(index: int, delta: Dict[str, Any], finish: Optional[str] = None) -> Dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return dict(base, object="chat.completion.chunk", choices=[choice])

    for index, (message, finish) in enumerate(answers):
        if message.get("content") is not None:
            yield chunk(index, {"role": "assistant"} if role_only else {"role": "assistant", "content": ""})
            for piece in _split_pieces(message["content"]):
                yield chunk(index, {"content": piece})
        else:
            call = message.get("function_call") or message["tool_calls"][0]["function"]
            yield from _function_call_chunks(chunk, index, message, call)
        yield chunk(index, {}, finish)
    if usage is not None:
        yield dict(base, object="chat.completion.chunk", choices=[], usage=usage)


def _function_call_chunks(chunk, index, message, call):
    if "function_call" in message:
        yield chunk(index, {"role": "assistant", "content": None,
                            "function_call": {"name": call["name"], "arguments": ""}})
        for piece in _split_pieces(call["arguments"]):
            yield chunk(index, {"function_call": {"arguments": piece}})
        return
    tool = message["tool_calls"][0]
    yield chunk(index, {"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": tool["id"], "type": "function", "function": {"name": call["name"], "arguments": ""}}]})
    for piece in _split_pieces(call["arguments"]):
        yield chunk(index, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})


def _as_text_list(value: Any) -> List[str]:
    """A prompt/input that may be a string, list of strings, or token lists."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [json.dumps(value)]
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    return [json.dumps(value)]


def completions(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "model", "prompt")
    n = int(body.get("n") or 1)
    prompts = _as_text_list(body["prompt"])
    texts = [completion_text(body, prompt, i) for prompt in prompts for i in range(n)]
    base = {"id": f"cmpl-{_digest(body)}", "created": CREATED, "model": body["model"]}
    usage = _usage(" ".join(prompts), texts)
    if body.get("stream"):
        return Reply.sse(_completion_chunks(base, texts))
    choices = [{"index": i, "text": t, "logprobs": None, "finish_reason": "stop"} for i, t in enumerate(texts)]
    return Reply.json(dict(base, object="text_completion", choices=choices, usage=usage))


def _completion_chunks(base: Dict[str, Any], texts: List[str]) -> Iterable[Dict[str, Any]]:
    for index, text in enumerate(texts):
        pieces = _split_pieces(text)
        for position, piece in enumerate(pieces):
            finish = "stop" if position == len(pieces) - 1 else None
            choice = {"index": index, "text": piece, "logprobs": None, "finish_reason": finish}
            yield dict(base, object="text_completion", choices=[choice])


def embeddings(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "model", "input")
    texts = _as_text_list(body["input"])
    dims = int(body.get("dimensions") or EMBEDDING_DIMS)
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = embedding_vector(text, dims)
        encoded: Any = vector
        if as_base64:
            encoded = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(_word_count(t) for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return Reply.json({"object": "list", "data": data, "model": body["model"], "usage": usage})


MODERATION_CATEGORIES = ("harassment", "hate", "self-harm", "sexual", "violence")


def moderations(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "input")
    results = []
    for text in _as_text_list(body["input"]):
        lowered = text.lower()
        categories = {c: c in lowered for c in MODERATION_CATEGORIES}
        scores = {c: 0.875 if hit else 0.0078125 for c, hit in categories.items()}
        results.append({"flagged": any(categories.values()), "categories": categories,
                        "category_scores": scores})
    model = body.get("model") or "text-moderation-007"
    return Reply.json({"id": f"modr-{_digest(body)}", "model": model, "results": results})


def _image_data(body: Dict[str, Any], seed: Any) -> Dict[str, Any]:
    n = int(body.get("n") or 1)
    as_b64 = body.get("response_format") == "b64_json"
    data = []
    for i in range(n):
        tag = f"{_digest([seed, i], 16)}"
        if as_b64:
            data.append({"b64_json": base64.b64encode(f"PNG:{tag}".encode()).decode()})
        else:
            data.append({"url": f"https://fake-openai.invalid/images/{tag}.png"})
    return {"created": CREATED, "data": data}


def image_generations(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "prompt")
    return Reply.json(_image_data(body, body))


def image_edits(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "image", "prompt")
    return Reply.json(_image_data(body, _without_filenames(body)))


def image_variations(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "image")
    return Reply.json(_image_data(body, _without_filenames(body)))


def _audio_text(body: Dict[str, Any], task: str) -> str:
    upload = body["file"] if isinstance(body["file"], dict) else {"filename": "?", "content_sha": "?"}
    params = _describe_params(body, skip=("file", "response_format"))
    return f"{task} of {upload.get('filename')} sha={upload.get('content_sha', '')[:8]} {params}".rstrip()


def _audio_reply(body: Dict[str, Any], task: str) -> Reply:
    text = _audio_text(body, task)
    fmt = body.get("response_format") or "json"
    if fmt == "text":
        return Reply.text(text + "\n")
    if fmt == "srt":
        return Reply.text(f"1\n00:00:00,000 --> 00:00:02,000\n{text}\n\n")
    if fmt == "vtt":
        return Reply.text(f"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n{text}\n\n")
    if fmt == "verbose_json":
        return Reply.json({"task": task, "language": body.get("language") or "english",
                           "duration": 2.0, "text": text, "segments": []})
    return Reply.json({"text": text})


def audio_transcriptions(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    return _audio_reply(_require(req.body, "model", "file"), "transcribe")


def audio_translations(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    return _audio_reply(_require(req.body, "model", "file"), "translate")


def _list_page(items: List[Dict[str, Any]], req: RecordedRequest) -> Reply:
    """A cursor page: the items after the ``after=`` id (none if that id is
    unknown or last), at most ``limit=`` of them; ``has_more`` says whether
    items were cut off. So 1.3.0's "request ``after=<last id>`` until a page is
    empty" and later SDKs' "follow ``has_more``" both end (api-map §7.2)."""
    after = req.query.get("after")
    if after is not None:
        ids = [item.get("id") for item in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    limit = req.query.get("limit")
    has_more = False
    if isinstance(limit, str) and limit.isdigit():
        has_more = len(items) > int(limit)
        items = items[: int(limit)]
    return Reply.json({"object": "list", "data": items, "has_more": has_more})


def files_create(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "file", "purpose")
    upload = body["file"]
    if not isinstance(upload, dict):
        raise ApiError(400, "'file' must be a file upload.", param="file")
    content = req.uploads.get("file", b"")
    file_id = f"file-{_digest(_without_filenames(body), 20)}"
    obj = {"id": file_id, "object": "file", "bytes": len(content), "created_at": CREATED,
           "filename": upload["filename"], "purpose": body["purpose"], "status": "processed",
           "status_details": None}
    server.state.files[file_id] = (obj, content)
    return Reply.json(obj)


def _stored_file(server: "FakeOpenAIServer", file_id: str):
    try:
        return server.state.files[file_id]
    except KeyError:
        raise ApiError(404, f"No such File object: {file_id}", param="id") from None


def files_list(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    items = [obj for obj, _ in server.state.files.values()]
    purpose = req.query.get("purpose")
    if purpose:
        items = [obj for obj in items if obj["purpose"] == purpose]
    return _list_page(items, req)


def files_retrieve(server: "FakeOpenAIServer", req: RecordedRequest, file_id: str) -> Reply:
    return Reply.json(_stored_file(server, file_id)[0])


def files_delete(server: "FakeOpenAIServer", req: RecordedRequest, file_id: str) -> Reply:
    _stored_file(server, file_id)
    del server.state.files[file_id]
    return Reply.json({"id": file_id, "object": "file", "deleted": True})


def files_content(server: "FakeOpenAIServer", req: RecordedRequest, file_id: str) -> Reply:
    obj, content = _stored_file(server, file_id)
    return Reply(200, content, "application/octet-stream")


def _model(model_id: str) -> Dict[str, Any]:
    owner = "fake-org" if model_id.startswith("ft:") else "openai"
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": owner}


def models_list(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    return Reply.json({"object": "list", "data": [_model(m) for m in MODEL_IDS]})


def models_retrieve(server: "FakeOpenAIServer", req: RecordedRequest, model_id: str) -> Reply:
    return Reply.json(_model(model_id))


def models_delete(server: "FakeOpenAIServer", req: RecordedRequest, model_id: str) -> Reply:
    return Reply.json({"id": model_id, "object": "model", "deleted": True})


def _job(job_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
    hyper = dict({"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"},
                 **(body.get("hyperparameters") or {}))
    return {"id": job_id, "object": "fine_tuning.job", "created_at": CREATED, "finished_at": None,
            "model": body.get("model"), "fine_tuned_model": None, "organization_id": "org-fake",
            "status": "queued", "training_file": body.get("training_file"),
            "validation_file": body.get("validation_file"), "hyperparameters": hyper,
            "result_files": [], "trained_tokens": None, "error": None, "seed": 0,
            "suffix": body.get("suffix")}


def jobs_create(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    body = _require(req.body, "model", "training_file")
    if body["training_file"] not in server.state.files:
        raise ApiError(400, f"invalid training_file: {body['training_file']}", param="training_file")
    job = _job(f"ftjob-{_digest(body, 20)}", body)
    server.state.jobs[job["id"]] = job
    return Reply.json(job)


def _stored_job(server: "FakeOpenAIServer", job_id: str) -> Dict[str, Any]:
    try:
        return server.state.jobs[job_id]
    except KeyError:
        raise ApiError(404, f"No such fine-tuning job: {job_id}", param="id") from None


def jobs_list(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    return _list_page(list(server.state.jobs.values()), req)


def jobs_retrieve(server: "FakeOpenAIServer", req: RecordedRequest, job_id: str) -> Reply:
    return Reply.json(_stored_job(server, job_id))


def jobs_cancel(server: "FakeOpenAIServer", req: RecordedRequest, job_id: str) -> Reply:
    job = _stored_job(server, job_id)
    job["status"] = "cancelled"
    return Reply.json(job)


def jobs_events(server: "FakeOpenAIServer", req: RecordedRequest, job_id: str) -> Reply:
    _stored_job(server, job_id)
    events = [{"object": "fine_tuning.job.event", "id": f"ftevent-{_digest([job_id, k], 12)}",
               "created_at": CREATED + k, "level": "info", "message": f"{job_id}: step {k}",
               "data": {}, "type": "message"} for k in range(EVENTS_PER_JOB)]
    return _list_page(events, req)


MODEL_OPS: Dict[str, Callable[..., Reply]] = {
    "chat/completions": chat_completions,
    "completions": completions,
    "embeddings": embeddings,
    "audio/transcriptions": audio_transcriptions,
    "audio/translations": audio_translations,
}


def _with_model(req: RecordedRequest, model: str) -> RecordedRequest:
    """A copy of ``req`` whose body names ``model`` (the recorded request is unchanged)."""
    body = dict(req.body, model=model) if isinstance(req.body, dict) else req.body
    return replace(req, body=body)


def azure_deployment_op(server: "FakeOpenAIServer", req: RecordedRequest, deployment: str,
                        op: str) -> Reply:
    """Azure ``/openai/deployments/{deployment}/<op>``: answered from the deployment, not the body."""
    if not req.query.get("api-version"):
        raise ApiError(404, "Resource not found (Azure requests need ?api-version=).", code="404")
    return MODEL_OPS[op](server, _with_model(req, deployment))


def engine_op(server: "FakeOpenAIServer", req: RecordedRequest, engine: str, op: str) -> Reply:
    """Legacy ``/v1/engines/{engine}/<op>`` (0.28 ``engine=``): ``/v1/<op>`` with ``model=engine``."""
    return MODEL_OPS[op](server, _with_model(req, engine))


ROUTES: List[Tuple[str, "re.Pattern[str]", Callable[..., Reply]]] = [
    ("POST", AZURE_PATH, azure_deployment_op),
    ("POST", ENGINE_PATH, engine_op),
] + [
    (method, re.compile(f"^{API_PREFIX}{pattern}$"), handler)
    for method, pattern, handler in [
        ("POST", "/chat/completions", chat_completions),
        ("POST", "/completions", completions),
        ("POST", "/embeddings", embeddings),
        ("POST", "/moderations", moderations),
        ("POST", "/images/generations", image_generations),
        ("POST", "/images/edits", image_edits),
        ("POST", "/images/variations", image_variations),
        ("POST", "/audio/transcriptions", audio_transcriptions),
        ("POST", "/audio/translations", audio_translations),
        ("GET", "/files", files_list),
        ("POST", "/files", files_create),
        ("GET", "/files/([^/]+)", files_retrieve),
        ("DELETE", "/files/([^/]+)", files_delete),
        ("GET", "/files/([^/]+)/content", files_content),
        ("GET", "/models", models_list),
        ("GET", "/models/(.+)", models_retrieve),
        ("DELETE", "/models/(.+)", models_delete),
        ("POST", "/fine_tuning/jobs", jobs_create),
        ("GET", "/fine_tuning/jobs", jobs_list),
        ("GET", "/fine_tuning/jobs/([^/]+)", jobs_retrieve),
        ("POST", "/fine_tuning/jobs/([^/]+)/cancel", jobs_cancel),
        ("GET", "/fine_tuning/jobs/([^/]+)/events", jobs_events),
    ]
]


# ---------------------------------------------------------------------------
# Dispatch


def _check_failures(req: RecordedRequest, path_args: Tuple[str, ...]) -> None:
    """Raise the ApiError a request asks for (bad key, trigger text, missing model)."""
    if req.auth == "sk-bad":
        raise ApiError(401, "Incorrect API key provided: sk-bad.", code="invalid_api_key")
    text = json.dumps(req.body) if req.body is not None else ""
    for trigger, make_error in TRIGGERS.items():
        if trigger in text:
            raise make_error()
    model = req.body.get("model") if isinstance(req.body, dict) else None
    if model == "missing-model" or "missing-model" in path_args:
        raise ApiError(404, "The model `missing-model` does not exist.", code="model_not_found",
                       param="model")


def dispatch(server: "FakeOpenAIServer", req: RecordedRequest) -> Reply:
    for method, pattern, handler in ROUTES:
        match = pattern.match(req.path)
        if match and method == req.method:
            try:
                _check_failures(req, match.groups())
                return handler(server, req, *match.groups())
            except ApiError as error:
                return error.reply()
    return ApiError(404, f"Invalid URL ({req.method} {req.path})").reply()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_HTTPServer"

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        if self.server.owner.verbose:
            sys.stderr.write(f"[fake-openai] {format % args}\n")

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _record(self) -> RecordedRequest:
        # Not urlsplit: it reads a "//openai/..." path as a host name (http.server
        # reduces a leading "//" to "/" only in recent Python releases).
        path, _, query_string = self.path.partition("?")
        query = {k: v[0] if len(v) == 1 else v
                 for k, v in parse_qs(query_string.partition("#")[0], keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        body, uploads = parse_body(self._read_body(), headers.get("content-type", ""))
        return RecordedRequest(self.command, unquote(path), query, headers, body, uploads=uploads)

    def _handle(self) -> None:
        owner = self.server.owner
        req = self._record()
        try:
            reply = dispatch(owner, req)
        except Exception as exc:  # a bug in the fake: answer 500, keep serving
            reply = Reply.json({"error": {"message": f"fake server bug: {exc!r}", "type": "fake_bug",
                                          "param": None, "code": None}}, 500,
                               {"x-should-retry": "false"})
        req.status = reply.status
        owner._append(req)
        self._send(reply, req)

    def _send(self, reply: Reply, req: RecordedRequest) -> None:
        self.send_response(reply.status, HTTPStatus(reply.status).phrase)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("x-request-id", f"req_{_digest(req.canonical(), 16)}")
        self.send_header("openai-processing-ms", "1")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: "FakeOpenAIServer"


@dataclass
class _State:
    """Mutable server state (uploaded files, fine-tuning jobs), reset per run."""

    files: Dict[str, Tuple[Dict[str, Any], bytes]] = field(default_factory=dict)
    jobs: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def seeded(cls) -> "_State":
        state = cls()
        seed = {"id": SEED_FILE_ID, "object": "file", "bytes": 36, "created_at": CREATED,
                "filename": "seed.jsonl", "purpose": "fine-tune", "status": "processed",
                "status_details": None}
        state.files[SEED_FILE_ID] = (seed, b'{"prompt": "seed", "completion": "ok"}\n')
        state.jobs[SEED_JOB_ID] = _job(SEED_JOB_ID, {"model": "gpt-3.5-turbo", "training_file": SEED_FILE_ID})
        return state


class FakeOpenAIServer:
    """The fake API on 127.0.0.1, as a context manager.

    ``base_url`` is ``http://127.0.0.1:PORT/v1`` (no trailing slash: what
    0.28's ``api_base`` wants; 1.x adds the slash itself for ``base_url=``).
    """

    def __init__(self, port: int = 0, verbose: bool = False):
        self.verbose = verbose
        self._lock = threading.Lock()
        self._requests: List[RecordedRequest] = []
        self.state = _State.seeded()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT/``: an Azure endpoint as the portal shows it (trailing slash)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def requests(self) -> List[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def _append(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def reset(self) -> None:
        """Forget recorded requests and restore the seeded state."""
        with self._lock:
            self._requests.clear()
            self.state = _State.seeded()

    def canonical_requests(self, requests: Optional[Iterable[RecordedRequest]] = None) -> List[Dict[str, Any]]:
        return canonicalize(self.requests if requests is None else requests)

    def start(self) -> "FakeOpenAIServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def main(argv: Optional[List[str]] = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Run the fake OpenAI API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with FakeOpenAIServer(port=args.port, verbose=True) as server:
        print(f"fake OpenAI API at {server.base_url} (Azure endpoint {server.root_url})", flush=True)
        print(f"  export OPENAI_API_BASE={server.base_url} OPENAI_BASE_URL={server.base_url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
