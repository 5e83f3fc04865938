"""The tracer's cost, printed as figures (not asserted): `python bench.py`.

Each figure is the time one OpenAI `chat.completions.create` call takes through an in-process
HTTP transport that answers at once (a canned tool-call response, as JSON or as an SSE stream),
so what is measured is the client side alone:
- untraced: the same call made outside any case (the tracer's taps are installed but idle);
- proctor_trace: the call inside a case, read off the wire and recorded;
- replayed: the call inside a case replayed from its recording (`_cassette`): the request is
  compared with the recorded one and the recorded response handed back, with no transport;
- OpenLLMetry: `opentelemetry-instrumentation-openai` with an in-memory span exporter, the same
  call with no tracer case.
Rounds are interleaved so drift in the machine's speed hits all sides alike. Noise only ever adds
time, so each side's figure is its fastest round (the SDK's own cost varies by milliseconds from
round to round, far more than the tracer adds).
Also: `import proctor_trace` + `install()` in a fresh interpreter, minus a bare interpreter.
"""

import gc
import hashlib
import json
import subprocess
import sys
import time

import proctor_trace

proctor_trace.install()

import httpx2
import openai

TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"order_id\": \"ORD-1\"}"}}
USAGE = {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132}
CANNED = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}}],
    "usage": USAGE,
}
TOOLS = [{"type": "function", "function": {"name": n, "description": "d", "parameters": {"type": "object", "properties": {}}}} for n in ("lookup_order", "refund", "verify_id")]
MESSAGES = [{"role": "user", "content": "Refund order ORD-1"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "{\"status\": \"shipped\"}"}]


def _sse_events(include_usage):
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini"}
    chunks = [
        dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": None}]),
        dict(base, choices=[{"index": 0, "delta": {"tool_calls": [dict(TOOL_CALL, index=0, function={"name": "lookup_order", "arguments": ""})]}, "finish_reason": None}]),
        dict(base, choices=[{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"order_id\": "}}]}, "finish_reason": None}]),
        dict(base, choices=[{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"ORD-1\"}"}}]}, "finish_reason": None}]),
        dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
    ]
    if include_usage:
        chunks.append(dict(base, choices=[], usage=USAGE))
    return [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


JSON_BODY = json.dumps(CANNED).encode()
SSE_EVENTS = {False: _sse_events(False), True: _sse_events(True)}


def answer(request):
    """As a server would: JSON at once, or SSE one event per network read (a stream the client
    reads as it arrives, not a body read up front)."""
    body = json.loads(request.content)
    if body.get("stream"):
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return httpx2.Response(200, content=iter(SSE_EVENTS[usage]), headers={"content-type": "text/event-stream"})
    return httpx2.Response(200, content=JSON_BODY, headers={"content-type": "application/json"})


def make_client():
    transport = httpx2.MockTransport(answer)
    return openai.OpenAI(api_key="x", base_url="http://fake/v1", http_client=httpx2.Client(transport=transport), max_retries=0)


CALLS_PER_CASE = 10


def rounds_us(call, rounds, sides):
    """The fastest round of each side, in µs per call, and the untraced side's spread (its
    10th-percentile round minus its fastest): what the machine's and the SDK's noise is.

    `sides`: name -> (enter, leave) around a round of `CALLS_PER_CASE` calls; rounds of all sides
    are interleaved, each after a garbage collection."""
    times = {name: [] for name in sides}
    traces = []
    for _ in range(rounds):
        for name, (enter, leave) in sides.items():
            gc.collect()
            context = enter()
            t = time.perf_counter()
            for _ in range(CALLS_PER_CASE):
                call()
            times[name].append((time.perf_counter() - t) / CALLS_PER_CASE * 1e6)
            traces.append(leave(context))
    for v in times.values():
        v.sort()
    spread = times["untraced"][len(times["untraced"]) // 10] - times["untraced"][0]
    return {name: v[0] for name, v in times.items()}, spread, [t for t in traces if t is not None]


def _idle():
    return None


def _case_enter():
    c = proctor_trace.case("bench")
    return c, c.__enter__()


def _case_leave(context):
    manager, case = context
    manager.__exit__(None, None, None)
    return case


def _recording(call):
    """A case of `CALLS_PER_CASE` calls as recorded, for the replayed side to answer from."""
    with proctor_trace.case("bench-recording") as case:
        for _ in range(CALLS_PER_CASE):
            call()
    return case.recording()


def _replay_enter(recording):
    def enter():
        c = proctor_trace.case("bench", replay=recording, replay_mode="strict")
        return c, c.__enter__()

    return enter


def _replayed_leave(context):
    case = _case_leave(context)
    assert case.player.replayed == CALLS_PER_CASE and case.player.live == 0, "every call answered from the recording"
    return case


def _checked(cases):
    """µs per call to build the traces of `cases` (the tracer's work when a case ends)."""
    t = time.perf_counter()
    calls = [c.to_trace()["llm_calls"] for c in cases]
    per_call = (time.perf_counter() - t) / sum(len(c) for c in calls) * 1e6
    assert all(len(c) == CALLS_PER_CASE and c[0]["output_tokens"] == 12 and c[0]["tools_chosen"] == ["lookup_order"] for c in calls), \
        "the tracer recorded every call in full"
    return per_call


def sdk_side(side, stream, rounds):
    """Fastest round and the rounds' spread, in µs per call, of one side in this process
    (OpenLLMetry instruments a process for good: toggling it per round stacks its wrappers)."""
    client = make_client()
    completions = client.chat.completions

    def call():
        if stream:
            for _ in completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, stream=True):
                pass
        else:
            completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)

    if side == "openllmetry":
        otel = _openllmetry()
        if otel is None:
            return None
        otel.instrument()
    if side == "proctor_trace":
        enter, leave = _case_enter, _case_leave
    elif side == "replayed":
        enter, leave = _replay_enter(_recording(call)), _replayed_leave
    else:
        enter, leave = _idle, lambda c: None
    best, spread, cases = rounds_us(call, rounds, {"untraced": (enter, leave)})
    fold = _checked(cases) if cases else None
    return best["untraced"], spread, fold


def measure_sdk(stream, processes=3, rounds=40):
    """Each side in fresh processes, alternating; the fastest of them."""
    results = {}
    for _ in range(processes):
        for side in ("untraced", "proctor_trace", "replayed", "openllmetry"):
            out = subprocess.run([sys.executable, __file__, "--sdk-side", side, "1" if stream else "0", str(rounds)],
                                 check=True, capture_output=True, text=True).stdout.strip()
            if out == "None":
                continue
            best, spread, fold = json.loads(out)
            prev = results.get(side)
            if prev is None or best < prev[0]:
                results[side] = (best, spread, fold)
    return results


class _OpenLLMetry:
    def __init__(self):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.instrumentor = OpenAIInstrumentor()

    def instrument(self):
        self.instrumentor.instrument(tracer_provider=self.provider)

    def uninstrument(self):
        self.instrumentor.uninstrument()
        self.exporter.clear()


def _openllmetry():
    try:
        return _OpenLLMetry()
    except ImportError:
        return None


def measure_tap(stream, rounds):
    """The tap without the SDK's own cost and noise: the same request sent on a bare httpx2
    client and its body read as an SDK reads it."""
    client = httpx2.Client(transport=httpx2.MockTransport(answer))
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES, "tools": TOOLS, "stream": stream}).encode()

    def call():
        request = client.build_request("POST", "http://fake/v1/chat/completions", content=body, headers={"content-type": "application/json"})
        response = client.send(request, stream=stream)
        if stream:
            for _ in response.iter_lines():
                pass
            response.close()
        else:
            json.loads(response.content)

    sides = {
        "untraced": (_idle, lambda c: None),
        "proctor_trace": (_case_enter, _case_leave),
        "replayed": (_replay_enter(_recording(call)), _replayed_leave),
    }
    best, spread, cases = rounds_us(call, rounds, sides)
    _checked(cases)
    return best, spread


def long_conversation(turns, today="2026-12-06"):
    """The messages of a conversation `turns` tool rounds long (about 200 bytes a round)."""
    messages = [{"role": "system", "content": "You are the support agent of Acme Shop. " * 10 + "Today is " + today}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"Where is my order ORD-{i}? It should have come by now."})
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": "lookup_order", "arguments": json.dumps({"order_id": f"ORD-{i}"})}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": json.dumps({"status": "shipped", "eta": "tomorrow"})})
    return messages


def replay_work_us(turns, masked=False, n=200):
    """The replay's own work per call, isolated: a recording of `n` exchanges read, and each
    request compared with its recorded one and answered. `masked`: the request carries another
    date than the recording, which a mask hides."""
    import timeit

    from proctor_trace._cassette import Exchange, Player

    def body_of(messages):
        return json.dumps({"model": "gpt-4o-mini", "messages": messages, "tools": TOOLS}).encode()

    body = body_of(long_conversation(turns, "2026-12-07" if masked else "2026-12-06"))
    masks = [r"\d{4}-\d{2}-\d{2}", r"T-\d+"] if masked else None
    recorded = body_of(long_conversation(turns))
    digest = hashlib.sha256(recorded).hexdigest()
    exchange = Exchange("/v1/chat/completions", json.loads(recorded), 200, "application/json", JSON_BODY, digest).to_json()
    recording = {"version": 1, "exchanges": [exchange] * n}

    def one_case():
        player = Player(recording, "strict", masks)
        for _ in range(n):
            assert player.answer("/v1/chat/completions", body) is not None

    return min(timeit.repeat(one_case, number=5, repeat=5)) / (5 * n) * 1e6, len(body)


def own_work_us(stream, n=20000):
    """The tracer's own work per call, isolated: the request read, every response byte passed
    through, the call closed — on canned bytes, with no HTTP client around it."""
    import timeit

    from proctor_trace import _case, _wire

    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES, "tools": TOOLS, "stream": stream}).encode()
    case = _case.Case("bench")

    def one():
        call, replacement = _wire.begin(case, "/v1/chat/completions", lambda: body)
        if stream:
            call.respond(200, "text/event-stream", None)
            for event in SSE_EVENTS[replacement is not None]:
                call.feed(event)
            call.flush()
            call.end()
        else:
            call.whole(200, "application/json", JSON_BODY)
        if len(case.log) > 100:
            case.log.clear()

    return min(timeit.repeat(one, number=n, repeat=5)) / n * 1e6


def import_ms():
    def interpreter(code):
        runs = []
        for _ in range(9):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append(time.perf_counter() - t)
        return min(runs) * 1000

    bare = interpreter("pass")
    loaded = interpreter("import proctor_trace; proctor_trace.install()")
    return loaded - bare, bare, loaded


def main():
    print("proctor_trace benchmark: OpenAI chat.completions.create, in-process transport, no network")
    print("(us per call: the fastest of many interleaved rounds of ten calls; '+' is what is added")
    print(" to an untraced call; 'noise' is how much the untraced rounds themselves vary)")
    print()
    print("through the openai SDK (each side in its own processes):")
    print("%-14s %9s %18s %18s %18s %8s %13s" % ("call", "untraced", "proctor_trace", "replayed", "OpenLLMetry", "noise", "trace at end"))
    for stream in (False, True):
        r = measure_sdk(stream)
        base, spread, _ = r["untraced"]
        ours, _, fold = r["proctor_trace"]
        replayed = r["replayed"][0]
        otel = "{:8.1f} ({:+7.1f})".format(r["openllmetry"][0], r["openllmetry"][0] - base) if "openllmetry" in r else "   (not installed)"
        print("%-14s %9.1f %8.1f (%+7.1f) %8.1f (%+7.1f) %s %8.1f %13.1f" % (
            "streamed" if stream else "non-streamed", base, ours, ours - base, replayed, replayed - base, otel, spread, fold))
    print()
    print("the tap alone (a bare httpx2 client sends the same request and reads the body):")
    for stream in (False, True):
        best, spread = measure_tap(stream, rounds=200)
        print("%-14s %9.1f %8.1f (%+7.1f) %8.1f (%+7.1f) %18s %8.1f" % (
            "streamed" if stream else "non-streamed", best["untraced"], best["proctor_trace"], best["proctor_trace"] - best["untraced"],
            best["replayed"], best["replayed"] - best["untraced"], "", spread))
    print()
    print("the replay's own work per call, isolated (recording read, request compared, answer handed back):")
    for turns, masked in ((1, False), (50, False), (1, True), (50, True)):
        us, size = replay_work_us(turns, masked)
        what = "{} tool round(s), {:.1f} KB request{}".format(turns, size / 1024, ", a masked date differs" if masked else "")
        print("%-50s %9.1f" % (what, us))
    print()
    print("the tracer's own work per call, isolated (request read, body passed through, call closed):")
    for stream in (False, True):
        print("%-14s %9.1f" % ("streamed" if stream else "non-streamed", own_work_us(stream)))
    print()
    print("targets: proctor_trace adds <= 20 us per non-streamed call, <= 40 us per streamed call;")
    print("         a replayed call takes <= 50 us more than an untraced one")
    added, bare, loaded = import_ms()
    print(f"import proctor_trace + install(): {added:.1f} ms (fresh interpreter {bare:.1f} ms, with it {loaded:.1f} ms)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--sdk-side":
        print(json.dumps(sdk_side(sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]))))
    else:
        main()
