"""Loaded by Python at start-up when this directory is on PYTHONPATH: starts tracing before the
agent's own code runs, then hands over to any other sitecustomize the environment has."""

import importlib
import os
import sys


def _start() -> None:
    try:
        from proctor_trace import _process

        _process.start()
    except Exception as exc:  # never stop the agent from starting, nor write on its output
        line = "proctor_trace[%d]: tracing is off in this process (%s: %s)\n" % (os.getpid(), type(exc).__name__, exc)
        try:
            if os.environ.get("PROCTOR_TRACE_DEBUG", "").strip().lower() in ("1", "true", "on", "yes"):
                sys.stderr.write(line)
            if os.environ.get("PROCTOR_TRACE_LOG"):
                with open(os.environ["PROCTOR_TRACE_LOG"], "a", encoding="utf-8") as log:
                    log.write(line)
        except Exception:
            pass


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    ours = sys.modules.pop("sitecustomize", None)
    try:
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    finally:
        sys.path[:] = saved
        if ours is not None:
            sys.modules["sitecustomize"] = ours


_start()
_chain()
