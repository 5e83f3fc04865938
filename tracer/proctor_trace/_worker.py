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

The agent file's environment hooks (`--reset module:function`, `--state module:function`) are
called outside any case, with no arguments; `state` returns the world as JSON-able data:

    stdin:  {"id": 8, "hook": "state"}
    stdout: {"id": 8, "value": {"orders": {...}}}      or  {"id": 8, "hook_error": "..."}
"""

import asyncio
import importlib
import inspect
import json
import os
import sys
import threading
import traceback

import proctor_trace
from proctor_trace import redaction_enabled
from proctor_trace._redact import redact as redact_value


def _load(target):
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"expected module:function, got {target!r}")
    sys.path.insert(0, os.getcwd())
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{target} is not callable")
    return obj


def _as_text(value):
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _arguments(argv):
    """`module:function [--reset module:function] [--state module:function]`."""
    target, hooks, rest = (argv[0] if argv else ""), {}, list(argv[1:])
    while len(rest) >= 2 and rest[0] in ("--reset", "--state"):
        hooks[rest[0][2:]] = rest[1]
        rest = rest[2:]
    if rest:
        raise SystemExit(f"unexpected arguments: {rest!r}")
    return target, hooks


def _argument(request):
    """What the agent's function is called with: the message, or in a conversation the
    history so far (`[{"role": "user" | "assistant", "content": ...}, ...]`, the user's new
    message last)."""
    return request["history"] if "history" in request else request.get("input")


async def _awaited(awaitable):
    return await awaitable


def main(argv) -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr  # the agent's prints must not corrupt the protocol
    write_lock = threading.Lock()

    def send(message) -> None:
        line = json.dumps(message, default=str, ensure_ascii=False)
        with write_lock:
            out.write(line + "\n")
            out.flush()

    proctor_trace.install()
    target, hook_targets = _arguments(argv)
    try:
        fn = _load(target)
        hooks = {name: _load(t) for name, t in hook_targets.items()}
    except BaseException as exc:
        send({"fatal": f"cannot load the agent {argv!r}: {type(exc).__name__}: {exc}"})
        return 1
    is_async = inspect.iscoroutinefunction(fn)
    redact = redaction_enabled()

    def finish(request, case, output, error) -> None:
        case.output = output
        send({"id": request["id"], "output": output, "error": error, "trace": case.to_trace(redact=redact)})

    def crash(exc):
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return {"kind": "crash", "message": "{}: {}\n{}".format(type(exc).__name__, exc, "".join(tb[-3:]))}

    # Held by the first case for as long as it runs; every later case passes through it once.
    first_case = threading.Lock()
    warmed = threading.Event()

    def run_sync(request) -> None:
        if not warmed.is_set():
            with first_case:
                if not warmed.is_set():
                    try:
                        run_sync_case(request)
                    finally:
                        warmed.set()
                    return
        run_sync_case(request)

    def run_sync_case(request) -> None:
        with proctor_trace.case(request.get("case_id"), input=request.get("input")) as case:
            try:
                output, error = _as_text(fn(_argument(request))), None
            except BaseException as exc:
                output, error = "", crash(exc)
        finish(request, case, output, error)

    async def run_async(request) -> None:
        if not warmed.is_set():
            async with first_async_case:
                if not warmed.is_set():
                    try:
                        await run_async_case(request)
                    finally:
                        warmed.set()
                    return
        await run_async_case(request)

    async def run_async_case(request) -> None:
        with proctor_trace.case(request.get("case_id"), input=request.get("input")) as case:
            try:
                output, error = _as_text(await fn(_argument(request))), None
            except BaseException as exc:
                output, error = "", crash(exc)
        finish(request, case, output, error)

    def hook_reply(request, value=None, exc=None) -> None:
        if exc is not None:
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            send({"id": request["id"], "hook_error": "{}: {}\n{}".format(type(exc).__name__, exc, "".join(tb[-3:]))})
            return
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            send({"id": request["id"], "hook_error": "the {} hook returned something that is not JSON: {}".format(request["hook"], err)})
            return
        if redact:
            # The world leaves the agent's process scrubbed, like its traces.
            value, _ = redact_value(value)
        send({"id": request["id"], "value": value})

    def run_hook(request) -> None:
        hook = hooks.get(request.get("hook"))
        if hook is None:
            hook_reply(request, exc=LookupError("no {!r} hook was given".format(request.get("hook"))))
            return
        try:
            value = hook()
            if inspect.isawaitable(value):
                value = asyncio.run_coroutine_threadsafe(_awaited(value), loop).result()
        except BaseException as exc:
            hook_reply(request, exc=exc)
            return
        hook_reply(request, value=value)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    done = asyncio.Event()
    first_async_case = asyncio.Lock()

    def reader() -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if "hook" in request:
                threading.Thread(target=run_hook, args=(request,), daemon=True).start()
            elif is_async:
                loop.call_soon_threadsafe(lambda r=request: loop.create_task(run_async(r)))
            else:
                threading.Thread(target=run_sync, args=(request,), daemon=True).start()
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=reader, daemon=True).start()
    send({"ready": True, "async": is_async})
    loop.run_until_complete(done.wait())
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if pending:
        loop.run_until_complete(asyncio.wait(pending))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
