"""One case per process, for agents the runner starts as a command.

The bootstrap calls `start()` before the agent's code runs. Every LLM and tool call the process
makes outside an explicit `proctor_trace.case(...)` lands in the process case, and at exit the
trace is appended as one JSON line to the file `PROCTOR_TRACE_FILE` names:

    {"case_id": "<PROCTOR_CASE_ID>", "pid": 1234, "trace": {...Trace...}}

A process the agent starts inherits the environment, so it writes its own line with the same
`case_id`; the runner merges them.
"""

import atexit
import json
import os

from . import _case
from ._hooks import install


def start():
    install()
    case = _case.Case(os.environ.get("PROCTOR_CASE_ID"), input=os.environ.get("PROCTOR_INPUT"))
    _case.set_process_case(case)
    atexit.register(write, case)
    return case


def write(case):
    path = os.environ.get("PROCTOR_TRACE_FILE")
    if not path:
        return
    from . import redaction_enabled

    try:
        line = json.dumps(
            {"case_id": case.case_id, "pid": os.getpid(), "trace": case.to_trace(redact=redaction_enabled())},
            default=str,
            ensure_ascii=False,
        )
        # One write of one line: appends from several processes stay whole lines.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
    except Exception as exc:
        from ._fault import fault

        fault("writing the trace", exc)
