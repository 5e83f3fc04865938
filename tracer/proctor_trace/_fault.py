"""Tracer faults: reported once per place, never on the agent's own stdout or stderr (agents whose
output is parsed must not see them). They go to the file `PROCTOR_TRACE_LOG` names, and to stderr
only when `PROCTOR_TRACE_DEBUG=1`."""

from __future__ import annotations

import os
import sys
import time

_reported: set[str] = set()


def fault(where: str, exc: BaseException) -> None:
    """A tracer bug at `where`: note it once, then carry on untraced."""
    if where in _reported:
        return
    _reported.add(where)
    line = "%s proctor_trace[%d]: %s failed (%s: %s); the call goes on untraced\n" % (
        time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), where, type(exc).__name__, exc)
    try:
        if os.environ.get("PROCTOR_TRACE_DEBUG", "").strip().lower() in ("1", "true", "on", "yes"):
            sys.stderr.write(line)
        path = os.environ.get("PROCTOR_TRACE_LOG")
        if path:
            with open(path, "a", encoding="utf-8") as log:
                log.write(line)
    except Exception:  # reporting a fault must not become one
        pass


def reported() -> set[str]:
    """The places that have reported a fault in this process."""
    return set(_reported)
