"""The current test case and its log.

A case lives in a `ContextVar`, so concurrent cases in one process — threads or asyncio tasks —
never see each other's calls. When no case was started in the current context, the process-wide
case (started by the bootstrap for one-case-per-process agents) is used, if any.

The hot path only appends to the case's log: a wire call with its clock readings, a tool run
with its measured duration, a LangChain run. A wire call is read once its response has ended
(`_timeline.read_call`) and its raw bytes let go of then, so a case holds what each call came
to, not every request body of a long conversation (each repeats the whole history); a case
that records spools the bytes to a temporary file first (`Keep`). Pairing tool calls with their
results, merging sources, redaction and serialization happen once, when the trace is asked for
(`_timeline.py`).
"""

from __future__ import annotations

import contextvars
import tempfile
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cassette import Player

_current: contextvars.ContextVar[Case | None] = contextvars.ContextVar("proctor_case", default=None)
_process_case: Case | None = None


class ToolRun:
    """A tool execution timed around the tool itself (the decorator, LangChain)."""

    __slots__ = ("arguments", "call_id", "duration_ms", "error", "name", "result", "t")

    def __init__(
        self, name: str, arguments: Any, result: Any, duration_ms: float, error: str | None, call_id: str | None
    ) -> None:
        self.name = name
        self.arguments = arguments
        self.result = result
        self.duration_ms = duration_ms
        self.error = error
        self.call_id = call_id
        self.t = time.perf_counter()


class Keep:
    """What a case's wire calls share once read: the spool their raw bytes go to when the case
    records, and which tool results earlier requests already carried (a conversation's requests
    each carry every result so far; only the earliest request with a result keeps it). Held by
    the calls apart from the case, which holds the calls."""

    __slots__ = ("lock", "record", "results", "spool")

    def __init__(self, record: bool) -> None:
        self.record = record
        self.lock = threading.Lock()
        self.spool: IO[bytes] | None = None
        # tool call id -> start of the earliest request found carrying its result
        self.results: dict[str, float] = {}

    def put(self, *parts: bytes) -> list[tuple[int, int]]:
        """Appends `parts` to the spool; where each is, as (offset, length)."""
        with self.lock:
            if self.spool is None:
                # Open for as long as the case lives; closed when it is collected.
                self.spool = tempfile.TemporaryFile(prefix="proctor-case-")  # noqa: SIM115
            spool = self.spool
            spool.seek(0, 2)
            at = []
            for part in parts:
                at.append((spool.tell(), len(part)))
                spool.write(part)
            return at

    def get(self, where: tuple[int, int]) -> bytes:
        offset, length = where
        with self.lock:
            if self.spool is None:
                return b""
            self.spool.flush()
            self.spool.seek(offset)
            return self.spool.read(length)


class Case:
    """Everything captured in one test case."""

    __slots__ = ("case_id", "input", "keep", "log", "open_calls", "output", "player", "started_at", "t0")

    def __init__(
        self, case_id: str | None = None, input: Any = None, player: Player | None = None, record: bool = True
    ) -> None:
        self.case_id = case_id
        self.input = input
        # Answers the case's LLM requests from a recording (`_cassette`), when it is replayed.
        self.player = player
        self.output: Any = None
        # WireCall, ToolRun and LangChain run records, in the order they were made
        self.log: list[Any] = []
        self.t0 = time.perf_counter()
        self.started_at = time.time()
        # Wire calls whose response is still being read; the trace ends them.
        self.open_calls: set[Any] = set()
        # Only a case that records (`recording()`) keeps its calls' bytes, on disk.
        self.keep = Keep(record)

    def record_tool_run(
        self,
        name: str,
        arguments: Any,
        result: Any,
        duration_ms: float,
        error: str | None = None,
        call_id: str | None = None,
    ) -> None:
        """A tool execution timed around the tool itself. It fills the call the model made for
        it when there is one; otherwise the tool was called outside any LLM turn."""
        self.log.append(ToolRun(name, arguments, result, duration_ms, error, call_id))

    def to_trace(self, redact: bool = True) -> dict[str, Any]:
        """The case as the `Trace` the server expects, scrubbed unless `redact` is false."""
        from ._timeline import trace_of

        for call in list(self.open_calls):
            call.end()
        trace = trace_of(self, redact)
        if self.player is not None:
            summary = self.player.summary()
            if redact:
                # A divergence quotes the requests themselves: scrubbed like the rest.
                from ._redact import redact as scrub

                summary, found = scrub(summary)
                counts = trace["redactions"]
                for kind, n in found.items():
                    counts[kind] = counts.get(kind, 0) + n
            trace["replay"] = summary
        return trace

    def recording(self) -> dict[str, Any]:
        """The case's LLM exchanges, to replay it later (`_cassette`): unscrubbed, so it stays
        on this machine."""
        from ._cassette import recording_of

        for call in list(self.open_calls):
            call.end()
        return recording_of(self)


def current() -> Case | None:
    case = _current.get()
    return case if case is not None else _process_case


def enter(case: Case) -> contextvars.Token[Case | None]:
    return _current.set(case)


def leave(token: contextvars.Token[Case | None]) -> None:
    _current.reset(token)


def set_process_case(case: Case | None) -> None:
    """Makes `case` the one recorded into wherever no case was started explicitly."""
    global _process_case
    _process_case = case
