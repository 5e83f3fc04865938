"""Memory bounded per call, not per case: a long conversation's requests each repeat the whole
history, so a case that kept every raw request body until its trace was built grew with the
square of its turns. Each call is read when its response ends and its bytes let go of (spooled
to disk when the case records); the case keeps what each call came to."""

import gc
import json
import tracemalloc

import httpx
import openai

import proctor_trace

TURNS = 50
# Each turn adds a tool result and a user message this long: the last request carries about
# 1 MB of history, and the requests together about 25 MB.
PART = 10_000
# What the case may keep after 50 turns: the turns' new content (1 MB) and what was read of
# each call, not the requests (about 25 MB).
BOUND = 2_000_000


def _model(sizes):
    """A model that calls `lookup` once per answer, its call id numbered by the turn; the size
    of each request body it is sent goes to `sizes`."""

    def answer(request):
        sizes.append(len(request.content))
        body = json.loads(request.content)
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        call = {"id": f"call_{turn}", "type": "function", "function": {"name": "lookup", "arguments": json.dumps({"turn": turn})}}
        return httpx.Response(200, json={
            "id": f"c{turn}", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
            "usage": {"prompt_tokens": 10 + turn, "completion_tokens": 3, "total_tokens": 13 + turn},
        })

    transport = httpx.MockTransport(answer)
    return openai.OpenAI(api_key="k", base_url="http://fake/v1", http_client=httpx.Client(transport=transport), max_retries=0)


def _converse(client, turns):
    """A conversation of `turns` requests."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    history = [{"role": "user", "content": "u0 " + "x" * PART}]
    for turn in range(turns):
        message = client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=tools).choices[0].message
        [call] = message.tool_calls
        history.append({"role": "assistant", "content": None, "tool_calls": [call.model_dump()]})
        history.append({"role": "tool", "tool_call_id": call.id, "content": f"result {turn} " + "r" * PART})
        history.append({"role": "user", "content": f"u{turn + 1} " + "x" * PART})


def test_a_fifty_turn_conversation_keeps_memory_bounded_per_call():
    """Measured on a case that records, as the runner's are by default: its bytes go to disk."""
    sizes = []
    client = _model(sizes)
    # What the SDKs and the tracer allocate once, on first use, is not the case's.
    with proctor_trace.case("warm-up") as warm:
        _converse(client, 2)
    warm.to_trace()
    warm.recording()
    del warm
    sizes.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with proctor_trace.case("fifty-turns") as c:
            _converse(client, TURNS)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    sent = sum(sizes)
    assert len(sizes) == TURNS and sent > 20_000_000, sizes
    assert kept < BOUND, f"the case keeps {kept:,} bytes after {TURNS} turns ({sent:,} bytes sent)"

    trace = c.to_trace(redact=False)
    assert len(trace["llm_calls"]) == TURNS
    tools = trace["tool_calls"]
    assert len(tools) == TURNS
    # Every call but the last was answered in the next request, from the earliest request
    # that carried its result.
    for turn, tool in enumerate(tools[:-1]):
        assert tool["call_id"] == f"call_{turn}"
        assert str(tool["result"]).startswith(f"result {turn} r"), (turn, str(tool["result"])[:40])
    assert tools[-1]["result"] is None

    exchanges = c.recording()["exchanges"]
    # The recording is whole: each request as it was sent, the last one with all 150 messages.
    assert len(exchanges) == TURNS
    assert len(exchanges[-1]["request"]["messages"]) == 3 * TURNS - 2
    assert exchanges[-1]["request"]["messages"][-1]["content"].startswith(f"u{TURNS - 1} ")
    assert json.loads(exchanges[7]["body"])["choices"][0]["message"]["tool_calls"][0]["id"] == "call_7"


def test_a_case_that_does_not_record_lets_go_of_its_calls():
    client = _model([])
    with proctor_trace.case("unrecorded", record=False) as c:
        _converse(client, 3)
    assert c.recording()["exchanges"] == []
    assert [t["call_id"] for t in c.to_trace()["tool_calls"]] == ["call_0", "call_1", "call_2"]
    assert all(call.read is not None and call.request == b"" and call.chunks == [] for call in c.log)
