"""Google Gemini through the `google.genai` SDK: `generate_content` and
`generate_content_stream`, sync and `aio`.

With automatic function calling the SDK runs the agent's Python functions itself; those calls
are read from the response's `automatic_function_calling_history` (their durations are unknown,
so they are left unset rather than guessed).
"""

from .._patch import getv, llm_method, patch
from ._common import plain, usage_int


def _tool_names(config):
    names = []
    for tool in getv(config, "tools") or ():
        if callable(tool) and not hasattr(tool, "function_declarations"):
            names.append(getattr(tool, "__name__", "function"))
            continue
        for decl in getv(tool, "function_declarations") or ():
            if getv(decl, "name"):
                names.append(getv(decl, "name"))
    return names


def _parts(contents):
    if contents is None or isinstance(contents, str):
        return
    if not isinstance(contents, (list, tuple)):
        contents = [contents]
    for c in contents:
        for part in getv(c, "parts") or ():
            yield part


def _usage(u):
    if u is None:
        return {}
    thoughts = usage_int(u, "thoughts_token_count")
    return {
        "input_tokens": usage_int(u, "prompt_token_count"),
        # Thinking is billed as output; Proctor's output_tokens includes it.
        "output_tokens": usage_int(u, "candidates_token_count") + thoughts,
        "cache_read_tokens": usage_int(u, "cached_content_token_count"),
        "reasoning_tokens": thoughts,
    }


def _calls(resp):
    out = []
    for cand in getv(resp, "candidates") or ():
        for part in getv(getv(cand, "content"), "parts") or ():
            fc = getv(part, "function_call")
            if fc is not None:
                out.append((getv(fc, "id"), getv(fc, "name"), plain(getv(fc, "args")) or {}))
    return out


class GenerateSpec:
    provider = "gemini"

    @staticmethod
    def request(kwargs):
        results = []
        for part in _parts(kwargs.get("contents")):
            fr = getv(part, "function_response")
            if fr is not None:
                results.append((getv(fr, "id"), getv(fr, "name"), plain(getv(fr, "response")), False))
        model = kwargs.get("model")
        if isinstance(model, str) and model.startswith("models/"):
            model = model[len("models/"):]
        return model, _tool_names(kwargs.get("config")), results

    @staticmethod
    def response(resp):
        return _usage(getv(resp, "usage_metadata")), _automatic_calls(resp) + _calls(resp), getv(resp, "model_version")

    @staticmethod
    def accumulator():
        return _GenerateStream()


def _automatic_calls(resp):
    """Tool calls the SDK ran itself, as (id, name, args) — results are attached later."""
    history = getv(resp, "automatic_function_calling_history") or ()
    return [call for content in history for call in _calls({"candidates": [{"content": content}]})]


def _after(case, resp):
    """Attaches the results of the calls the SDK ran itself."""
    results = []
    for content in getv(resp, "automatic_function_calling_history") or ():
        for part in getv(content, "parts") or ():
            fr = getv(part, "function_response")
            if fr is not None:
                results.append((getv(fr, "id"), getv(fr, "name"), plain(getv(fr, "response")), False))
    if results:
        case.tool_results_seen(results, infer_duration=False)


GenerateSpec.after = staticmethod(_after)


class _GenerateStream:
    __slots__ = ("usage", "model", "calls")

    def __init__(self):
        self.usage = {}
        self.model = None
        self.calls = []

    def feed(self, chunk, _hide):
        u = getv(chunk, "usage_metadata")
        if u is not None:
            self.usage = _usage(u)
        self.model = getv(chunk, "model_version") or self.model
        self.calls.extend(_calls(chunk))
        return True

    def result(self):
        return self.usage, self.calls, self.model


def install(module):
    from google.genai import models

    patch(models.Models, "generate_content", llm_method(GenerateSpec, False))
    patch(models.AsyncModels, "generate_content", llm_method(GenerateSpec, True))
    patch(models.Models, "generate_content_stream", llm_method(GenerateSpec, False, stream_kind="generator"))
    patch(models.AsyncModels, "generate_content_stream", llm_method(GenerateSpec, True, stream_kind="generator"))
