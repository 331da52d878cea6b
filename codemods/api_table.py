"""The 0.28 -> 1.x API map, as data. The rules read it; they hold no API knowledge of their own.

Facts come from ../shared/api-map.md (checked against openai 0.28.1, 1.3.0, 1.109.1 and 3.x).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class MethodMap:
    """Where a 0.28 resource classmethod lives on a 1.x client, and how its arguments move."""

    resource: Tuple[str, ...]  # attribute path on the client, e.g. ("chat", "completions")
    method: str  # 1.x method name
    is_async: bool = False
    # 0.28 positional parameters, in order, with their 1.x keyword names.
    positional: Tuple[str, ...] = ()
    # how many leading positional arguments stay positional in 1.x (resource ids)
    keep_positional: int = 0
    # 0.28 keyword -> 1.x keyword (e.g. id -> file_id)
    renames: Tuple[Tuple[str, str], ...] = ()
    # read this attribute of the 1.x result to get what the 0.28 call returned (File.download -> .content)
    result_attr: Optional[str] = None
    # *_raw audio methods: (model, data, filename) -> file=(filename, data)
    raw_file: bool = False
    # chat/completions/embeddings/edits popped the request options; other resources sent them on
    # to the server: "body" (JSON), "query" (GET) or "form" (multipart)
    options_sent_as: Optional[str] = None


def _both(resource: Tuple[str, ...], old: str, new: str, **extra) -> Dict[str, MethodMap]:
    """A 0.28 method and its ``a``-prefixed async twin."""
    return {
        old: MethodMap(resource, new, False, **extra),
        "a" + old: MethodMap(resource, new, True, **extra),
    }


def _merge(*tables: Dict[str, MethodMap]) -> Dict[str, MethodMap]:
    merged: Dict[str, MethodMap] = {}
    for table in tables:
        merged.update(table)
    return merged


_FILES = ("files",)
_JOBS = ("fine_tuning", "jobs")
_MODELS = ("models",)

# openai.<Class>.<method> -> client.<resource path>.<method>
RESOURCE_METHODS: Dict[str, Dict[str, MethodMap]] = {
    "ChatCompletion": _both(("chat", "completions"), "create", "create"),
    "Completion": _both(("completions",), "create", "create"),
    "Embedding": _both(("embeddings",), "create", "create"),
    "Image": _merge(
        _both(("images",), "create", "generate", options_sent_as="body"),
        _both(("images",), "create_variation", "create_variation", positional=("image",), options_sent_as="form"),
        _both(("images",), "create_edit", "edit", positional=("image", "mask"), options_sent_as="form"),
    ),
    "Audio": _merge(
        _both(("audio", "transcriptions"), "transcribe", "create", positional=("model", "file"), options_sent_as="form"),
        _both(("audio", "translations"), "translate", "create", positional=("model", "file"), options_sent_as="form"),
        _both(("audio", "transcriptions"), "transcribe_raw", "create", positional=("model", "file", "filename"),
              raw_file=True, options_sent_as="form"),
        _both(("audio", "translations"), "translate_raw", "create", positional=("model", "file", "filename"),
              raw_file=True, options_sent_as="form"),
    ),
    "Moderation": _both(("moderations",), "create", "create", positional=("input", "model")),
    "Model": _merge(
        _both(_MODELS, "list", "list", options_sent_as="query"),
        {"auto_paging_iter": MethodMap(_MODELS, "list", options_sent_as="query")},
        _both(_MODELS, "retrieve", "retrieve", positional=("model",), keep_positional=1, renames=(("id", "model"),),
              options_sent_as="query"),
        _both(_MODELS, "delete", "delete", positional=("model",), keep_positional=1, renames=(("sid", "model"),),
              options_sent_as="query"),
    ),
    "File": _merge(
        _both(_FILES, "create", "create", positional=("file", "purpose")),
        _both(_FILES, "list", "list", options_sent_as="query"),
        {"auto_paging_iter": MethodMap(_FILES, "list", options_sent_as="query")},
        _both(_FILES, "retrieve", "retrieve", positional=("file_id",), keep_positional=1, renames=(("id", "file_id"),),
              options_sent_as="query"),
        _both(_FILES, "delete", "delete", positional=("file_id",), keep_positional=1, renames=(("sid", "file_id"),),
              options_sent_as="query"),
        _both(_FILES, "download", "content", positional=("file_id",), keep_positional=1, renames=(("id", "file_id"),),
              result_attr="content"),
        {"wait_for_processing": MethodMap(_FILES, "wait_for_processing", positional=("id", "max_wait_seconds"),
                                          keep_positional=1)},
    ),
    "FineTuningJob": _merge(
        _both(_JOBS, "create", "create", options_sent_as="body"),
        _both(_JOBS, "list", "list", options_sent_as="query"),
        {"auto_paging_iter": MethodMap(_JOBS, "list", options_sent_as="query")},
        _both(_JOBS, "retrieve", "retrieve", positional=("fine_tuning_job_id",), keep_positional=1,
              renames=(("id", "fine_tuning_job_id"),), options_sent_as="query"),
        _both(_JOBS, "cancel", "cancel", positional=("fine_tuning_job_id",), keep_positional=1,
              renames=(("id", "fine_tuning_job_id"),), options_sent_as="body"),
        _both(_JOBS, "list_events", "list_events", positional=("fine_tuning_job_id", "limit", "after"),
              keep_positional=1, renames=(("id", "fine_tuning_job_id"),), options_sent_as="query"),
    ),
}

# Methods whose 1.x result is a page: iterating it yields the items (all pages), as 0.28's
# auto_paging_iter() did.
PAGED_METHODS = {("models", "list"), ("files", "list"), ("fine_tuning", "jobs", "list"),
                 ("fine_tuning", "jobs", "list_events")}
# Methods whose result is a streamed iterator when called with stream=True.
STREAMING_METHODS = {("chat", "completions", "create"), ("completions", "create")}

# Resource methods that exist in 0.28 but have no 1.x counterpart: what to do instead.
UNMIGRATED_METHODS: Dict[Tuple[str, str], str] = {
    ("File", "find_matching_files"): "no 1.x equivalent: filter client.files.list() by filename, size and purpose",
    ("File", "afind_matching_files"): "no 1.x equivalent: filter client.files.list() by filename, size and purpose",
    ("FineTuningJob", "delete"): "the API has no endpoint to delete a fine-tuning job; cancel it with "
                                 "client.fine_tuning.jobs.cancel(id)",
    ("FineTuningJob", "adelete"): "the API has no endpoint to delete a fine-tuning job; cancel it with "
                                  "client.fine_tuning.jobs.cancel(id)",
}

# 0.28 resource classes with no 1.x counterpart: the value says what to do by hand.
UNMIGRATED_RESOURCES: Dict[str, str] = {
    "Edit": "the Edits API was removed from openai 1.x; rewrite the call as a "
    "client.chat.completions.create request that asks for the edit",
    "Engine": "engines were removed; use client.models.list() / client.models.retrieve(id)",
    "Customer": "no 1.x equivalent; call client.post(...) with the endpoint path if you still need it",
    "Deployment": "Azure deployment management is not part of openai 1.x; use the Azure management SDK",
    "FineTune": "the legacy fine-tunes API was removed; use client.fine_tuning.jobs",
    "ErrorObject": "error details are now attributes of the exception (e.code, e.param, e.type, e.body)",
}

# Other 0.28 module attributes with no 1.x counterpart.
UNMIGRATED_MODULE_ATTRIBUTES: Dict[str, str] = {
    "util": "openai.util is gone; responses are pydantic models: use .model_dump() instead of convert_to_dict",
    "embeddings_utils": "openai.embeddings_utils is gone: get_embedding(text, model) is "
    "client.embeddings.create(input=[text], model=model).data[0].embedding, and cosine_similarity(a, b) is "
    "numpy.dot(a, b) / (numpy.linalg.norm(a) * numpy.linalg.norm(b))",
    "wandb_logger": "openai.wandb_logger is gone; the W&B integration now lives in the wandb package "
    "(wandb.integration.openai)",
    "cli": "the openai 0.28 command-line tool is gone; call the client API directly",
    "openai_object": "OpenAIObject is gone; responses are pydantic models (openai.BaseModel): use attributes "
    "and .model_dump()",
    "OpenAIObject": "OpenAIObject is gone; responses are pydantic models (openai.BaseModel): use attributes "
    "and .model_dump()",
    "api_requestor": "openai.api_requestor is gone; use client.get/post(...) or the resource methods",
    "api_resources": "openai.api_resources is gone; use the client resources (client.chat.completions, ...)",
}

# Resources whose 0.28 class popped the request options (request_timeout, headers...) instead of
# sending them to the server.
ENGINE_RESOURCES = {("chat", "completions"), ("completions",), ("embeddings",)}
# Request options that other 0.28 resources passed through to the server as request parameters.
LEAKED_OPTIONS = ("request_timeout", "timeout", "headers")

# 1.x resource classes, for test doubles: patch.object(<class>, "<method>"); async: Async<class>.
RESOURCE_CLASSES: Dict[Tuple[str, ...], str] = {
    ("chat", "completions"): "openai.resources.chat.{}Completions",
    ("completions",): "openai.resources.{}Completions",
    ("embeddings",): "openai.resources.{}Embeddings",
    ("images",): "openai.resources.{}Images",
    ("audio", "transcriptions"): "openai.resources.audio.{}Transcriptions",
    ("audio", "translations"): "openai.resources.audio.{}Translations",
    ("moderations",): "openai.resources.{}Moderations",
    ("models",): "openai.resources.{}Models",
    ("files",): "openai.resources.{}Files",
    ("fine_tuning", "jobs"): "openai.resources.fine_tuning.{}Jobs",
}

# Per-call keyword arguments of 0.28 create() and what they become in 1.x.
KWARG_RENAMES: Dict[str, str] = {
    "request_timeout": "timeout",
    "headers": "extra_headers",
}
# Per-call credentials: move to client.with_options(<new name>=...).
KWARG_CLIENT_OPTIONS: Dict[str, str] = {
    "api_key": "api_key",
    "organization": "organization",
    "api_base": "base_url",
}
# The engine / deployment selects the model for the OpenAI API type.
KWARG_MODEL_ALIASES = ("engine", "deployment_id")
# Per-call options with no 1.x equivalent on the OpenAI client: the value says what to do.
KWARG_UNSUPPORTED: Dict[str, str] = {
    "api_type": "per-call api_type has no 1.x equivalent; use a separate AzureOpenAI client",
    "api_version": "per-call api_version has no 1.x equivalent; use a separate AzureOpenAI client",
    "user_provided_filename": "pass the file name with the file: file=(filename, fileobj)",
}
# Per-call options dropped with a note.
KWARG_DROPPED: Dict[str, str] = {
    "request_id": "request_id= was dropped (0.28 sent it as the X-Request-Id header); "
    "pass extra_headers={'X-Request-Id': ...} if the server needs it",
}

# openai.<name> = value at module level -> OpenAI(<kwarg>=value)
CONFIG_TO_CLIENT_KWARG: Dict[str, str] = {
    "api_key": "api_key",
    "organization": "organization",
    "api_base": "base_url",
}
# Module settings that 1.x keeps as module attributes read by its module-level client.
CONFIG_MODULE_ATTRIBUTE: Dict[str, str] = {
    "api_key": "api_key",
    "organization": "organization",
    "api_base": "base_url",
}
# Module attributes that exist only in 0.28: a file using any of them is 0.28 code.
LEGACY_ONLY_MODULE_ATTRIBUTES = ("error", "InvalidRequestError", "api_base", "api_key_path", "proxy",
                                 "requestssession", "aiosession", "verify_ssl_certs", "ca_bundle_path",
                                 "enable_telemetry", "debug", "log", "app_info", "util", "openai_object",
                                 "api_resources", "embeddings_utils", "wandb_logger", "OpenAIObject")
# Settings that are dropped because 0.28 itself ignored them.
CONFIG_NOOPS = ("verify_ssl_certs", "ca_bundle_path", "enable_telemetry")
# Settings with no automatic migration: what to do by hand.
CONFIG_MANUAL: Dict[str, str] = {
    "api_type": "OpenAI(...) clients do not read it: for Azure create AzureOpenAI(azure_endpoint=..., "
    "api_version=..., api_key=...) instead",
    "api_version": "OpenAI(...) clients do not read it: for Azure pass api_version=... to AzureOpenAI(...)",
    "api_key_path": "not read by openai 1.x: read the key file yourself and pass api_key=... to OpenAI(...)",
    "proxy": "not read by openai 1.x: pass http_client=openai.DefaultHttpxClient(proxy=...) to OpenAI(...)",
    "requestssession": "not read by openai 1.x, and requests sessions are not supported: pass "
    "http_client=openai.DefaultHttpxClient(...)",
    "aiosession": "not read by openai 1.x: pass http_client=openai.DefaultAsyncHttpxClient(...) to AsyncOpenAI(...)",
    "debug": "not read by openai 1.x: pass default_headers={'OpenAI-Debug': 'true'} to OpenAI(...) if you relied on it",
    "log": "not read by openai 1.x: set the OPENAI_LOG environment variable or configure logging.getLogger('openai')",
    "app_info": "not read by openai 1.x: pass default_headers={'User-Agent': ...} to OpenAI(...) if you relied on it",
}


@dataclass(frozen=True)
class ErrorMap:
    """What ``except openai.error.<Name>`` becomes. Several names mean a tuple of classes."""

    names: Tuple[str, ...]
    note: Optional[str] = None  # a TODO to leave where no faithful mapping exists


# 0.28 errors raised for an HTTP status (1.x: APIStatusError subclasses, with .status_code/.response).
STATUS_ERRORS = ("InvalidRequestError", "AuthenticationError", "PermissionError", "RateLimitError",
                 "ServiceUnavailableError", "TryAgain", "APIError")
# Attributes of a caught 0.28 error -> the 1.x spelling (None: no faithful equivalent, TODO says what to use).
ERROR_ATTRIBUTES: Dict[str, Optional[str]] = {
    "http_status": "status_code",
    "headers": "response.headers",
    "user_message": None,
    "json_body": None,
    "http_body": None,
    "error": None,
}
ERROR_ATTRIBUTE_NOTES: Dict[str, str] = {
    "user_message": "e.user_message is gone: the server's message is e.body['message'] (e.message adds "
    "'Error code: N - ')",
    "json_body": "e.json_body is gone: e.body holds the error object ({'message', 'type', 'param', 'code'}), "
    "without the outer {'error': ...}",
    "http_body": "e.http_body is gone: use e.response.text",
    "error": "e.error is gone: use e.body, e.code, e.param and e.type",
}

# openai.error.<Name> (0.28) -> openai.<Name> (1.x). Status-code mapping per api-map.md §3.
ERRORS: Dict[str, ErrorMap] = {
    "OpenAIError": ErrorMap(("OpenAIError",)),
    # 0.28 APIError meant 5xx (except 503) and 422; 1.x APIError is the base of every error.
    "APIError": ErrorMap(("InternalServerError", "UnprocessableEntityError")),
    "TryAgain": ErrorMap(("ConflictError",)),
    "Timeout": ErrorMap(("APITimeoutError",)),
    "APIConnectionError": ErrorMap(("APIConnectionError",)),
    # 400 -> BadRequestError, 404 -> NotFoundError
    "InvalidRequestError": ErrorMap(("BadRequestError", "NotFoundError")),
    "AuthenticationError": ErrorMap(("AuthenticationError",)),
    "PermissionError": ErrorMap(("PermissionDeniedError",)),
    "RateLimitError": ErrorMap(("RateLimitError",)),
    "ServiceUnavailableError": ErrorMap(("InternalServerError",)),
    "InvalidAPIType": ErrorMap((), "openai 1.x has no InvalidAPIType; an unknown api_type is not an error any more"),
    "SignatureVerificationError": ErrorMap((), "openai 1.x has no SignatureVerificationError (0.28 never raised it)"),
}
