"""A tap on `aiohttp`, which `google-genai` uses for async calls whenever it is installed, and
which some frameworks use to reach OpenAI-compatible servers.

`ClientSession._request` is where every request starts. aiohttp gives the body to the reader as
it arrives, already decoded, through `StreamReader.feed_data`; the tap watches the readers of LLM
responses there, so whichever way the agent reads the body (`json()`, `text()`, lines, chunks),
the call sees the same bytes. aiohttp's bytes cannot be held back, so the tracer never asks an
aiohttp stream for more than the agent did (an OpenAI stream without `include_usage` is recorded
without token counts). A replayed request is answered from its recording through `_loopback`.
"""

from __future__ import annotations

import functools
import json as _json
from types import ModuleType
from typing import Any, Callable
from urllib.parse import urlsplit

from . import _case, _loopback
from ._cassette import ReplayMismatch
from ._fault import fault
from ._hooks import patch
from ._wire import WireCall, begin

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
        call.feed(buffered)
    if getattr(reader, "_eof", False):
        call.end()
        return
    _taps[id(reader)] = call


def install(module: ModuleType) -> None:
    from aiohttp import client, streams

    def make_request(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def _request(self: Any, method: str, str_or_url: Any, *args: Any, **kwargs: Any) -> Any:
            case = _case.current()
            if case is None:
                return await original(self, method, str_or_url, *args, **kwargs)
            call, _ = begin(case, urlsplit(str(str_or_url)).path, lambda: _body(kwargs.get("data"), kwargs.get("json")), can_rewrite=False)
            if call is None:
                return await original(self, method, str_or_url, *args, **kwargs)
            try:
                if case.player is not None:
                    exchange = case.player.answer(call.path, call.request)
                    if exchange is not None:
                        call.replayed = True
                        str_or_url = _loopback.url_for(exchange)
                response = await original(self, method, str_or_url, *args, **kwargs)
            except BaseException as exc:
                call.failed(exc, sent=not isinstance(exc, (module.ClientConnectorError, ReplayMismatch)))
                raise
            try:
                call.respond(response.status, response.headers.get("content-type"), None, rewritable=False)
                _watch(response, call)
            except Exception as exc:
                fault("aiohttp response", exc)
                call.end()
            return response
        return _request

    def make_feed(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def feed_data(self: Any, data: bytes, *args: Any, **kwargs: Any) -> Any:
            call = _taps.get(id(self)) if _taps else None
            if call is not None:
                call.feed(data)
            return original(self, data, *args, **kwargs)
        return feed_data

    def make_eof(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def feed_eof(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = _taps.pop(id(self), None) if _taps else None
            if call is not None:
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

