"""proctor_trace: zero-code tracing of LLM agents for Proctor.

    import proctor_trace
    proctor_trace.install()                 # tap the HTTP clients SDKs use, now and when imported
    with proctor_trace.case("refund-basic", input=message) as c:
        answer = agent(message)
        c.output = answer
    trace = c.to_trace()                    # the Trace the Proctor server expects, PII scrubbed

Agents started by the Proctor runner need none of this: the runner loads the tracer through
`python -m proctor_trace -- <the agent's own command>` (or by prepending the bootstrap directory
to `PYTHONPATH`), which installs the patches, records the process's case and writes its trace
where `PROCTOR_TRACE_FILE` says. See the README for the environment variables.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any, Callable, Literal, TypeVar, cast

from . import _case
from ._case import Case
from ._fault import fault
from ._hooks import install, uninstall

__all__ = ["Case", "case", "current_case", "install", "redaction_enabled", "tool", "uninstall"]
__version__ = "0.1.0"

F = TypeVar("F", bound=Callable[..., Any])


def redaction_enabled() -> bool:
    """On unless the user sets PROCTOR_TRACE_REDACT=0 (or false/off/no)."""
    return os.environ.get("PROCTOR_TRACE_REDACT", "1").strip().lower() not in ("0", "false", "off", "no")


class case:
    """`with proctor_trace.case(key, input=...) as c:` records everything inside the block (in
    this thread or asyncio task, and the tasks it starts) as one test case `c`; `c.recording()`
    keeps its LLM exchanges. Given `replay=` such a recording, the block's LLM requests are
    answered from it instead of the network (`replay_mode` fork, strict or new; `replay_masks`,
    regular expressions for what may differ between runs). With `record=False` the calls' bytes
    are let go of as soon as each is read, and `c.recording()` holds no exchange."""

    __slots__ = ("_case", "_token")

    def __init__(
        self,
        case_id: str | None = None,
        input: Any = None,
        replay: dict[str, Any] | None = None,
        replay_mode: str = "fork",
        replay_masks: list[str] | None = None,
        record: bool = True,
    ) -> None:
        from ._cassette import Player

        player = Player(replay, replay_mode, replay_masks) if replay is not None else None
        self._case = Case(case_id, input, player, record)
        self._token: Any = None

    def __enter__(self) -> Case:
        self._token = _case.enter(self._case)
        return self._case

    def __exit__(self, *exc: object) -> Literal[False]:
        _case.leave(self._token)
        return False


def current_case() -> Case | None:
    return _case.current()


def tool(fn: F | None = None, *, name: str | None = None) -> Any:
    """Times a tool function exactly (sync or async): `@proctor_trace.tool` or
    `@proctor_trace.tool(name="lookup_order")`."""

    import inspect

    def decorate(f: F) -> F:
        tool_name = name or f.__name__

        def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            try:
                bound = inspect.signature(f).bind_partial(*args, **kwargs)
                return {k: v for k, v in bound.arguments.items() if k != "self"}
            except (TypeError, ValueError):
                return {"args": list(args), **kwargs}

        def record(t0: float, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, error: str | None) -> None:
            c = _case.current()
            if c is None:
                return
            try:
                from .protocols._common import plain

                c.record_tool_run(tool_name, plain(arguments(args, kwargs)), plain(result), (time.perf_counter() - t0) * 1000.0, error)
            except Exception as exc:
                fault("tool decorator", exc)

        if inspect.iscoroutinefunction(f):
            @functools.wraps(f)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    result = await f(*args, **kwargs)
                except BaseException as exc:
                    record(t0, args, kwargs, None, f"{type(exc).__name__}: {exc}")
                    raise
                record(t0, args, kwargs, result, None)
                return result
        else:
            @functools.wraps(f)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    result = f(*args, **kwargs)
                except BaseException as exc:
                    record(t0, args, kwargs, None, f"{type(exc).__name__}: {exc}")
                    raise
                record(t0, args, kwargs, result, None)
                return result
        return cast(F, wrapper)

    return decorate(fn) if fn is not None else decorate
