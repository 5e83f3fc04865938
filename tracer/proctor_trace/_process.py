"""One case per process, for agents the runner starts as a command.

The bootstrap calls `start()` before the agent's code runs. Every LLM and tool call the process
makes outside an explicit `proctor_trace.case(...)` lands in the process case, and at exit the
trace is appended as one JSON line to the file `PROCTOR_TRACE_FILE` names:

    {"case_id": "<PROCTOR_CASE_ID>", "pid": 1234, "trace": {...Trace...}}

A process the agent starts inherits the environment, so it writes its own line with the same
`case_id`; the runner merges them.

In a conversation (`PROCTOR_CONVERSATION=1`: one JSON line per user turn on stdin, one answer
line per turn on stdout) each answer line the agent's process prints ends a turn: the calls made
since the previous answer are written as a line of their own, each call tagged with its turn,
before the answer reaches stdout — so the runner knows which tools a turn called before it sends
the next message. Only the first traced process counts turns (the runner's `PROCTOR_TRACE_TURNS`
is taken out of the environment its children inherit): a helper process printing lines is no
answer.

Record and replay (`_cassette`) work the same way, in the first traced process only: with
`PROCTOR_RECORD=1` it appends its recording at exit as a line of its own,

    {"case_id": "<PROCTOR_CASE_ID>", "pid": 1234, "recording": {...}}

and `PROCTOR_REPLAY_FILE` names a JSON file, `{"recording": {...}, "mode": "fork", "masks": []}`,
whose recording answers the process's LLM requests. A helper process the agent starts makes its
calls live: its requests are not in the recording's order.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from typing import Any, Callable, TextIO

from . import _case
from ._cassette import Player
from ._hooks import install


def start() -> _case.Case:
    install()
    record = os.environ.pop("PROCTOR_RECORD", None) == "1"
    case = _case.Case(
        os.environ.get("PROCTOR_CASE_ID"), input=os.environ.get("PROCTOR_INPUT"), player=_player(), record=record
    )
    _case.set_process_case(case)
    if record:
        # Registered first, so it runs last: after the trace is written and every call ended.
        atexit.register(_write_recording, case)
    if os.environ.pop("PROCTOR_TRACE_TURNS", None) == "1":
        turns = _Turns(case)
        sys.stdout = _AnswerStream(sys.stdout, turns.close)
        atexit.register(turns.finish)
    else:
        atexit.register(write, case)
    return case


def write(case: _case.Case) -> None:
    from . import redaction_enabled

    _append(case.case_id, lambda: case.to_trace(redact=redaction_enabled()))


def _player() -> Player | None:
    """The recording that answers this process's LLM requests, when the runner gave one."""
    path = os.environ.pop("PROCTOR_REPLAY_FILE", None)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            replay = json.load(f)
        return Player(replay["recording"], replay.get("mode") or "fork", replay.get("masks"))
    except Exception as exc:
        from ._fault import fault

        fault("reading the recording to replay", exc)
        return None


def _write_recording(case: _case.Case) -> None:
    _append(case.case_id, case.recording, "recording")


def _append(case_id: str | None, part_of: Callable[[], dict[str, Any]], part: str = "trace") -> None:
    path = os.environ.get("PROCTOR_TRACE_FILE")
    if not path:
        return
    try:
        line = json.dumps({"case_id": case_id, "pid": os.getpid(), part: part_of()}, default=str, ensure_ascii=False)
        # One write of one line: appends from several processes stay whole lines.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
    except Exception as exc:
        from ._fault import fault

        fault("writing the " + part, exc)


class _Turns:
    """The turns of a command agent's conversation: each closes when its answer is printed."""

    def __init__(self, case: _case.Case) -> None:
        self.case = case
        self.turn = 1
        self.written = 0
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self._write(last=False)
            self.turn += 1

    def finish(self) -> None:
        """At exit: what came after the last answer, with the case's duration and output, and
        what the whole conversation's replay did."""
        with self.lock:
            self._write(last=True)

    def _write(self, last: bool) -> None:
        from . import redaction_enabled

        case = self.case
        end = len(case.log)
        part = _case.Case(case.case_id, input=case.input if self.written == 0 else None)
        part.log = case.log[self.written:end]
        part.t0 = case.t0
        part.started_at = case.started_at
        part.open_calls = case.open_calls
        part.output = case.output
        part.player = case.player if last else None
        self.written = end
        turn = self.turn

        def trace() -> dict[str, Any]:
            out = part.to_trace(redact=redaction_enabled())
            for call in out["llm_calls"] + out["tool_calls"]:
                call["turn"] = turn
            return out

        _append(case.case_id, trace)


class _AnswerStream:
    """`sys.stdout` of an agent in a conversation: a newline written ends an answer, and with
    it a turn, which is written to the trace before the newline goes out."""

    def __init__(self, stream: TextIO, on_answer: Callable[[], None]) -> None:
        self._stream = stream
        self._on_answer = on_answer

    def write(self, text: str) -> int:
        if "\n" in text:
            self._on_answer()
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
