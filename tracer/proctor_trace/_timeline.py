"""A case's log folded into the `Trace` the server ingests, in time order.

Each wire call contributes two moments: its request (which carries the results of earlier tool
calls) and its response (which chooses new tool calls). Tool runs timed around the tool and
LangChain runs come in at the moment they ended. Replaying the moments in order pairs every tool
call with its result, whichever path carried it:
- a tool-result message with the call's id (OpenAI, Anthropic, Gemini);
- a tool run the decorator or LangChain timed (a `measured` duration);
- plain text naming the call id, from frameworks that hand results back as text.
A call the model asked for and whose result arrived in a later request has an `inferred`
duration: the gap between the two.

LangChain: one record per real LLM call. A wire record made inside a LangChain run is the call
(it has the provider's own token counts and tool choices); the run fills only what the wire could
not read. A LangChain run with no wire call inside it (a model that does not speak HTTP through a
tapped client, a fake model, a cache hit) is recorded from the callback.
"""

from __future__ import annotations

import datetime
import json
import time
from typing import TYPE_CHECKING, Any

from . import _eventstream
from ._case import ToolRun
from ._fault import fault
from ._wire import WireCall
from .protocols._common import Reply, Request, ToolResult, result_value

if TYPE_CHECKING:
    from ._case import Case
    from ._langchain import LangChainRun

# A moment of the case: (clock reading, kind, the record it belongs to).
Moment = tuple[Any, int, Any]

_REQUEST, _REPLY, _TOOL, _LANGCHAIN = range(4)


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


# How smolagents hands a step's tool results back to the model.
_OBSERVATION = "Observation:"


class _Calls:
    """The LLM and tool calls, built moment by moment."""

    def __init__(self) -> None:
        self.llm: list[dict[str, Any]] = []
        self.tools: list[dict[str, Any]] = []
        # call id (or, lacking ids, tool name) -> tool call waiting for its result
        self.pending: dict[str, dict[str, Any]] = {}

    # --- LLM calls -------------------------------------------------------------------------

    def llm_call(
        self,
        provider: str,
        model: Any,
        reply: Reply,
        tools_offered: list[str],
        t0: float,
        t1: float,
        streamed: bool,
        started_at: float,
        error: str | None,
    ) -> dict[str, Any]:
        call = {
            "provider": provider,
            "model": model or "",
            "input_tokens": reply.usage.get("input_tokens", 0),
            "output_tokens": reply.usage.get("output_tokens", 0),
            "cache_read_tokens": reply.usage.get("cache_read_tokens", 0),
            "cache_write_tokens": reply.usage.get("cache_write_tokens", 0),
            "reasoning_tokens": reply.usage.get("reasoning_tokens", 0),
            "tools_offered": list(tools_offered),
            "tools_chosen": [c[1] for c in reply.chosen],
            "latency_ms": round((t1 - t0) * 1000.0, 3),
            "streamed": streamed,
            "started_at": started_at,
            "error": error,
            "_t0": t0,
            "_t1": t1,
            "_text": reply.text,
        }
        self.llm.append(call)
        for call_id, name, arguments in reply.chosen:
            self._open_tool_call(call_id, name, arguments, t1, started_at + (t1 - t0))
        return call

    # --- tool calls ------------------------------------------------------------------------

    def _new_tool_call(self, call_id: str | None, name: Any, arguments: Any, t: float, started_at: float) -> dict[str, Any]:
        tc = {
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
            "result": None,
            "duration_ms": None,
            "duration_source": "unknown",
            "started_at": started_at,
            "order": len(self.tools),
            "error": None,
            "_t": t,
        }
        self.tools.append(tc)
        return tc

    def _open_tool_call(self, call_id: str | None, name: Any, arguments: Any, t: float, started_at: float) -> None:
        """A call the model asked for; it waits for its result in a later request."""
        tc = self._new_tool_call(call_id, name, arguments, t, started_at)
        # Providers without call ids (Gemini) are matched by name, in order.
        self.pending[call_id if call_id else "name:%s:%d" % (name, tc["order"])] = tc

    def results_seen(self, results: list[ToolResult], t: float) -> None:
        """`results`: (call id or None, tool name or None, result, is_error) found in a request
        sent at `t`; each completes its open tool call, whose inferred duration is the gap."""
        for call_id, name, result, is_error in results:
            tc = self.pending.pop(call_id, None) if call_id else None
            if tc is None and name:
                key = next((k for k, p in self.pending.items() if p["name"] == name), None)
                tc = self.pending.pop(key) if key is not None else None
            if tc is None:
                continue
            tc["result"] = result
            if is_error:
                tc["error"] = result if isinstance(result, str) else "the tool reported an error"
            if tc["duration_source"] != "measured":
                tc["duration_ms"] = round((t - tc["_t"]) * 1000.0, 3)
                tc["duration_source"] = "inferred"

    def results_in_text(self, texts: list[str], t: float) -> None:
        """A framework that runs tools itself may hand results back as plain text: naming the
        call id (`Call id: call_1 ... Observation: ...`, older smolagents), or not (smolagents
        1.x: `Observation:\n...` after an assistant message `Calling tools:\n[...]`), when
        they are paired by order (`_observed_in_order`)."""
        for tc in list(self.pending.values()):
            call_id = tc["call_id"]
            if call_id and tc["result"] is None:
                text = next((x for x in texts if call_id in x), None)
                if text is not None:
                    self.results_seen([(call_id, None, result_value(text), False)], t)
        self._observed_in_order(texts, t)

    def _observed_in_order(self, texts: list[str], t: float) -> None:
        """One `Observation:` text answers the calls of the model's last answer that are still
        open: the whole text one call's result, or for several calls one line each, in the
        order of their ids (smolagents sorts them so). Anything else is left unpaired: a wrong
        pairing would be worse than a missing result."""
        waiting = [tc for tc in self.pending.values() if tc["result"] is None]
        observed = [x.lstrip()[len(_OBSERVATION):].strip("\n") for x in texts if x.lstrip().startswith(_OBSERVATION)]
        if not waiting or len(observed) != 1:
            return
        last = max(tc["_t"] for tc in waiting)
        step = sorted((tc for tc in waiting if tc["_t"] == last), key=lambda tc: (tc["call_id"] or "", tc["order"]))
        parts = [observed[0]] if len(step) == 1 else observed[0].split("\n")
        if len(parts) != len(step):
            return
        for tc, part in zip(step, parts):
            self.results_seen([(tc["call_id"], tc["name"], result_value(part.strip()), False)], t)

    def tool_run(self, run: ToolRun, started_at: float) -> None:
        # The matched call stays pending: the next request still carries its result message.
        tc = self.pending.get(run.call_id) if run.call_id else None
        if tc is None:
            tc = next((p for p in self.pending.values() if p["name"] == run.name and p["duration_source"] != "measured"), None)
        if tc is None:
            tc = self._new_tool_call(run.call_id, run.name, run.arguments, run.t, started_at)
        tc["result"] = run.result
        tc["duration_ms"] = round(run.duration_ms, 3)
        tc["duration_source"] = "measured"
        if run.error is not None:
            tc["error"] = run.error

    # --- LangChain -------------------------------------------------------------------------

    def langchain_run(self, run: LangChainRun, started_at: float) -> None:
        wire = [
            c for c in self.llm
            if c["_t0"] >= run.t0 and c["_t1"] <= run.t1 and "_langchain" not in c and _same_model(c["model"], run.model)
        ]
        if not wire:
            self.llm_call("langchain", run.model, Reply(run.usage, run.chosen, run.model, run.text), run.tools, run.t0, run.t1, False, run.started_at, run.error)
            return
        for c in wire:  # retries of one LangChain call are each a call on the wire
            c["_langchain"] = True
        last = wire[-1]
        if not (last["input_tokens"] or last["output_tokens"]) and run.usage:
            last["input_tokens"] = run.usage.get("input_tokens", 0)
            last["output_tokens"] = run.usage.get("output_tokens", 0)
        if not last["model"] and run.model:
            last["model"] = run.model
        if not last["_text"] and run.text:
            last["_text"] = run.text


def _same_model(wire_model: Any, langchain_model: Any) -> bool:
    """Whether a wire record can belong to a LangChain run of `langchain_model`: providers answer
    with a dated snapshot of the name asked for (`gpt-4o-mini` → `gpt-4o-mini-2024-07-18`)."""
    if not wire_model or not langchain_model:
        return True
    return wire_model.startswith(langchain_model) or langchain_model.startswith(wire_model)


# --- reading a wire call ---------------------------------------------------------------------

def _read_request(call: WireCall) -> Request:
    body = json.loads(call.request)
    request: Request | None = call.protocol.request(body, call.path) if isinstance(body, dict) else None
    if request is None:
        raise ValueError(f"not a {call.protocol.PROVIDER} request")
    return request


def _sse_events(body: bytes) -> list[Any]:
    payloads: list[bytes] = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = [line[6:] if line[5:6] == b" " else line[5:] for line in block.split(b"\n") if line.startswith(b"data:")]
        if data:
            payload = b"\n".join(data)
            if payload.strip() and payload != b"[DONE]":
                payloads.append(payload)
    try:
        return json.loads(b"[" + b",".join(payloads) + b"]")
    except ValueError:  # one bad event: read the others
        events: list[Any] = []
        for payload in payloads:
            try:
                events.append(json.loads(payload))
            except ValueError:
                pass
        return events


def _error_message(status: int, body: bytes) -> str:
    try:
        parsed = json.loads(body)
        err = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return "HTTP %d: %s" % (status, err["message"])
        if isinstance(err, str):
            return "HTTP %d: %s" % (status, err)
    except ValueError:
        pass
    return "HTTP %d: %s" % (status, body.decode("utf-8", "replace")[:300].strip())


def _read_reply(call: WireCall) -> tuple[Reply, str | None]:
    """(reply, error) from the response the call received."""
    protocol = call.protocol
    body = call.body()
    if call.status >= 400:
        return Reply({}, [], None, ""), _error_message(call.status, body or b"")
    if not body:
        return Reply({}, [], None, ""), call.error
    error = call.error
    if call.eventstream:
        events = _eventstream.events(body)
    elif call.sse:
        events = _sse_events(body)
    else:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            return protocol.response(parsed), error
        events = parsed if isinstance(parsed, list) else []  # a stream sent as one JSON array
    acc = protocol.Accumulator()
    for event in events:
        if not isinstance(event, dict):
            continue
        err = event.get("error")
        if err and event.get("type") in (None, "error"):
            error = error or "stream error: %s" % (err.get("message") if isinstance(err, dict) else err)
        acc.feed(event)
    return acc.result(), error


def read_call(call: WireCall) -> tuple[Request, Reply, str | None]:
    """(request, reply, error) of an ended call. Of the tool results its request carries, only
    those no earlier request of the case carried are kept: a conversation's requests each repeat
    every result so far, and the earliest request with a result is the one that completes its
    call."""
    request = _read_request(call)
    seen = call.keep.results
    fresh = []
    for result in request.results:
        call_id = result[0]
        if call_id:
            first = seen.get(call_id)
            if first is not None and first <= call.t0:
                continue
            seen[call_id] = call.t0
        fresh.append(result)
    request.results = fresh
    reply, error = _read_reply(call)
    return request, reply, error


def _read(call: WireCall) -> tuple[Request, Reply, str | None]:
    """What the call came to; raises what kept it from being read."""
    if call.read is None:  # ended before reading was done at the end of a call
        call.read = read_call(call)
    if isinstance(call.read, BaseException):
        raise call.read
    return call.read


# --- the fold ----------------------------------------------------------------------------------

def _moments(case: Case) -> list[Moment]:
    moments: list[Moment] = []
    for entry in case.log:
        if isinstance(entry, WireCall):
            if entry.unsent:
                continue
            if not entry.done:  # its response never came through a tap: it ends with the case
                entry.end()
            moments.append((entry.t0, _REQUEST, entry))
            moments.append((entry.t1, _REPLY, entry))
        elif isinstance(entry, ToolRun):
            moments.append((entry.t, _TOOL, entry))
        else:
            moments.append((entry.t1, _LANGCHAIN, entry))
    moments.sort(key=lambda m: (m[0], m[1]))
    return moments


def _calls(case: Case) -> _Calls:
    calls = _Calls()
    requests: dict[int, Request] = {}
    wall = case.started_at - case.t0  # perf_counter reading -> epoch seconds
    for t, kind, entry in _moments(case):
        try:
            if kind == _REQUEST:
                request = requests[id(entry)] = _read(entry)[0]
                if request.results:
                    calls.results_seen(request.results, t)
                if request.texts:
                    calls.results_in_text(request.texts, t)
            elif kind == _REPLY:
                asked = requests.get(id(entry))
                if asked is None:
                    continue
                _, reply, error = _read(entry)
                call = calls.llm_call(entry.protocol.PROVIDER, reply.model or asked.model, reply, asked.tools, entry.t0,
                                      entry.t1, asked.stream or entry.sse or entry.eventstream, entry.started_at, error)
                if entry.replayed:
                    call["replayed"] = True
            elif kind == _TOOL:
                calls.tool_run(entry, wall + t - entry.duration_ms / 1000.0)
            else:
                calls.langchain_run(entry, wall + entry.t0)
        except Exception as exc:
            fault("reading a call ({})".format(getattr(getattr(entry, "protocol", None), "PROVIDER", "langchain")), exc)
            requests.pop(id(entry), None)
    calls.llm.sort(key=lambda c: c["_t0"])
    return calls


def final_answer(llm_calls: list[dict[str, Any]]) -> str | None:
    """What the model said last: the agent's answer when the agent did not say otherwise."""
    for call in reversed(llm_calls):
        if call["_text"]:
            return call["_text"]
    return None


def trace_of(case: Case, redact: bool) -> dict[str, Any]:
    """The case as the `Trace` the server expects, scrubbed unless `redact` is false."""
    from ._redact import redact as _redact
    from ._redact import redact_name

    calls = _calls(case)
    tool_calls = [{k: v for k, v in tc.items() if not k.startswith("_")} for tc in calls.tools]
    for tc in tool_calls:
        tc["started_at"] = _iso(tc["started_at"])
    llm_calls = [{k: v for k, v in c.items() if not k.startswith("_")} for c in calls.llm]
    for c in llm_calls:
        c["started_at"] = _iso(c["started_at"])
    trace: dict[str, Any] = {
        "llm_calls": llm_calls,
        "tool_calls": tool_calls,
        "total_duration_ms": round((time.perf_counter() - case.t0) * 1000.0, 3),
        "started_at": _iso(case.started_at),
        "input": case.input,
        "output": case.output if case.output is not None else final_answer(calls.llm),
        "redactions": {},
    }
    if redact:
        counts: dict[str, int] = {}

        def scrub(v: Any) -> Any:
            out, found = _redact(v)
            for k, n in found.items():
                counts[k] = counts.get(k, 0) + n
            return out

        def scrub_name(name: Any) -> Any:
            if not isinstance(name, str):
                return name
            out, found = redact_name(name)
            for k, n in found.items():
                counts[k] = counts.get(k, 0) + n
            return out

        for tc in tool_calls:
            tc["name"] = scrub_name(tc["name"])
            tc["arguments"] = scrub(tc["arguments"])
            tc["result"] = scrub(tc["result"])
            if tc["error"] is not None:
                tc["error"] = scrub(tc["error"])
        for c in llm_calls:
            c["tools_offered"] = [scrub_name(n) for n in c.get("tools_offered") or []]
            c["tools_chosen"] = [scrub_name(n) for n in c.get("tools_chosen") or []]
            if c["error"] is not None:
                c["error"] = scrub(c["error"])
        trace["input"] = scrub(trace["input"])
        trace["output"] = scrub(trace["output"])
        trace["redactions"] = counts
    return trace
