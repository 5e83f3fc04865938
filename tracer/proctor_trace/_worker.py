"""The runner's fast path: `python -m proctor_trace._worker module:function`.

Imports the agent once, then serves test cases over a pipe — one JSON object per line:

    stdin:  {"id": 7, "case_id": "refund-basic#1", "input": "Refund order 1001"}
    stdout: {"id": 7, "output": "Done.", "error": null, "trace": {...}}

Several cases run at once: `async def` agents as asyncio tasks, plain functions on threads. Each
case runs inside `proctor_trace.case(...)`, so concurrent cases never mix. The first case runs
alone: an agent that imports its SDKs or builds its clients on its first call does that once, not
in several threads at the same moment (openai 3 reads `sys.modules["httpx"]` while another thread
may still be executing it). Whatever the agent
prints goes to stderr; stdout carries only the protocol. A failed import is reported as
`{"fatal": "..."}` and the worker exits.

In a scripted conversation the function is called once per user turn with the history so far
instead of the message (`{"id": 9, "case_id": "...", "input": "...", "history": [...]}`).

A case asked with `"record": true` answers with its LLM exchanges too (`"recording": {...}`,
see `_cassette`); one given `"replay": {"recording": {...}, "mode": "fork", "masks": [...]}` has
its LLM requests answered from that recording, and a strict replay's mismatch is its error.

The agent file's environment hooks (`--reset module:function`, `--state module:function`) are
called outside any case, with no arguments; `state` returns the world as JSON-able data:

    stdin:  {"id": 8, "hook": "state"}
    stdout: {"id": 8, "value": {"orders": {...}}}      or  {"id": 8, "hook_error": "..."}
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import sys
import threading
import traceback
from typing import IO, Any, Callable

import proctor_trace
from proctor_trace import redaction_enabled
from proctor_trace._case import Case
from proctor_trace._redact import redact as redact_value

# One line of the protocol, either way.
Message = dict[str, Any]


def _load(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"expected module:function, got {target!r}")
    sys.path.insert(0, os.getcwd())
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{target} is not callable")
    return obj


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _arguments(argv: list[str]) -> tuple[str, dict[str, str]]:
    """`module:function [--reset module:function] [--state module:function]`."""
    target, hooks, rest = (argv[0] if argv else ""), {}, list(argv[1:])
    while len(rest) >= 2 and rest[0] in ("--reset", "--state"):
        hooks[rest[0][2:]] = rest[1]
        rest = rest[2:]
    if rest:
        raise SystemExit(f"unexpected arguments: {rest!r}")
    return target, hooks


def _argument(request: Message) -> Any:
    """What the agent's function is called with: the message, or in a conversation the
    history so far (`[{"role": "user" | "assistant", "content": ...}, ...]`, the user's new
    message last)."""
    return request["history"] if "history" in request else request.get("input")


def _described(exc: BaseException) -> str:
    """An exception with the last lines of its traceback."""
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "{}: {}\n{}".format(type(exc).__name__, exc, "".join(tb[-3:]))


def _case_of(request: Message) -> proctor_trace.case:
    """The case a request runs in: replayed from its recording when it carries one."""
    replay = request.get("replay") or {}
    return proctor_trace.case(
        request.get("case_id"),
        input=request.get("input"),
        replay=replay.get("recording"),
        replay_mode=replay.get("mode") or "fork",
        replay_masks=replay.get("masks"),
        record=bool(request.get("record")),
    )


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class Worker:
    """Serves one loaded agent: reads requests from stdin, runs each as a case (or calls a
    hook), and writes each reply as one line to `out`."""

    def __init__(self, out: IO[str], fn: Callable[..., Any], hooks: dict[str, Callable[..., Any]]) -> None:
        self.out = out
        self.fn = fn
        self.hooks = hooks
        self.is_async = inspect.iscoroutinefunction(fn)
        self.redact = redaction_enabled()
        self.write_lock = threading.Lock()
        # Held by the first case for as long as it runs; every later case passes through it once.
        self.first_case = threading.Lock()
        self.warmed = threading.Event()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.done = asyncio.Event()
        self.first_async_case = asyncio.Lock()

    def send(self, message: Message) -> None:
        line = json.dumps(message, default=str, ensure_ascii=False)
        with self.write_lock:
            self.out.write(line + "\n")
            self.out.flush()

    def finish(self, request: Message, case: Case, output: str, error: Message | None) -> None:
        case.output = output
        if case.player is not None and case.player.mismatch is not None:
            # The SDK saw the refusal as a failed request; the case says what did not match.
            error = {"kind": "crash", "message": case.player.mismatch}
        reply = {"id": request["id"], "output": output, "error": error, "trace": case.to_trace(redact=self.redact)}
        if request.get("record"):
            reply["recording"] = case.recording()
        self.send(reply)

    def run_sync(self, request: Message) -> None:
        if not self.warmed.is_set():
            with self.first_case:
                if not self.warmed.is_set():
                    try:
                        self.run_sync_case(request)
                    finally:
                        self.warmed.set()
                    return
        self.run_sync_case(request)

    def run_sync_case(self, request: Message) -> None:
        error: Message | None = None
        with _case_of(request) as case:
            try:
                output = _as_text(self.fn(_argument(request)))
            except BaseException as exc:
                output, error = "", {"kind": "crash", "message": _described(exc)}
        self.finish(request, case, output, error)

    async def run_async(self, request: Message) -> None:
        if not self.warmed.is_set():
            async with self.first_async_case:
                if not self.warmed.is_set():
                    try:
                        await self.run_async_case(request)
                    finally:
                        self.warmed.set()
                    return
        await self.run_async_case(request)

    async def run_async_case(self, request: Message) -> None:
        error: Message | None = None
        with _case_of(request) as case:
            try:
                output = _as_text(await self.fn(_argument(request)))
            except BaseException as exc:
                output, error = "", {"kind": "crash", "message": _described(exc)}
        self.finish(request, case, output, error)

    def hook_reply(self, request: Message, value: Any = None, exc: BaseException | None = None) -> None:
        if exc is not None:
            self.send({"id": request["id"], "hook_error": _described(exc)})
            return
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            self.send({"id": request["id"], "hook_error": "the {} hook returned something that is not JSON: {}".format(request["hook"], err)})
            return
        if self.redact:
            # The world leaves the agent's process scrubbed, like its traces.
            value, _ = redact_value(value)
        self.send({"id": request["id"], "value": value})

    def run_hook(self, request: Message) -> None:
        hook = self.hooks.get(request.get("hook") or "")
        if hook is None:
            self.hook_reply(request, exc=LookupError("no {!r} hook was given".format(request.get("hook"))))
            return
        try:
            value = hook()
            if inspect.isawaitable(value):
                value = asyncio.run_coroutine_threadsafe(_awaited(value), self.loop).result()
        except BaseException as exc:
            self.hook_reply(request, exc=exc)
            return
        self.hook_reply(request, value=value)

    def dispatch(self, request: Message) -> None:
        """Starts one request: a hook on a thread, a case as a task or on a thread."""
        if "hook" in request:
            threading.Thread(target=self.run_hook, args=(request,), daemon=True).start()
        elif self.is_async:
            self.loop.call_soon_threadsafe(self.start_task, request)
        else:
            threading.Thread(target=self.run_sync, args=(request,), daemon=True).start()

    def start_task(self, request: Message) -> None:
        self.loop.create_task(self.run_async(request))

    def read(self) -> None:
        """Reads requests until stdin ends, then lets `serve` finish."""
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                request = json.loads(line)
            except ValueError:
                continue
            self.dispatch(request)
        self.loop.call_soon_threadsafe(self.done.set)

    def serve(self) -> None:
        """Says it is ready, then serves until stdin ends and every case has finished."""
        threading.Thread(target=self.read, daemon=True).start()
        self.send({"ready": True, "async": self.is_async})
        self.loop.run_until_complete(self.done.wait())
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending))


def main(argv: list[str]) -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr  # the agent's prints must not corrupt the protocol
    proctor_trace.install()
    target, hook_targets = _arguments(argv)
    try:
        fn = _load(target)
        hooks = {name: _load(t) for name, t in hook_targets.items()}
    except BaseException as exc:
        out.write(json.dumps({"fatal": f"cannot load the agent {argv!r}: {type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
        return 1
    Worker(out, fn, hooks).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
