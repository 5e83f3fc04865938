"""Taps on the HTTP clients the LLM SDKs send through: `httpx` (openai 2.x, google-genai, most
frameworks) and `httpx2` (openai 3.x, anthropic 2.x), sync and async.

`Client.send` is the one method every request of these clients passes through, whatever built
it — an SDK resource method, `with_raw_response`, `with_streaming_response`, `beta.*`, the
client's own `post(..., cast_to=...)`, or a framework building requests itself. The tap hands the
request to `_wire.begin`; when it is an LLM call, the response's byte stream is replaced by one
that passes every byte on and shows it to a `Fold` on the way. The tap holds the original stream
and the fold, never the response, so no reference cycle keeps a response alive.
"""

import functools

from . import _case
from ._hooks import patch
from ._wire import Fold, begin


def _not_sent(module, exc):
    """Whether the request never left: a connection that could not be made."""
    return isinstance(exc, (module.ConnectError, module.ConnectTimeout))


def _rebuilt(module, request, body):
    """The same request with a new JSON body (and the Content-Length to match)."""
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
    return module.Request(request.method, request.url, headers=headers, content=body, extensions=request.extensions)


def _start(module, case, request):
    call, body = begin(case, request.url.path, lambda: request.content)
    if body is not None:
        request = _rebuilt(module, request, body)
    return call, request


def _fold(module, call, response):
    """A fold for `response`, or None when the body was already read and is recorded now."""
    headers = response.headers
    fold = Fold(call, response.status_code, headers.get("content-type"), headers.get("content-encoding"))
    try:
        body = response.content
    except module.ResponseNotRead:
        return fold
    fold.whole(body)
    return None


def install(module):
    """Taps `module.Client.send` and `module.AsyncClient.send` (`module` is httpx or httpx2)."""

    class SyncTap(module.SyncByteStream):
        __slots__ = ("inner", "fold")

        def __init__(self, inner, fold):
            self.inner = inner
            self.fold = fold

        def __iter__(self):
            fold = self.fold
            try:
                for chunk in self.inner:
                    out = fold.feed(chunk)
                    if out:
                        yield out
                tail = fold.flush()
                if tail:
                    yield tail
            except GeneratorExit:
                raise
            except BaseException as exc:
                fold.end("%s: %s" % (type(exc).__name__, exc))
                raise
            fold.end()

        def close(self):
            self.fold.end()
            self.inner.close()

        def __del__(self):  # dropped unread: record what was read
            try:
                self.fold.end()
            except Exception:
                pass

    class AsyncTap(module.AsyncByteStream):
        __slots__ = ("inner", "fold")

        def __init__(self, inner, fold):
            self.inner = inner
            self.fold = fold

        async def __aiter__(self):
            fold = self.fold
            try:
                async for chunk in self.inner:
                    out = fold.feed(chunk)
                    if out:
                        yield out
                tail = fold.flush()
                if tail:
                    yield tail
            except GeneratorExit:
                raise
            except BaseException as exc:
                fold.end("%s: %s" % (type(exc).__name__, exc))
                raise
            fold.end()

        async def aclose(self):
            self.fold.end()
            await self.inner.aclose()

        def __del__(self):  # dropped unread: record what was read
            try:
                self.fold.end()
            except Exception:
                pass

    def sync_send(original):
        @functools.wraps(original)
        def send(self, request, *args, **kwargs):
            case = _case.current()
            if case is None:
                return original(self, request, *args, **kwargs)
            call, request = _start(module, case, request)
            if call is None:
                return original(self, request, *args, **kwargs)
            try:
                response = original(self, request, *args, **kwargs)
            except BaseException as exc:
                if not _not_sent(module, exc):
                    call.failed(exc)
                raise
            fold = _fold(module, call, response)
            if fold is not None:
                response.stream = SyncTap(response.stream, fold)
            return response
        return send

    def async_send(original):
        @functools.wraps(original)
        async def send(self, request, *args, **kwargs):
            case = _case.current()
            if case is None:
                return await original(self, request, *args, **kwargs)
            call, request = _start(module, case, request)
            if call is None:
                return await original(self, request, *args, **kwargs)
            try:
                response = await original(self, request, *args, **kwargs)
            except BaseException as exc:
                if not _not_sent(module, exc):
                    call.failed(exc)
                raise
            fold = _fold(module, call, response)
            if fold is not None:
                response.stream = AsyncTap(response.stream, fold)
            return response
        return send

    patch(module.Client, "send", sync_send)
    patch(module.AsyncClient, "send", async_send)

