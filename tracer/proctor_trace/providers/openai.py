"""OpenAI: Chat Completions (`create`, `parse`, `stream`) and the Responses API, sync and async.

`chat.completions.stream()` and `responses.stream()` call `create(stream=True)` underneath, so
patching `create` covers them; `parse` posts directly and is patched on its own.
"""

from .._patch import getv, llm_method, patch
from ._common import parse_json, plain, result_value, usage_int


def _tool_names(tools):
    names = []
    for t in tools or ():
        fn = getv(t, "function")
        name = getv(fn, "name") if fn is not None else getv(t, "name")
        if name:
            names.append(name)
    return names


class ChatSpec:
    provider = "openai"

    @staticmethod
    def request(kwargs):
        results = []
        for m in kwargs.get("messages") or ():
            if getv(m, "role") == "tool":
                results.append((getv(m, "tool_call_id"), None, result_value(getv(m, "content")), False))
        return kwargs.get("model"), _tool_names(kwargs.get("tools")), results

    @staticmethod
    def prepare(kwargs):
        """Asks for usage in the stream; True when the agent did not, so the usage-only chunk
        must be hidden from it."""
        opts = kwargs.get("stream_options")
        if isinstance(opts, dict) and opts.get("include_usage"):
            return False
        merged = dict(opts) if isinstance(opts, dict) else {}
        merged["include_usage"] = True
        kwargs["stream_options"] = merged
        return True

    @staticmethod
    def response(resp):
        usage = _chat_usage(getv(resp, "usage"))
        chosen = []
        for choice in getv(resp, "choices") or ():
            for tc in getv(getv(choice, "message"), "tool_calls") or ():
                fn = getv(tc, "function")
                chosen.append((getv(tc, "id"), getv(fn, "name"), parse_json(getv(fn, "arguments"))))
        return usage, chosen, getv(resp, "model")

    @staticmethod
    def accumulator():
        return _ChatStream()


def _chat_usage(u):
    if u is None:
        return {}
    return {
        "input_tokens": usage_int(u, "prompt_tokens"),
        "output_tokens": usage_int(u, "completion_tokens"),
        "cache_read_tokens": usage_int(getv(u, "prompt_tokens_details"), "cached_tokens"),
        "reasoning_tokens": usage_int(getv(u, "completion_tokens_details"), "reasoning_tokens"),
    }


class _ChatStream:
    __slots__ = ("usage", "model", "calls")

    def __init__(self):
        self.usage = {}
        self.model = None
        self.calls = {}

    def feed(self, chunk, hide_usage_chunk):
        self.model = getv(chunk, "model") or self.model
        choices = getv(chunk, "choices") or ()
        for choice in choices:
            for tc in getv(getv(choice, "delta"), "tool_calls") or ():
                slot = self.calls.setdefault(getv(tc, "index", 0), {"id": None, "name": "", "args": ""})
                slot["id"] = getv(tc, "id") or slot["id"]
                fn = getv(tc, "function")
                slot["name"] += getv(fn, "name") or ""
                slot["args"] += getv(fn, "arguments") or ""
        u = getv(chunk, "usage")
        if u is not None:
            self.usage = _chat_usage(u)
            if not choices and hide_usage_chunk:
                return False
        return True

    def result(self):
        chosen = [(c["id"], c["name"], parse_json(c["args"])) for _, c in sorted(self.calls.items())]
        return self.usage, chosen, self.model


class ResponsesSpec:
    provider = "openai"

    @staticmethod
    def request(kwargs):
        results = []
        items = kwargs.get("input")
        if isinstance(items, (list, tuple)):
            for item in items:
                if getv(item, "type") == "function_call_output":
                    results.append((getv(item, "call_id"), None, result_value(getv(item, "output")), False))
        return kwargs.get("model"), _tool_names(kwargs.get("tools")), results

    @staticmethod
    def response(resp):
        u = getv(resp, "usage")
        usage = {}
        if u is not None:
            usage = {
                "input_tokens": usage_int(u, "input_tokens"),
                "output_tokens": usage_int(u, "output_tokens"),
                "cache_read_tokens": usage_int(getv(u, "input_tokens_details"), "cached_tokens"),
                "reasoning_tokens": usage_int(getv(u, "output_tokens_details"), "reasoning_tokens"),
            }
        chosen = [
            (getv(item, "call_id"), getv(item, "name"), parse_json(getv(item, "arguments")))
            for item in getv(resp, "output") or ()
            if getv(item, "type") == "function_call"
        ]
        return usage, chosen, getv(resp, "model")

    @staticmethod
    def accumulator():
        return _ResponsesStream()


class _ResponsesStream:
    __slots__ = ("final", "items", "model")

    def __init__(self):
        self.final = None
        self.items = []
        self.model = None

    def feed(self, event, _hide):
        kind = getv(event, "type")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = getv(event, "response")
        elif kind == "response.created":
            self.model = getv(getv(event, "response"), "model")
        elif kind == "response.output_item.done":
            self.items.append(getv(event, "item"))
        return True

    def result(self):
        if self.final is not None:
            return ResponsesSpec.response(self.final)
        chosen = [
            (getv(i, "call_id"), getv(i, "name"), parse_json(getv(i, "arguments")))
            for i in self.items
            if getv(i, "type") == "function_call"
        ]
        return {}, chosen, self.model


def install(module):
    """Patches the OpenAI resource classes; `module` is the imported `openai` package."""
    from openai.resources.chat.completions import completions as chat
    from openai.resources.responses import responses

    for cls, is_async in ((chat.Completions, False), (chat.AsyncCompletions, True)):
        patch(cls, "create", llm_method(ChatSpec, is_async))
        patch(cls, "parse", llm_method(ChatSpec, is_async))
    for cls, is_async in ((responses.Responses, False), (responses.AsyncResponses, True)):
        patch(cls, "create", llm_method(ResponsesSpec, is_async))
        patch(cls, "parse", llm_method(ResponsesSpec, is_async))
