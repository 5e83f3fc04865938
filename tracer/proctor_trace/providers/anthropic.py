"""Anthropic: Messages `create` (streaming or not) and `stream()`, sync and async.

`messages.stream()` posts directly rather than through `create`, and returns a context manager
that makes its request on entry; the request it holds is wrapped so timing starts when the
request does and the raw event stream is observed like `create(stream=True)`'s.
"""

import functools
import json

from .._patch import _begin, _safe_failed, fault, getv, instrument_stream, llm_method, patch
from ._common import plain, result_value, usage_int


def _usage(u):
    if u is None:
        return {}
    cache_read = usage_int(u, "cache_read_input_tokens")
    cache_write = usage_int(u, "cache_creation_input_tokens")
    return {
        # Anthropic counts cached prompt tokens apart; Proctor's input_tokens includes them.
        "input_tokens": usage_int(u, "input_tokens") + cache_read + cache_write,
        "output_tokens": usage_int(u, "output_tokens"),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
    }


class MessagesSpec:
    provider = "anthropic"

    @staticmethod
    def request(kwargs):
        results = []
        for m in kwargs.get("messages") or ():
            content = getv(m, "content")
            if getv(m, "role") != "user" or isinstance(content, str):
                continue
            for block in content or ():
                if getv(block, "type") == "tool_result":
                    results.append((getv(block, "tool_use_id"), None, result_value(getv(block, "content")), bool(getv(block, "is_error"))))
        tools = [getv(t, "name") for t in kwargs.get("tools") or () if getv(t, "name")]
        return kwargs.get("model"), tools, results

    @staticmethod
    def response(resp):
        chosen = [
            (getv(b, "id"), getv(b, "name"), plain(getv(b, "input")))
            for b in getv(resp, "content") or ()
            if getv(b, "type") == "tool_use"
        ]
        return _usage(getv(resp, "usage")), chosen, getv(resp, "model")

    @staticmethod
    def accumulator():
        return _MessagesStream()


class _MessagesStream:
    __slots__ = ("usage", "model", "blocks")

    def __init__(self):
        self.usage = {}
        self.model = None
        self.blocks = {}

    def feed(self, event, _hide):

        kind = getv(event, "type")
        if kind == "message_start":
            message = getv(event, "message")
            self.model = getv(message, "model")
            self.usage = _usage(getv(message, "usage"))
        elif kind == "content_block_start":
            block = getv(event, "content_block")
            if getv(block, "type") == "tool_use":
                self.blocks[getv(event, "index")] = [getv(block, "id"), getv(block, "name"), ""]
        elif kind == "content_block_delta":
            delta = getv(event, "delta")
            slot = self.blocks.get(getv(event, "index"))
            if slot is not None and getv(delta, "type") == "input_json_delta":
                slot[2] += getv(delta, "partial_json") or ""
        elif kind == "message_delta":
            u = getv(event, "usage")
            if u is not None:
                self.usage["output_tokens"] = usage_int(u, "output_tokens")
        return True

    def result(self):
        chosen = []
        for _, (call_id, name, text) in sorted(self.blocks.items()):
            try:
                args = json.loads(text) if text else {}
            except ValueError:
                args = text
            chosen.append((call_id, name, args))
        return self.usage, chosen, self.model


def _wrap_stream_method(is_async):
    """`messages.stream(...)`: returns the manager unchanged, with its pending request wrapped."""

    def make(original):
        @functools.wraps(original)
        def wrapper(self, *args, **kwargs):
            manager = original(self, *args, **kwargs)
            try:
                attr = "_AsyncMessageStreamManager__api_request" if is_async else "_MessageStreamManager__api_request"
                request = getattr(manager, attr)
                setattr(manager, attr, _observed_async(request, kwargs) if is_async else _observed_sync(request, kwargs))
            except Exception as exc:
                fault("anthropic stream", exc)
            return manager
        return wrapper

    return make


def _observed_sync(request, kwargs):
    def run():
        call = _begin(MessagesSpec, kwargs)
        if call is None:
            return request()
        try:
            raw = request()
        except BaseException as exc:
            _safe_failed(call, exc)
            raise
        try:
            return instrument_stream(raw, call, is_async=False)
        except Exception as exc:
            fault("anthropic stream", exc)
            return raw
    return run


async def _observed_async(request, kwargs):
    call = _begin(MessagesSpec, kwargs)
    if call is None:
        return await request
    try:
        raw = await request
    except BaseException as exc:
        _safe_failed(call, exc)
        raise
    try:
        return instrument_stream(raw, call, is_async=True)
    except Exception as exc:
        fault("anthropic stream", exc)
        return raw


def install(module):
    from anthropic.resources.messages import messages

    patch(messages.Messages, "create", llm_method(MessagesSpec, False))
    patch(messages.AsyncMessages, "create", llm_method(MessagesSpec, True))
    patch(messages.Messages, "stream", _wrap_stream_method(False))
    patch(messages.AsyncMessages, "stream", _wrap_stream_method(True))
