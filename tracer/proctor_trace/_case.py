"""The current test case and what it records.

A case lives in a `ContextVar`, so concurrent cases in one process — threads or asyncio tasks —
never see each other's calls. When no case was started in the current context, the process-wide
case (started by the bootstrap for one-case-per-process agents) is used, if any.

Recording is kept cheap on the hot path (appending small dicts); redaction and serialization
happen once, when the case finishes.
"""

import contextvars
import time

_current = contextvars.ContextVar("proctor_case", default=None)
_process_case = None


def _iso(epoch):
    """Timestamps are kept as epoch seconds while recording (cheap) and formatted once, here."""
    import datetime

    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class Case:
    """Everything captured in one test case."""

    __slots__ = ("case_id", "input", "output", "llm_calls", "tool_calls", "_pending", "_t0", "started_at", "open_streams")

    def __init__(self, case_id=None, input=None):
        self.case_id = case_id
        self.input = input
        self.output = None
        self.llm_calls = []
        self.tool_calls = []
        # call id (or, lacking ids, tool name) -> tool call waiting for its result
        self._pending = {}
        self._t0 = time.perf_counter()
        self.started_at = time.time()
        # Streams not yet consumed or closed; finishing the case records what they delivered.
        self.open_streams = set()

    # --- LLM calls -------------------------------------------------------------------------

    def record_llm_call(self, provider, model, usage, tools_offered, tools_chosen, t0, streamed, started_at, error=None, text=None):
        """One LLM call, from `t0` (a `perf_counter` reading at its start) to now."""
        now = time.perf_counter()
        call = {
            "provider": provider,
            "model": model or "",
            "input_tokens": usage.get("input_tokens", 0),
            "output_tokens": usage.get("output_tokens", 0),
            "cache_read_tokens": usage.get("cache_read_tokens", 0),
            "cache_write_tokens": usage.get("cache_write_tokens", 0),
            "reasoning_tokens": usage.get("reasoning_tokens", 0),
            "tools_offered": list(tools_offered),
            "tools_chosen": [c[1] for c in tools_chosen],
            "latency_ms": round((now - t0) * 1000.0, 3),
            "streamed": streamed,
            "started_at": started_at,
            "error": error,
            "_t0": t0,
            "_t1": now,
            "_text": text,
        }
        self.llm_calls.append(call)
        for call_id, name, arguments in tools_chosen:
            self._open_tool_call(call_id, name, arguments, now)
        return call

    def _new_tool_call(self, call_id, name, arguments, t_requested):
        tc = {
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
            "result": None,
            "duration_ms": None,
            "duration_source": "unknown",
            "started_at": time.time(),
            "order": len(self.tool_calls),
            "error": None,
            "_t": t_requested,
        }
        self.tool_calls.append(tc)
        return tc

    def _open_tool_call(self, call_id, name, arguments, t_requested):
        """A call the model asked for; it waits for its result in a later request."""
        tc = self._new_tool_call(call_id, name, arguments, t_requested)
        # Providers without call ids (Gemini) are matched by name, in order.
        self._pending[call_id if call_id else "name:%s:%d" % (name, tc["order"])] = tc

    def tool_results_seen(self, results, infer_duration=True):
        """`results`: (call id or None, tool name or None, result, is_error) found in a request.

        Completes the matching open tool calls; the gap since the model asked for the call is
        the tool's *inferred* duration (unless `infer_duration` is false: the gap says nothing).
        """
        now = time.perf_counter()
        for call_id, name, result, is_error in results:
            tc = self._pending.pop(call_id, None) if call_id else None
            if tc is None and name:
                key = next((k for k, t in self._pending.items() if t["name"] == name), None)
                tc = self._pending.pop(key) if key is not None else None
            if tc is None:
                continue
            tc["result"] = result
            if is_error:
                tc["error"] = result if isinstance(result, str) else "the tool reported an error"
            if infer_duration and tc["duration_source"] != "measured":
                tc["duration_ms"] = round((now - tc["_t"]) * 1000.0, 3)
                tc["duration_source"] = "inferred"

    def tool_results_in_text(self, texts):
        """Frameworks that run tools themselves may hand a result back as plain text that names
        the call id (`Call id: call_1 ... Observation: ...`): such a text completes that call."""
        for tc in list(self._pending.values()):
            call_id = tc["call_id"]
            if not call_id or tc["result"] is not None:
                continue
            text = next((t for t in texts if call_id in t), None)
            if text is not None:
                self.tool_results_seen([(call_id, None, text, False)])

    # --- tools timed directly (decorator, LangChain) ----------------------------------------

    def record_tool_run(self, name, arguments, result, duration_ms, error=None, call_id=None):
        """A tool execution timed around the tool itself. Fills the open call the model made for
        it when there is one; otherwise the tool was called outside any LLM turn."""
        # The matched call stays pending: the next request still carries its result message.
        tc = self._pending.get(call_id) if call_id else None
        if tc is None:
            tc = next((t for t in self._pending.values() if t["name"] == name and t["duration_source"] != "measured"), None)
        if tc is None:
            tc = self._new_tool_call(call_id, name, arguments, time.perf_counter())
        tc["result"] = result
        tc["duration_ms"] = round(duration_ms, 3)
        tc["duration_source"] = "measured"
        if error is not None:
            tc["error"] = error

    # --- output -----------------------------------------------------------------------------

    def final_answer(self):
        """What the model said last: the agent's answer when the agent did not say otherwise."""
        for call in reversed(self.llm_calls):
            if call["_text"]:
                return call["_text"]
        return None

    def to_trace(self, redact=True):
        """The case as the `Trace` the server expects, scrubbed unless `redact` is false."""
        from ._redact import redact as _redact

        for fold in list(self.open_streams):
            fold.end()

        tool_calls = [{k: v for k, v in tc.items() if not k.startswith("_")} for tc in self.tool_calls]
        for tc in tool_calls:
            tc["started_at"] = _iso(tc["started_at"])
        llm_calls = [{k: v for k, v in c.items() if not k.startswith("_")} for c in self.llm_calls]
        for c in llm_calls:
            c["started_at"] = _iso(c["started_at"])
        trace = {
            "llm_calls": llm_calls,
            "tool_calls": tool_calls,
            "total_duration_ms": round((time.perf_counter() - self._t0) * 1000.0, 3),
            "started_at": _iso(self.started_at),
            "input": self.input,
            "output": self.output if self.output is not None else self.final_answer(),
            "redactions": {},
        }
        if redact:
            counts = {}

            def scrub(v):
                out, found = _redact(v)
                for k, n in found.items():
                    counts[k] = counts.get(k, 0) + n
                return out

            for tc in tool_calls:
                tc["arguments"] = scrub(tc["arguments"])
                tc["result"] = scrub(tc["result"])
                if tc["error"] is not None:
                    tc["error"] = scrub(tc["error"])
            for c in trace["llm_calls"]:
                if c["error"] is not None:
                    c["error"] = scrub(c["error"])
            trace["input"] = scrub(trace["input"])
            trace["output"] = scrub(trace["output"])
            trace["redactions"] = counts
        return trace


def current():
    case = _current.get()
    return case if case is not None else _process_case


def enter(case):
    return _current.set(case)


def leave(token):
    _current.reset(token)


def set_process_case(case):
    """Makes `case` the one recorded into wherever no case was started explicitly."""
    global _process_case
    _process_case = case
