"""Taps on the HTTP clients the LLM SDKs send through: `httpx` (openai 2.x, google-genai, most
frameworks) and `httpx2` (openai 3.x, anthropic 2.x), sync and async.

`Client.send` is the one method every request of these clients passes through, whatever built
it — an SDK resource method, `with_raw_response`, `with_streaming_response`, `beta.*`, the
client's own `post(..., cast_to=...)`, or a framework building requests itself. The tap hands the
request to `_wire.begin`; when it is an LLM call, the response's byte stream is replaced by one
that passes every byte on and shows it to the `WireCall` on the way. The tap holds the original
stream and the call, never the response, so no reference cycle keeps a response alive.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any, Callable

from . import _case
from ._cassette import ReplayMismatch
from ._fault import fault
from ._hooks import patch
from ._wire import WireCall, begin


def _not_sent(module: ModuleType, exc: BaseException) -> bool:
    """Whether the request never left: a connection that could not be made, or a strict replay
    that refused it."""
    return isinstance(exc, (module.ConnectError, module.ConnectTimeout, ReplayMismatch))


def _start(module: ModuleType, case: _case.Case, request: Any) -> WireCall | None:
    call, body = begin(case, request.url.path, lambda: request.content)
    if body is not None:
        # The request is rewritten in place: building a new one costs more than the call. The
        # extra usage event can be held back only from a stream that is not compressed.
        request.headers["Content-Length"] = str(len(body))
        request.headers["Accept-Encoding"] = "identity"
        request.stream = module.ByteStream(body)
        request._content = body
    return call


# module name -> its one-shot byte stream class (`_once`)
_once_classes: dict[str, type] = {}


def _once(module: ModuleType, body: bytes) -> Any:
    """A recorded body as a byte stream of `module` that gives it once, as the network does: an
    SDK that drains a stream it already read (openai's `drain_response_async`) gets nothing."""
    cls = _once_classes.get(module.__name__)
    if cls is None:

        class Once(module.SyncByteStream, module.AsyncByteStream):  # type: ignore[name-defined]
            __slots__ = ("body",)

            def __init__(self, body: bytes) -> None:
                self.body: bytes | None = body

            def __iter__(self) -> Iterator[bytes]:
                body, self.body = self.body, None
                if body:
                    yield body

            async def __aiter__(self) -> AsyncIterator[bytes]:
                body, self.body = self.body, None
                if body:
                    yield body

        cls = _once_classes[module.__name__] = Once
    return cls(body)


def _replayed(module: ModuleType, case: _case.Case, call: WireCall, request: Any) -> Any:
    """The recorded response to `request` when the case is replayed and it matches its
    recording; None when it goes to the network. A strict replay's mismatch is raised."""
    player = case.player
    if player is None:
        return None
    exchange = player.answer(call.path, call.request)
    if exchange is None:
        return None
    call.replayed = True
    return module.Response(
        exchange.status,
        headers=[("content-type", exchange.content_type)],
        stream=_once(module, exchange.body),
        request=request,
    )


def _observe(module: ModuleType, call: WireCall, response: Any) -> bool:
    """True when the body is still to be read through a tap; else it is recorded now."""
    try:
        headers = response.headers
        try:
            body = response.content
        except module.ResponseNotRead:
            call.respond(response.status_code, headers.get("content-type"), headers.get("content-encoding"))
            return True
        call.whole(response.status_code, headers.get("content-type"), body)
    except Exception as exc:
        fault(call.protocol.PROVIDER + " response", exc)
        call.end()
    return False


def _sync_tap(module: ModuleType) -> type:
    """The sync byte stream that shows a response's bytes to its call on their way to the agent,
    as a stream class of `module` (httpx or httpx2)."""
    sync_stream: Any = module.SyncByteStream

    class SyncTap(sync_stream):
        __slots__ = ("call", "inner")

        def __init__(self, inner: Any, call: WireCall) -> None:
            self.inner = inner
            self.call = call

        def __iter__(self) -> Iterator[bytes]:
            call = self.call
            try:
                for chunk in self.inner:
                    out = call.feed(chunk)
                    if out:
                        yield out
                tail = call.flush()
                if tail:
                    yield tail
            except GeneratorExit:
                raise
            except BaseException as exc:
                call.end(f"{type(exc).__name__}: {exc}")
                raise
            call.end()

        def close(self) -> None:
            self.call.end()
            self.inner.close()

        def __del__(self) -> None:  # dropped unread: record what was read
            try:
                self.call.end()
            except Exception:
                pass

    return SyncTap


def _async_tap(module: ModuleType) -> type:
    """The async byte stream that shows a response's bytes to its call, as `_sync_tap` does."""
    async_stream: Any = module.AsyncByteStream

    class AsyncTap(async_stream):
        __slots__ = ("call", "inner")

        def __init__(self, inner: Any, call: WireCall) -> None:
            self.inner = inner
            self.call = call

        async def __aiter__(self) -> AsyncIterator[bytes]:
            call = self.call
            try:
                async for chunk in self.inner:
                    out = call.feed(chunk)
                    if out:
                        yield out
                tail = call.flush()
                if tail:
                    yield tail
            except GeneratorExit:
                raise
            except BaseException as exc:
                call.end(f"{type(exc).__name__}: {exc}")
                raise
            call.end()

        async def aclose(self) -> None:
            self.call.end()
            await self.inner.aclose()

        def __del__(self) -> None:  # dropped unread: record what was read
            try:
                self.call.end()
            except Exception:
                pass

    return AsyncTap


def _sync_send(module: ModuleType, tap: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What `Client.send` becomes: the request handed to `_wire`, the response's stream tapped."""

    def sync_send(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            case = _case.current()
            if case is None:
                return original(self, request, *args, **kwargs)
            call = _start(module, case, request)
            if call is None:
                return original(self, request, *args, **kwargs)
            try:
                response = _replayed(module, case, call, request)
                if response is None:
                    response = original(self, request, *args, **kwargs)
                elif not kwargs.get("stream", False):
                    response.read()  # as `send` itself does when not asked to stream
            except BaseException as exc:
                call.failed(exc, sent=not _not_sent(module, exc))
                raise
            if _observe(module, call, response):
                response.stream = tap(response.stream, call)
            return response
        return send

    return sync_send


def _async_send(module: ModuleType, tap: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What `AsyncClient.send` becomes, as `_sync_send`."""

    def async_send(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            case = _case.current()
            if case is None:
                return await original(self, request, *args, **kwargs)
            call = _start(module, case, request)
            if call is None:
                return await original(self, request, *args, **kwargs)
            try:
                response = _replayed(module, case, call, request)
                if response is None:
                    response = await original(self, request, *args, **kwargs)
                elif not kwargs.get("stream", False):
                    await response.aread()  # as `send` itself does when not asked to stream
            except BaseException as exc:
                call.failed(exc, sent=not _not_sent(module, exc))
                raise
            if _observe(module, call, response):
                response.stream = tap(response.stream, call)
            return response
        return send

    return async_send


def install(module: ModuleType) -> None:
    """Taps `module.Client.send` and `module.AsyncClient.send` (`module` is httpx or httpx2)."""
    patch(module.Client, "send", _sync_send(module, _sync_tap(module)))
    patch(module.AsyncClient, "send", _async_send(module, _async_tap(module)))
