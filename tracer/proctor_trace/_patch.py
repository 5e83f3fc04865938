"""Safe patching: wrappers that record an LLM call around an SDK method without ever changing
what the method returns or raises, and without letting a tracer fault reach the agent.

A provider supplies a *spec* with four pure functions over the SDK's objects:
`request(kwargs)` → (model, tools offered, tool results seen); `response(obj)` → (usage, tools
chosen, model); `accumulator()` → an object fed each stream item that yields the same at the end;
and optionally `prepare(kwargs)` to adjust a streaming request (returns True when it added
something the agent must not see). Everything else — timing, streams, errors — lives here once.
"""

import functools
import time

from . import _case

_reported = set()


def fault(where, exc):
    """A tracer bug: report it once per place, then carry on untraced."""
    if where not in _reported:
        import logging  # only when something went wrong: keeps import time low

        _reported.add(where)
        logging.getLogger("proctor_trace").warning("proctor_trace: %s failed (%s: %s); the call goes on untraced", where, type(exc).__name__, exc)


def getv(obj, name, default=None):
    """A field of an SDK object or of the plain dict an agent passed instead."""
    if type(obj) is dict:
        return obj.get(name, default)
    return getattr(obj, name, default)


def patch(cls, name, make_wrapper):
    """Replaces `cls.name` with `make_wrapper(original)` unless it is missing or already ours."""
    original = cls.__dict__.get(name)
    if original is None or getattr(original, "__proctor_wrapped__", False):
        return False
    wrapper = make_wrapper(original)
    wrapper.__proctor_wrapped__ = True
    wrapper.__wrapped__ = original
    setattr(cls, name, wrapper)
    return True


class _Call:
    """One LLM call in flight."""

    __slots__ = ("case", "spec", "model", "tools", "t0", "started_at", "done", "hide_extra")

    def __init__(self, case, spec, kwargs):
        self.case = case
        self.spec = spec
        self.done = False
        self.hide_extra = False
        self.model, self.tools, results = spec.request(kwargs)
        if results:
            case.tool_results_seen(results)
        self.t0 = time.perf_counter()
        self.started_at = time.time()

    def finish(self, usage, chosen, model=None, streamed=False, error=None):
        if self.done:
            return
        self.done = True
        latency = round((time.perf_counter() - self.t0) * 1000.0, 3)
        self.case.record_llm_call(
            self.spec.provider, model or self.model, usage, self.tools, chosen, latency, streamed, self.started_at, error
        )

    def failed(self, exc):
        self.finish({}, [], error="%s: %s" % (type(exc).__name__, exc))


def _begin(spec, kwargs):
    """The call record, or None when nothing should be recorded."""
    case = _case.current()
    if case is None:
        return None
    try:
        call = _Call(case, spec, kwargs)
        if kwargs.get("stream") is True and hasattr(spec, "prepare"):
            call.hide_extra = spec.prepare(kwargs)
        return call
    except Exception as exc:
        fault(spec.provider + " request", exc)
        return None


def _finish_response(call, resp):
    try:
        usage, chosen, model = call.spec.response(resp)
        call.finish(usage, chosen, model)
        after = getattr(call.spec, "after", None)
        if after is not None:
            after(call.case, resp)
    except Exception as exc:
        fault(call.spec.provider + " response", exc)


def _safe_failed(call, exc):
    try:
        call.failed(exc)
    except Exception as inner:
        fault(call.spec.provider + " error", inner)


class _StreamFold:
    """Feeds stream items to the provider's accumulator and finishes the call exactly once."""

    __slots__ = ("call", "acc", "broken")

    def __init__(self, call):
        self.call = call
        self.acc = call.spec.accumulator()
        self.broken = False
        call.case.open_streams.add(self)

    def feed(self, item):
        """Whether the agent should see `item`."""
        if self.broken:
            return True
        try:
            return self.acc.feed(item, self.call.hide_extra)
        except Exception as exc:
            self.broken = True
            fault(self.call.spec.provider + " stream item", exc)
            return True

    def close(self, error=None):
        self.call.case.open_streams.discard(self)
        if self.call.done:
            return
        try:
            usage, chosen, model = self.acc.result()
            self.call.finish(usage, chosen, model, streamed=True, error=error)
        except Exception as exc:
            fault(self.call.spec.provider + " stream end", exc)


def _gen_sync(inner, fold):
    try:
        for item in inner:
            if fold.feed(item):
                yield item
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit):
            fold.close(error="%s: %s" % (type(exc).__name__, exc))
        raise
    finally:
        fold.close()


async def _gen_async(inner, fold):
    try:
        async for item in inner:
            if fold.feed(item):
                yield item
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit):
            fold.close(error="%s: %s" % (type(exc).__name__, exc))
        raise
    finally:
        fold.close()


def instrument_stream(stream, call, is_async):
    """Observes an SDK stream object in place: its item iterator is wrapped and its `close` also
    finishes the record, so the call is recorded whether the stream is consumed, abandoned
    early, closed, or collected."""
    fold = _StreamFold(call)
    inner = stream._iterator
    wrapped = _gen_async(inner, fold) if is_async else _gen_sync(inner, fold)
    stream._iterator = wrapped
    original_close = stream.close
    if is_async:
        async def close():
            fold.close()
            await original_close()
    else:
        def close():
            fold.close()
            original_close()
    stream.close = close
    return stream


def wrap_generator(gen, call):
    """For SDKs whose stream is a plain (async) generator: a generator of the same items."""
    fold = _StreamFold(call)
    if hasattr(gen, "__anext__"):
        return _gen_async(gen, fold)
    return _gen_sync(gen, fold)


def llm_method(spec, is_async, stream_kind="object"):
    """A wrapper factory for an SDK method that makes one LLM request.

    `stream_kind`: "object" for SDK stream objects with an `_iterator` (OpenAI, Anthropic),
    "generator" for methods that always return a (possibly awaited) generator (Gemini's
    `generate_content_stream`).
    """

    def is_stream(kwargs):
        return stream_kind == "generator" or kwargs.get("stream") is True

    def observe(call, resp, kwargs):
        if not is_stream(kwargs):
            _finish_response(call, resp)
            return resp
        try:
            if stream_kind == "generator":
                return wrap_generator(resp, call)
            return instrument_stream(resp, call, is_async)
        except Exception as exc:
            fault(spec.provider + " stream", exc)
            return resp

    if is_async:
        def make(original):
            @functools.wraps(original)
            async def wrapper(self, *args, **kwargs):
                call = _begin(spec, kwargs)
                if call is None:
                    return await original(self, *args, **kwargs)
                try:
                    resp = await original(self, *args, **kwargs)
                except BaseException as exc:
                    _safe_failed(call, exc)
                    raise
                return observe(call, resp, kwargs)
            return wrapper
    else:
        def make(original):
            @functools.wraps(original)
            def wrapper(self, *args, **kwargs):
                call = _begin(spec, kwargs)
                if call is None:
                    return original(self, *args, **kwargs)
                try:
                    resp = original(self, *args, **kwargs)
                except BaseException as exc:
                    _safe_failed(call, exc)
                    raise
                return observe(call, resp, kwargs)
            return wrapper
    return make
