"""A tap on `aiohttp`, which `google-genai` uses for async calls whenever it is installed, and
which some frameworks use to reach OpenAI-compatible servers.

`ClientSession._request` is where every request starts. aiohttp gives the body to the reader as
it arrives, already decoded, through `StreamReader.feed_data`; the tap watches the readers of LLM
responses there, so whichever way the agent reads the body (`json()`, `text()`, lines, chunks),
the call sees the same bytes. An OpenAI stream that does not ask for usage is asked for it, as
over httpx: the reader is then given whole events, and not the usage-only one the agent did not
ask for (unless the session hands the reader compressed bytes, when nothing can be held back
and the stream is left as the agent asked). A replayed request is answered from its recording
through `_loopback`.
"""

from __future__ import annotations

import functools
import json as _json
from types import ModuleType
from typing import Any, Callable
from urllib.parse import urlsplit

from . import _case, _loopback
from ._cassette import Exchange, ReplayMismatch
from ._fault import fault
from ._hooks import patch
from ._wire import WireCall, begin, without_usage_only_events

# id(StreamReader) -> the call whose response it reads, for the responses being read now
_taps: dict[int, WireCall] = {}


def _body(data: Any, json: Any) -> bytes:
    if json is not None:
        return _json.dumps(json).encode()
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    raise TypeError("a streamed request body is not read")


def _watch(response: Any, call: WireCall) -> None:
    reader = response.content
    buffered = b"".join(getattr(reader, "_buffer", ()))
    if buffered:
        _take_buffered(reader, call, buffered)
    if getattr(reader, "_eof", False):
        call.end()
        return
    _taps[id(reader)] = call


def _take_buffered(reader: Any, call: WireCall, buffered: bytes) -> None:
    """Bytes aiohttp read before the tap was set (a fast model's whole stream may be there):
    kept, and left to the reader as fed bytes are — without a usage-only event the agent did not
    ask for — when nothing of them was read yet and the reader keeps them as this aiohttp does."""
    read_from: Any = getattr(reader, "_buffer_offset", 0)
    if not call.hide or read_from != 0 or not isinstance(getattr(reader, "_size", None), int):
        call.hide = False
        call.feed(buffered)
        return
    shown = call.feed(buffered)
    if getattr(reader, "_eof", False):
        shown += call.flush()
    reader._buffer.clear()
    if shown:
        reader._buffer.append(shown)
    reader._size = len(shown)


def _as_asked(exchange: Exchange, hide: bool) -> Exchange:
    """A recorded answer as the agent asked for it: a stream the tracer asked for usage
    without the usage-only event."""
    if not hide or "event-stream" not in exchange.content_type:
        return exchange
    body = without_usage_only_events(exchange.body)
    return Exchange(exchange.path, exchange.request, exchange.status, exchange.content_type, body, exchange.digest)


def _decompresses(session: Any, kwargs: dict[str, Any]) -> bool:
    """Whether the reader gets the body decoded (aiohttp's default), so the events can be held
    back and one left out."""
    chosen = kwargs.get("auto_decompress")
    return bool(getattr(session, "_auto_decompress", True) if chosen is None else chosen)


def _asking_for_usage(kwargs: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The request's arguments with `body` (the tracer's, asking a stream for usage) sent in
    place of the agent's `json` or `data`."""
    kwargs = dict(kwargs)
    if kwargs.pop("json", None) is not None:
        headers = dict(kwargs.get("headers") or {})
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        kwargs["headers"] = headers
    kwargs["data"] = body
    return kwargs


def install(module: ModuleType) -> None:
    from aiohttp import client, streams

    def make_request(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def _request(self: Any, method: str, str_or_url: Any, *args: Any, **kwargs: Any) -> Any:
            case = _case.current()
            if case is None:
                return await original(self, method, str_or_url, *args, **kwargs)
            path = urlsplit(str(str_or_url)).path
            read = lambda: _body(kwargs.get("data"), kwargs.get("json"))
            call, replacement = begin(case, path, read, can_rewrite=_decompresses(self, kwargs))
            if call is None:
                return await original(self, method, str_or_url, *args, **kwargs)
            if replacement is not None:
                kwargs = _asking_for_usage(kwargs, replacement)
            exchange = None
            try:
                if case.player is not None:
                    exchange = case.player.answer(call.path, call.request)
                    if exchange is not None:
                        call.replayed = True
                        str_or_url = _loopback.url_for(_as_asked(exchange, call.hide))
                response = await original(self, method, str_or_url, *args, **kwargs)
            except BaseException as exc:
                call.failed(exc, sent=not isinstance(exc, (module.ClientConnectorError, ReplayMismatch)))
                raise
            try:
                if exchange is not None:
                    # The recording's whole answer, usage included; the agent reads it from the
                    # loopback as it asked for it.
                    call.whole(exchange.status, exchange.content_type, exchange.body)
                    return response
                call.respond(response.status, response.headers.get("content-type"), None)
                _watch(response, call)
            except Exception as exc:
                fault("aiohttp response", exc)
                call.end()
            return response
        return _request

    feed_unpatched = streams.StreamReader.feed_data

    def make_feed(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def feed_data(self: Any, data: bytes, *args: Any, **kwargs: Any) -> Any:
            call = _taps.get(id(self)) if _taps else None
            if call is not None:
                data = call.feed(data)
            return original(self, data, *args, **kwargs)
        return feed_data

    def make_eof(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def feed_eof(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = _taps.pop(id(self), None) if _taps else None
            if call is not None:
                held = call.flush()
                if held:
                    feed_unpatched(self, held)
                call.end()
            return original(self, *args, **kwargs)
        return feed_eof

    def make_exception(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def set_exception(self: Any, exc: BaseException, *args: Any, **kwargs: Any) -> Any:
            call = _taps.pop(id(self), None) if _taps else None
            if call is not None:
                call.end(f"{type(exc).__name__}: {exc}")
            return original(self, exc, *args, **kwargs)
        return set_exception

    patch(client.ClientSession, "_request", make_request)
    patch(streams.StreamReader, "feed_data", make_feed)
    patch(streams.StreamReader, "feed_eof", make_eof)
    patch(streams.StreamReader, "set_exception", make_exception)

