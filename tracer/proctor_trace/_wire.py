"""LLM calls read off the wire: a request body on its way out, and the response body (JSON or an
SSE stream) as the agent's HTTP client reads it.

The HTTP client taps (`_http.py`) hand each request here; `begin` decides whether it is an LLM
call (by its path, then its JSON), and a `Fold` reads the response bytes as they pass and finishes
the call exactly once — when the body ends, when the response is closed or dropped, or at the
latest when the case ends. Only what went over the wire is recorded: a request an SDK refuses
before sending never reaches a client tap.
"""

import json
import time
import zlib

from ._fault import fault
from .protocols import route


class WireCall:
    """One LLM request in flight."""

    __slots__ = ("case", "protocol", "request", "t0", "started_at", "done", "hide")

    def __init__(self, case, protocol, request):
        self.case = case
        self.protocol = protocol
        self.request = request
        self.done = False
        # True when the tracer asked the stream for something the agent did not (usage).
        self.hide = False
        if request.results:
            case.tool_results_seen(request.results)
        if request.texts:
            case.tool_results_in_text(request.texts)
        self.t0 = time.perf_counter()
        self.started_at = time.time()

    def finish(self, reply, streamed, error=None):
        if self.done:
            return
        self.done = True
        req = self.request
        self.case.record_llm_call(
            self.protocol.PROVIDER,
            (reply.model if reply is not None else None) or req.model,
            reply.usage if reply is not None else {},
            req.tools,
            reply.chosen if reply is not None else [],
            self.t0,
            streamed,
            self.started_at,
            error,
            reply.text if reply is not None else None,
        )

    def failed(self, exc):
        try:
            self.finish(None, self.request.stream, "%s: %s" % (type(exc).__name__, exc))
        except Exception as inner:
            fault(self.protocol.PROVIDER + " error", inner)


def begin(case, path, read_body, can_rewrite=True):
    """(the call, a replacement body or None) for a request to `path` made while `case` records,
    or (None, None) when it is not an LLM call. `read_body()` gives the request's bytes; it is
    only called for paths an LLM protocol uses. Unless `can_rewrite` is false, a streaming
    request may be given a body that also asks for usage."""
    protocol = route(path)
    if protocol is None:
        return None, None
    try:
        body = json.loads(read_body())
        if not isinstance(body, dict):
            return None, None
        request = protocol.request(body, path)
        if request is None:
            return None, None
        call = WireCall(case, protocol, request)
        replacement = None
        ask = getattr(protocol, "ask_for_usage", None)
        if can_rewrite and request.stream and ask is not None and ask(body):
            call.hide = True
            replacement = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return call, replacement
    except Exception as exc:
        fault(protocol.PROVIDER + " request", exc)
        return None, None


def _decoder(encoding):
    """A function decoding one chunk of a body sent with `encoding`, or None when the tracer
    cannot read it (the call is then recorded without what the body says)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return lambda data: data
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


def _error_message(status, text):
    try:
        body = json.loads(text)
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return "HTTP %d: %s" % (status, err["message"])
        if isinstance(err, str):
            return "HTTP %d: %s" % (status, err)
    except ValueError:
        pass
    return "HTTP %d: %s" % (status, text.decode("utf-8", "replace")[:300].strip())


class Fold:
    """Reads one response body as it passes and finishes its call once.

    `feed(bytes)` answers the bytes the agent should get: SSE streams are passed on whole events at
    a time, so an event the tracer asked for (OpenAI's usage-only chunk) can be left out; any
    other body passes through untouched.
    """

    __slots__ = ("call", "sse", "status", "decode", "buffer", "pending", "acc", "error", "passthrough")

    def __init__(self, call, status, content_type, content_encoding, rewritable=True):
        self.call = call
        self.status = status
        self.sse = status < 400 and "text/event-stream" in (content_type or "")
        self.decode = _decoder(content_encoding)
        # Bytes can be cut into events only when they are the events themselves.
        self.passthrough = not (self.sse and rewritable) or self.decode is None or (content_encoding or "identity").lower() not in ("identity", "")
        self.buffer = b""
        self.pending = []
        self.acc = call.protocol.Accumulator() if self.sse else None
        self.error = None
        call.case.open_streams.add(self)

    # --- bytes in, bytes out ---------------------------------------------------------------

    def feed(self, data):
        if self.call.done:  # the case ended first: hand on what was held back, read no more
            held = b"" if self.passthrough else self.buffer
            self.buffer = b""
            return held + data
        try:
            if self.passthrough:
                if self.decode is not None:
                    plain = self.decode(data)
                    if self.sse:
                        self._events(plain, keep=False)
                    else:
                        self.pending.append(plain)
                return data
            return self._events(data, keep=True)
        except Exception as exc:
            fault(self.call.protocol.PROVIDER + " response", exc)
            held = b"" if self.passthrough else self.buffer
            self.buffer, self.decode, self.passthrough = b"", None, True
            return held + data

    def flush(self):
        """The bytes held back at the end of the body (an event with no blank line after it)."""
        rest, self.buffer = self.buffer, b""
        shown = True
        if rest.strip() and self.sse and self.decode is not None and not self.call.done:
            try:
                shown = self._read_event(rest.replace(b"\r\n", b"\n").strip(b"\n"))
            except Exception as exc:
                fault(self.call.protocol.PROVIDER + " stream event", exc)
        return b"" if self.passthrough or not shown else rest

    def _events(self, data, keep):
        """Reads the complete events in the buffer; answers the bytes to pass on when `keep`."""
        buf = self.buffer + data
        cut = max(buf.rfind(b"\n\n"), buf.rfind(b"\r\n\r\n"))
        if cut < 0:
            self.buffer = buf
            return b""
        end = cut + (4 if buf.startswith(b"\r\n\r\n", cut) else 2)
        complete, self.buffer = buf[:end], buf[end:]
        blocks = complete.replace(b"\r\n", b"\n").split(b"\n\n")
        if not (keep and self.call.hide):
            for block in blocks:
                if block.strip():
                    self._read_event(block)
            return complete if keep else b""
        return b"\n\n".join(b for b in blocks if not b.strip() or self._read_event(b))

    def _read_event(self, block):
        """Feeds one SSE event to the accumulator; whether the agent should see it."""
        data = []
        for line in block.split(b"\n"):
            line = line.rstrip(b"\r")
            if line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        if not data:
            return True
        payload = b"\n".join(data)
        if payload == b"[DONE]":
            return True
        event = json.loads(payload)
        if not isinstance(event, dict):
            return True
        err = event.get("error")
        if err and event.get("type") in (None, "error"):
            self.error = "stream error: %s" % (err.get("message") if isinstance(err, dict) else err)
        return self.acc.feed(event, self.call.hide)

    # --- the end ---------------------------------------------------------------------------

    def whole(self, body):
        """A body the client had already read in full (decoded)."""
        self.decode = lambda data: data
        self.pending = [body]
        self.end()

    def end(self, error=None):
        call = self.call
        call.case.open_streams.discard(self)
        if call.done:
            return
        try:
            call.finish(self._reply(), self.sse or call.request.stream, error or self._error())
        except Exception as exc:
            fault(call.protocol.PROVIDER + " response end", exc)
            call.done = True

    def _error(self):
        if self.status >= 400:
            return _error_message(self.status, b"".join(self.pending))
        return self.error

    def _reply(self):
        protocol = self.call.protocol
        if self.sse:
            return self.acc.result()
        if self.status >= 400 or not self.pending or self.decode is None:
            return None
        body = json.loads(b"".join(self.pending))
        if isinstance(body, list):  # a stream sent as one JSON array (Gemini without alt=sse)
            acc = protocol.Accumulator()
            for item in body:
                if isinstance(item, dict):
                    acc.feed(item, False)
            return acc.result()
        return protocol.response(body) if isinstance(body, dict) else None
