"""LangChain: a callback handler recording chat-model runs and tool runs with exact durations.

Each chat-model run is logged as it ends; the trace keeps one record per real LLM call, from the
richer of the run and the wire calls made inside it (see `_timeline.py`). Tool runs are timed
here, around the tool itself, and fill the call the model asked for.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any
from uuid import UUID

from . import _case
from ._fault import fault
from ._hooks import patch
from .protocols._common import Chosen, plain, result_value


def getv(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a LangChain object or of the plain dict given instead."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)

_Base: Any
try:
    from langchain_core.callbacks import BaseCallbackHandler as _Base
except ImportError:  # the handler is only usable with langchain-core installed
    _Base = object


class LangChainRun:
    """One LangChain chat-model run, as its callbacks saw it; merged with the wire calls made
    inside it when the trace is built (`_timeline.py`)."""

    __slots__ = ("chosen", "error", "model", "started_at", "t0", "t1", "text", "tools", "usage")

    def __init__(
        self,
        t0: float,
        started_at: float,
        model: Any,
        tools: list[str],
        usage: dict[str, int],
        chosen: list[Chosen],
        text: str,
        error: str | None,
    ) -> None:
        self.t0 = t0
        self.t1 = time.perf_counter()
        self.started_at = started_at
        self.model = model
        self.tools = tools
        self.usage = usage
        self.chosen = chosen
        self.text = text
        self.error = error


class ProctorCallbackHandler(_Base):
    """Attach to any LangChain runnable (`config={"callbacks": [ProctorCallbackHandler()]}`), or
    let `proctor_trace.install()` attach it to every callback manager."""

    raise_error = False
    run_inline = True

    def __init__(self) -> None:
        # run id -> (case, start on the clock, start in time, model, tools offered)
        self._llm: dict[UUID, tuple[_case.Case, float, float, Any, list[str]]] = {}
        # run id -> (case, tool name, arguments, call id, start on the clock)
        self._tools: dict[UUID, tuple[_case.Case, str, Any, str | None, float]] = {}

    # --- LLM ---------------------------------------------------------------------------------

    def _llm_start(self, serialized: Any, run_id: UUID, kwargs: dict[str, Any]) -> None:
        case = _case.current()
        if case is None:
            return
        params = kwargs.get("invocation_params") or {}
        tools = [getv(getv(t, "function"), "name") or getv(t, "name") for t in params.get("tools") or ()]
        model = params.get("model") or params.get("model_name") or (kwargs.get("metadata") or {}).get("ls_model_name")
        self._llm[run_id] = (case, time.perf_counter(), time.time(), model, [t for t in tools if t])

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._llm_start(serialized, run_id, kwargs)
        except Exception as exc:
            fault("langchain llm start", exc)

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._llm_start(serialized, run_id, kwargs)
        except Exception as exc:
            fault("langchain llm start", exc)

    def _llm_end(self, run_id: UUID, response: Any, error: str | None) -> None:
        entry = self._llm.pop(run_id, None)
        if entry is None:
            return
        case, t0, started_at, model, tools = entry
        usage, chosen, text, model = _read_result(response, model)
        case.log.append(LangChainRun(t0, started_at, model, tools, usage, chosen, text, error))

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._llm_end(run_id, response, None)
        except Exception as exc:
            fault("langchain llm end", exc)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._llm_end(run_id, None, f"{type(error).__name__}: {error}")
        except Exception as exc:
            fault("langchain llm error", exc)

    # --- tools -------------------------------------------------------------------------------

    def on_tool_start(
        self, serialized: Any, input_str: Any, *, run_id: UUID, inputs: Any = None, **kwargs: Any
    ) -> None:
        try:
            case = _case.current()
            if case is None:
                return
            name = (serialized or {}).get("name") or kwargs.get("name") or "tool"
            args = plain(inputs) if inputs is not None else input_str
            self._tools[run_id] = (case, name, args, kwargs.get("tool_call_id"), time.perf_counter())
        except Exception as exc:
            fault("langchain tool start", exc)

    def _tool_end(self, run_id: UUID, output: Any, error: str | None) -> None:
        entry = self._tools.pop(run_id, None)
        if entry is None:
            return
        case, name, args, call_id, t0 = entry
        content = getv(output, "content", output)
        case.record_tool_run(name, args, result_value(plain(content)), (time.perf_counter() - t0) * 1000.0, error, call_id)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._tool_end(run_id, output, None)
        except Exception as exc:
            fault("langchain tool end", exc)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._tool_end(run_id, None, f"{type(error).__name__}: {error}")
        except Exception as exc:
            fault("langchain tool error", exc)


def _read_result(response: Any, model: Any) -> tuple[dict[str, int], list[Chosen], str, Any]:
    """(usage, tools chosen, text, model) from a LangChain `LLMResult`."""
    usage: dict[str, int] = {}
    chosen: list[Chosen] = []
    text = ""
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


_shared: ProctorCallbackHandler | None = None


def install(module: ModuleType) -> None:
    """Attaches one shared handler to every LangChain callback manager as it is created."""
    global _shared
    from langchain_core.callbacks import base

    if getattr(base.BaseCallbackManager.__init__, "__proctor_wrapped__", False):
        return
    _shared = ProctorCallbackHandler()
    original = base.BaseCallbackManager.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        try:
            if not any(isinstance(h, ProctorCallbackHandler) for h in self.handlers):
                self.add_handler(_shared, inherit=True)
        except Exception as exc:
            fault("langchain attach", exc)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    patch(base.BaseCallbackManager, "__init__", lambda _original: __init__)
