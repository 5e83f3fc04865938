"""LangChain: a callback handler recording LLM and tool events with exact tool durations.

One record per real LLM call, from the richer of two sources. When the chat model's request
went over a tapped HTTP client, the wire record made during this LangChain run is the call (it
has the tokens and the tools chosen as the provider reported them); the callback fills only what
the wire could not read. When no request was seen on the wire (a model that does not speak
HTTP through httpx, a fake model, a cache hit), the callback's own record is the call. Tool runs
are timed here, around the tool itself, and fill the call the model asked for.
"""

import time

from . import _case
from ._fault import fault
from .protocols._common import plain


def getv(obj, name, default=None):
    """A field of a LangChain object or of the plain dict given instead."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)

try:
    from langchain_core.callbacks import BaseCallbackHandler
except ImportError:  # the handler is only usable with langchain-core installed
    BaseCallbackHandler = object


class ProctorCallbackHandler(BaseCallbackHandler):
    """Attach to any LangChain runnable (`config={"callbacks": [ProctorCallbackHandler()]}`), or
    let `proctor_trace.install()` attach it to every callback manager."""

    raise_error = False
    run_inline = True

    def __init__(self):
        self._llm = {}
        self._tools = {}

    # --- LLM ---------------------------------------------------------------------------------

    def _llm_start(self, serialized, run_id, kwargs):
        case = _case.current()
        if case is None:
            return
        params = kwargs.get("invocation_params") or {}
        tools = [getv(getv(t, "function"), "name") or getv(t, "name") for t in params.get("tools") or ()]
        model = params.get("model") or params.get("model_name") or (kwargs.get("metadata") or {}).get("ls_model_name")
        self._llm[run_id] = (case, time.perf_counter(), time.time(), model, [t for t in tools if t])

    def on_chat_model_start(self, serialized, messages, *, run_id, **kwargs):
        try:
            self._llm_start(serialized, run_id, kwargs)
        except Exception as exc:
            fault("langchain llm start", exc)

    def on_llm_start(self, serialized, prompts, *, run_id, **kwargs):
        try:
            self._llm_start(serialized, run_id, kwargs)
        except Exception as exc:
            fault("langchain llm start", exc)

    def _llm_end(self, run_id, response, error):
        entry = self._llm.pop(run_id, None)
        if entry is None:
            return
        case, t0, started_at, model, tools = entry
        usage, chosen, text, model = _read_result(response, model)
        now = time.perf_counter()
        wire = [
            c for c in case.llm_calls
            if c["_t0"] >= t0 and c["_t1"] <= now and "_langchain" not in c and _same_model(c["model"], model)
        ]
        if not wire:
            case.record_llm_call("langchain", model, usage, tools, chosen, t0, False, started_at, error, text)
            return
        for c in wire:  # retries of one LangChain call are each a call on the wire
            c["_langchain"] = run_id
        last = wire[-1]
        if not (last["input_tokens"] or last["output_tokens"]) and usage:
            last["input_tokens"] = usage.get("input_tokens", 0)
            last["output_tokens"] = usage.get("output_tokens", 0)
        if not last["model"] and model:
            last["model"] = model
        if not last["_text"] and text:
            last["_text"] = text

    def on_llm_end(self, response, *, run_id, **kwargs):
        try:
            self._llm_end(run_id, response, None)
        except Exception as exc:
            fault("langchain llm end", exc)

    def on_llm_error(self, error, *, run_id, **kwargs):
        try:
            self._llm_end(run_id, None, "%s: %s" % (type(error).__name__, error))
        except Exception as exc:
            fault("langchain llm error", exc)

    # --- tools -------------------------------------------------------------------------------

    def on_tool_start(self, serialized, input_str, *, run_id, inputs=None, **kwargs):
        try:
            case = _case.current()
            if case is None:
                return
            name = (serialized or {}).get("name") or kwargs.get("name") or "tool"
            args = plain(inputs) if inputs is not None else input_str
            self._tools[run_id] = (case, name, args, kwargs.get("tool_call_id"), time.perf_counter())
        except Exception as exc:
            fault("langchain tool start", exc)

    def _tool_end(self, run_id, output, error):
        entry = self._tools.pop(run_id, None)
        if entry is None:
            return
        case, name, args, call_id, t0 = entry
        content = getv(output, "content", output)
        case.record_tool_run(name, args, plain(content), (time.perf_counter() - t0) * 1000.0, error, call_id)

    def on_tool_end(self, output, *, run_id, **kwargs):
        try:
            self._tool_end(run_id, output, None)
        except Exception as exc:
            fault("langchain tool end", exc)

    def on_tool_error(self, error, *, run_id, **kwargs):
        try:
            self._tool_end(run_id, None, "%s: %s" % (type(error).__name__, error))
        except Exception as exc:
            fault("langchain tool error", exc)


def _read_result(response, model):
    """(usage, tools chosen, text, model) from a LangChain `LLMResult`."""
    usage, chosen, text = {}, [], ""
    if response is None:
        return usage, chosen, text, model
    token_usage = (getv(response, "llm_output") or {}).get("token_usage") or {}
    for gens in getv(response, "generations") or ():
        for gen in gens:
            msg = getv(gen, "message")
            meta = getv(msg, "usage_metadata") or {}
            if meta:
                usage = {"input_tokens": meta.get("input_tokens", 0), "output_tokens": meta.get("output_tokens", 0)}
            for tc in getv(msg, "tool_calls") or ():
                chosen.append((getv(tc, "id"), getv(tc, "name"), plain(getv(tc, "args"))))
            content = getv(msg, "content")
            text = content if isinstance(content, str) else getv(gen, "text") or text
            model = model or (getv(msg, "response_metadata") or {}).get("model_name")
    if not usage and token_usage:
        usage = {"input_tokens": token_usage.get("prompt_tokens", 0), "output_tokens": token_usage.get("completion_tokens", 0)}
    return usage, chosen, text, model


def _same_model(wire_model, langchain_model):
    """Whether a wire record can belong to a LangChain run of `langchain_model`: providers answer
    with a dated snapshot of the name asked for (`gpt-4o-mini` → `gpt-4o-mini-2024-07-18`)."""
    if not wire_model or not langchain_model:
        return True
    return wire_model.startswith(langchain_model) or langchain_model.startswith(wire_model)


_shared = None


def install(module):
    """Attaches one shared handler to every LangChain callback manager as it is created."""
    global _shared
    from langchain_core.callbacks import base

    if getattr(base.BaseCallbackManager.__init__, "__proctor_wrapped__", False):
        return
    _shared = ProctorCallbackHandler()
    original = base.BaseCallbackManager.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        try:
            if not any(isinstance(h, ProctorCallbackHandler) for h in self.handlers):
                self.add_handler(_shared, inherit=True)
        except Exception as exc:
            fault("langchain attach", exc)

    __init__.__proctor_wrapped__ = True
    __init__.__wrapped__ = original
    base.BaseCallbackManager.__init__ = __init__
