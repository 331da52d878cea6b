"""The 0.28 -> 1.x API map, as data. The rules read it; they hold no API knowledge of their own.

Facts come from ../shared/api-map.md (checked against openai 0.28.1, 1.3.0, 1.109.1 and 3.x).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class MethodMap:
    """Where a 0.28 resource classmethod lives on a 1.x client."""

    resource: Tuple[str, ...]  # attribute path on the client, e.g. ("chat", "completions")
    method: str  # 1.x method name
    is_async: bool = False
    # 0.28 positional parameters, in order, turned into these 1.x keywords.
    positional: Tuple[str, ...] = ()


def _sync_and_async(resource: Tuple[str, ...], old: str, new: str, positional: Tuple[str, ...] = ()):
    return {
        old: MethodMap(resource, new, False, positional),
        "a" + old: MethodMap(resource, new, True, positional),
    }


# openai.<Class>.<method> -> client.<resource path>.<method>
RESOURCE_METHODS: Dict[str, Dict[str, MethodMap]] = {
    "ChatCompletion": _sync_and_async(("chat", "completions"), "create", "create"),
    "Completion": _sync_and_async(("completions",), "create", "create"),
    "Embedding": _sync_and_async(("embeddings",), "create", "create"),
}

# Methods whose result is a streamed iterator when called with stream=True.
STREAMING_METHODS = {("chat", "completions", "create"), ("completions", "create")}

# 0.28 resource classes with no 1.x counterpart, or not migrated automatically yet:
# the value says what to do by hand.
UNMIGRATED_RESOURCES: Dict[str, str] = {
    "Edit": "the Edits API was removed from openai 1.x; rewrite the call as a "
    "client.chat.completions.create request that asks for the edit",
    "Engine": "engines were removed; use client.models.list() / client.models.retrieve(id)",
    "Customer": "no 1.x equivalent; call client.post(...) with the endpoint path if you still need it",
    "Deployment": "Azure deployment management is not part of openai 1.x; use the Azure management SDK",
    "FineTune": "the legacy fine-tunes API was removed; use client.fine_tuning.jobs",
    "ErrorObject": "error details are now attributes of the exception (e.code, e.param, e.type, e.body)",
    "Image": "not migrated automatically yet: Image.create -> client.images.generate, create_edit -> "
    "client.images.edit, create_variation -> client.images.create_variation (keyword arguments only)",
    "Audio": "not migrated automatically yet: Audio.transcribe(model, file) -> "
    "client.audio.transcriptions.create(model=..., file=...), translate -> client.audio.translations.create",
    "Moderation": "not migrated automatically yet: Moderation.create(input) -> client.moderations.create(input=...)",
    "File": "not migrated automatically yet: File.create/list/retrieve/delete -> client.files.*, "
    "File.download(id) -> client.files.content(id).content",
    "FineTuningJob": "not migrated automatically yet: FineTuningJob.* -> client.fine_tuning.jobs.*",
    "Model": "not migrated automatically yet: Model.list/retrieve/delete -> client.models.*",
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
    "request_id": "pass extra_headers={'X-Request-Id': ...} instead of request_id",
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
    "api_type": "Azure: create AzureOpenAI(azure_endpoint=..., api_version=..., api_key=...) instead of OpenAI()",
    "api_version": "Azure: pass api_version=... to AzureOpenAI(...)",
    "api_key_path": "read the key file yourself and pass api_key=... to OpenAI(...)",
    "proxy": "pass http_client=openai.DefaultHttpxClient(proxy=...) to OpenAI(...)",
    "requestssession": "requests sessions are not supported; pass http_client=openai.DefaultHttpxClient(...)",
    "aiosession": "pass http_client=openai.DefaultAsyncHttpxClient(...) to AsyncOpenAI(...)",
    "debug": "pass default_headers={'OpenAI-Debug': 'true'} to OpenAI(...) if you relied on it",
    "log": "set the OPENAI_LOG environment variable or configure logging.getLogger('openai')",
    "app_info": "pass default_headers={'User-Agent': ...} to OpenAI(...) if you relied on it",
}


@dataclass(frozen=True)
class ErrorMap:
    """What ``except openai.error.<Name>`` becomes. Several names mean a tuple of classes."""

    names: Tuple[str, ...]
    note: Optional[str] = None  # a TODO to leave where no faithful mapping exists


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
