"""LLM calls on the wire: a request body on its way out, and the response body (JSON or an SSE
stream) as the agent's HTTP client reads it.

The HTTP client taps (`_http.py`, `_aiohttp.py`) hand each request to `begin`, which decides by
the path alone whether it is an LLM call. A `WireCall` then keeps the raw bytes both ways and the
clock readings, and passes every response byte on as it arrives; once the response has ended the
JSON is read (`_timeline.read_call`) and the raw bytes let go of (spooled to disk first when the
case records), so memory is bounded per call, not per case. Only what went over the wire is
recorded: a request an SDK refuses before sending never reaches a tap.
"""

from __future__ import annotations

import time
import zlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from ._fault import fault
from .protocols import route

if TYPE_CHECKING:
    from ._case import Case

# The content type of AWS's binary event-stream framing.
EVENTSTREAM = "application/vnd.amazon.eventstream"

# Decodes one chunk of a (possibly compressed) body.
Decoder = Callable[[bytes], bytes]


class WireCall:
    """One LLM request and its response, as bytes and times."""

    __slots__ = (
        "buffer",
        "chunks",
        "decode",
        "done",
        "error",
        "eventstream",
        "hide",
        "keep",
        "open_calls",
        "path",
        "protocol",
        "read",
        "replayed",
        "request",
        "spooled",
        "sse",
        "started_at",
        "status",
        "t0",
        "t1",
        "unsent",
    )

    def __init__(self, case: Case, protocol: ModuleType, path: str, request: bytes) -> None:
        # the case's set of calls still being read (the call is in it until its body ends), not
        # the case itself: the case's log holds the call, and a call holding the case would be a
        # reference cycle
        self.open_calls = case.open_calls
        self.keep = case.keep
        self.protocol = protocol
        self.path = path
        self.request = request
        self.status = 0
        self.sse = False
        # AWS's binary event-stream framing (Bedrock's streaming endpoint), read apart from SSE.
        self.eventstream = False
        self.chunks: list[bytes] = []
        self.decode: Decoder | None = None
        self.buffer = b""
        # True when the tracer asked the stream for something the agent did not (usage).
        self.hide = False
        self.error: str | None = None
        self.unsent = False
        # Answered from a recording, not the network.
        self.replayed = False
        self.done = False
        self.t1: float | None = None
        # What the call came to, once read (`_timeline.read_call`), or why it could not be read.
        self.read: Any = None
        # Where the spool keeps the request and the response body, when the case records.
        self.spooled: tuple[tuple[int, int], tuple[int, int]] | None = None
        case.log.append(self)
        self.started_at = time.time()
        self.t0 = time.perf_counter()

    # --- the response ----------------------------------------------------------------------

    def respond(
        self, status: int, content_type: str | None, content_encoding: str | None, rewritable: bool = True
    ) -> None:
        """The response's head has arrived; its body follows through `feed` (or `whole`)."""
        self.status = status
        self.sse = status < 400 and "text/event-stream" in (content_type or "")
        self.eventstream = status < 400 and EVENTSTREAM in (content_type or "")
        self.decode = _decoder(content_encoding)
        # Events can be held back only when the bytes are the events themselves.
        self.hide = self.hide and self.sse and rewritable and (content_encoding or "identity").lower() in ("identity", "")
        self.open_calls.add(self)

    def feed(self, data: bytes) -> bytes:
        """Keeps a copy of `data`; answers the bytes the agent should get now."""
        if self.done:  # the case ended first: hand on what was held back, keep no more
            held, self.buffer = self.buffer, b""
            return held + data
        try:
            decode = self.decode
            if decode is _identity:
                self.chunks.append(data)
            elif decode is not None:
                self.chunks.append(decode(data))
            if not self.hide or (
                not self.buffer and data.endswith(b"\n\n") and b'"choices":[]' not in data and b'"choices": []' not in data
            ):
                return data  # nothing to hold back: whole events, none of them usage-only
            return self._without_usage_only_events(data)
        except Exception as exc:
            fault(self.protocol.PROVIDER + " response", exc)
            held, self.buffer, self.hide, self.decode = self.buffer, b"", False, None
            return held + data

    def _without_usage_only_events(self, data: bytes) -> bytes:
        """Passes on whole events, leaving out the usage-only chunk the tracer asked for."""
        if not self.buffer and data.endswith(b"\n\n"):  # the usual read: whole events
            complete = data
        else:
            complete = self._whole_events(data)
        if b'"choices":[]' not in complete and b'"choices": []' not in complete:
            return complete
        blocks = complete.replace(b"\r\n", b"\n").split(b"\n\n")
        return b"\n\n".join(b for b in blocks if not _usage_only(b))

    def _whole_events(self, data: bytes) -> bytes:
        """The complete events in what was held back plus `data`; the rest is held back."""
        buf = self.buffer + data
        cut = max(buf.rfind(b"\n\n"), buf.rfind(b"\r\n\r\n"))
        if cut < 0:
            self.buffer = buf
            return b""
        end = cut + (4 if buf.startswith(b"\r\n\r\n", cut) else 2)
        complete, self.buffer = buf[:end], buf[end:]
        return complete

    def flush(self) -> bytes:
        """The bytes held back at the end of the body (an event with no blank line after it)."""
        held, self.buffer = self.buffer, b""
        return b"" if self.hide and _usage_only(held) else held

    def whole(self, status: int, content_type: str | None, body: bytes) -> None:
        """A response the client had already read in full (decoded): nothing to hold back."""
        self.status = status
        self.sse = status < 400 and "text/event-stream" in (content_type or "")
        self.eventstream = status < 400 and EVENTSTREAM in (content_type or "")
        self.decode = _identity
        self.chunks = [body]
        self.end()

    def end(self, error: str | None = None) -> None:
        """The body ended (or was abandoned, or failed with `error`)."""
        if self.done:
            return
        self.done = True
        self.t1 = time.perf_counter()
        self.open_calls.discard(self)
        if error is not None:
            self.error = error
        self._settle()

    def _settle(self) -> None:
        """Reads the ended call and lets go of its raw bytes, spooling them first when the case
        records. Never raises: a call that cannot be read says why when the trace is built."""
        if self.unsent:
            self.request, self.chunks = b"", []
            return
        from ._timeline import read_call

        try:
            self.read = read_call(self)
        except Exception as exc:
            self.read = exc
        try:
            body = self.body()
            if self.keep.record and self.status and body is not None:
                request, response = self.keep.put(self.request, body)
                self.spooled = (request, response)
        except Exception as exc:
            fault("keeping a call's recording", exc)
            return
        self.request, self.chunks = b"", []

    def recorded(self) -> tuple[bytes, bytes] | None:
        """(request, response body) as they went over the wire, for the case's recording: from
        the spool once the call was read, else as held."""
        if self.spooled is not None:
            return self.keep.get(self.spooled[0]), self.keep.get(self.spooled[1])
        body = self.body()
        if self.read is not None or body is None:
            return None
        return self.request, body

    def failed(self, exc: BaseException, sent: bool = True) -> None:
        """The request raised instead of answering; `sent` false when it never left."""
        self.unsent = not sent
        self.end(f"{type(exc).__name__}: {exc}")

    def body(self) -> bytes | None:
        """The decoded response body, or None when it could not be read."""
        if self.decode is None:
            return None
        return b"".join(self.chunks)


def _usage_only(block: bytes) -> bool:
    return (b'"choices":[]' in block or b'"choices": []' in block) and b'"usage"' in block


def without_usage_only_events(body: bytes) -> bytes:
    """A whole stream as the agent asked for it: without the usage-only event the tracer asked
    for."""
    blocks = body.replace(b"\r\n", b"\n").split(b"\n\n")
    return b"\n\n".join(b for b in blocks if not _usage_only(b))


def begin(
    case: Case, path: str, read_body: Callable[[], bytes | str], can_rewrite: bool = True
) -> tuple[WireCall | None, bytes | None]:
    """(the call, a replacement body or None) for a request to `path` made while `case` records,
    or (None, None) when it is not an LLM call. `read_body()` gives the request's bytes; it is
    only called for paths an LLM protocol uses. Unless `can_rewrite` is false, a streaming
    request may be given a body that also asks for usage."""
    protocol = route(path)
    if protocol is None:
        return None, None
    try:
        body = read_body()
        if isinstance(body, str):
            body = body.encode("utf-8")
        ask = getattr(protocol, "ask_for_usage", None) if can_rewrite else None
        replacement = ask(body) if ask is not None else None
        call = WireCall(case, protocol, path, body if replacement is None else replacement)
        call.hide = replacement is not None
        return call, replacement
    except Exception as exc:
        fault(protocol.PROVIDER + " request", exc)
        return None, None


def _identity(data: bytes) -> bytes:
    return data


def _decoder(encoding: str | None) -> Decoder | None:
    """A function decoding one chunk of a body sent with `encoding`, or None when the tracer
    cannot read it (the call is then recorded without what the body says)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return _identity
    if encoding in ("gzip", "x-gzip", "deflate"):
        d = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        return d.decompress
    if encoding == "br":
        try:
            import brotli
        except ImportError:
            return None
        d = brotli.Decompressor()
        return getattr(d, "process", None) or d.decompress
    if encoding == "zstd":
        try:
            import zstandard
        except ImportError:
            return None
        return zstandard.ZstdDecompressor().decompressobj().decompress
    return None
