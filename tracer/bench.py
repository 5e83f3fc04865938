"""The tracer's cost, printed as figures (not asserted): `python bench.py`.

- Per LLM call: the same OpenAI `chat.completions.create` call, through an in-process transport
  that returns a canned tool-call response, with the tracer's patch and without it (the original
  method), inside a case. The difference is what the tracer adds.
- Import: `import proctor_trace` + `install()` in a fresh interpreter, minus a bare interpreter.
"""

import json
import statistics
import subprocess
import sys
import time

import httpx2
import openai

import proctor_trace
from proctor_trace.providers import openai as _openai_provider  # noqa: F401  (patched below)

CANNED = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"order_id\": \"ORD-1\"}"}}]}}],
    "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
}
BODY = json.dumps(CANNED).encode()
TOOLS = [{"type": "function", "function": {"name": n, "description": "d", "parameters": {"type": "object", "properties": {}}}} for n in ("lookup_order", "refund", "verify_id")]
MESSAGES = [{"role": "user", "content": "Refund order ORD-1"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "{\"status\": \"shipped\"}"}]


def make_client():
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=BODY, headers={"content-type": "application/json"}))
    return openai.OpenAI(api_key="x", base_url="http://fake/v1", http_client=httpx2.Client(transport=transport), max_retries=0)


def per_call_us(fn, n):
    samples = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(samples)


def main():
    proctor_trace.install()
    from openai.resources.chat.completions.completions import Completions

    client = make_client()
    patched = Completions.create
    original = patched.__wrapped__
    completions = client.chat.completions

    def traced():
        patched(completions, model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)

    def untraced():
        original(completions, model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)

    n = 500
    with_tracer, without = [], []
    with proctor_trace.case("bench") as case:
        per_call_us(traced, 200)
        per_call_us(untraced, 200)
        # Interleaved rounds, so drift in the machine's speed hits both sides alike.
        for _ in range(15):
            with_tracer.append(per_call_us(traced, n))
            without.append(per_call_us(untraced, n))
            case.llm_calls.clear()
            case.tool_calls.clear()
            case._pending.clear()
    with_tracer, without = statistics.median(with_tracer), statistics.median(without)
    print("proctor_trace benchmark (OpenAI chat.completions.create, in-process transport, inside a case)")
    print("  per call without the tracer: %8.1f us" % without)
    print("  per call with the tracer:    %8.1f us" % with_tracer)
    print("  added by the tracer:         %8.1f us per LLM call (target <= 20 us)" % (with_tracer - without))

    # The tracer's own work, without the SDK's noise: the same wrapper around a method that
    # returns the parsed response at once.
    from openai.types.chat import ChatCompletion
    from proctor_trace._patch import llm_method
    from proctor_trace.providers.openai import ChatSpec

    parsed = ChatCompletion.model_validate(CANNED)

    def instant(self, **kwargs):
        return parsed

    wrapped = llm_method(ChatSpec, False)(instant)
    own, base = [], []
    with proctor_trace.case("bench") as case:
        for _ in range(9):
            own.append(per_call_us(lambda: wrapped(None, model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS), 5000))
            base.append(per_call_us(lambda: instant(None, model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS), 5000))
            case.llm_calls.clear()
            case.tool_calls.clear()
            case._pending.clear()
    print("  the tracer's own work per call (isolated): %.1f us" % (statistics.median(own) - statistics.median(base)))

    def interpreter(code):
        runs = []
        for _ in range(9):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append(time.perf_counter() - t)
        return statistics.median(runs) * 1000

    bare = interpreter("pass")
    loaded = interpreter("import proctor_trace; proctor_trace.install()")
    print("  import proctor_trace + install(): %.1f ms (fresh interpreter %.1f ms, with it %.1f ms)" % (loaded - bare, bare, loaded))


if __name__ == "__main__":
    main()
