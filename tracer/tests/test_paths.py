"""Every path an SDK call can take reaches the same wire parser: raw and streaming-response
wrappers, `beta`, `parse`/`stream` helpers, the client's own `post`, Azure and Vertex clients.
Each call below sends one request; exactly one call is recorded, read in full."""

import asyncio
import json

import anthropic
import openai
import pytest
import sdk_agents as agents

import proctor_trace

MESSAGES = [{"role": "user", "content": agents.QUESTION}]
STRICT_SCHEMA = dict(agents.WEATHER_SCHEMA, additionalProperties=False)
STRICT_CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": STRICT_SCHEMA, "strict": True}}]
STRICT_RESPONSES_TOOLS = [{"type": "function", "name": "get_weather", "parameters": STRICT_SCHEMA, "strict": True}]


def _chat(client, tools=agents.OPENAI_TOOLS[:1], **kw):
    return dict(model=agents.MODEL_OPENAI, messages=MESSAGES, tools=tools, **kw)


def _responses(tools=agents.RESPONSES_TOOLS, **kw):
    return dict(model=agents.MODEL_OPENAI, input=agents.QUESTION, tools=tools, **kw)


def _messages(**kw):
    return dict(model=agents.MODEL_ANTHROPIC, max_tokens=256, messages=MESSAGES, tools=agents.ANTHROPIC_TOOLS, **kw)


def _drain(obj):
    """Reads whatever the path returned the way its users do."""
    if hasattr(obj, "iter_lines"):  # a streaming-response wrapper
        return list(obj.iter_lines())
    if hasattr(obj, "parse"):  # a raw response
        parsed = obj.parse()
        return list(parsed) if hasattr(parsed, "__iter__") and not hasattr(parsed, "model_dump") else parsed
    if hasattr(obj, "__iter__") and not hasattr(obj, "model_dump"):
        return list(obj)
    return obj


OPENAI_PATHS = {
    "chat.with_raw_response": (False, lambda c: _drain(c.chat.completions.with_raw_response.create(**_chat(c)))),
    "chat.with_raw_response stream": (True, lambda c: _drain(c.chat.completions.with_raw_response.create(**_chat(c, stream=True)))),
    "chat.with_streaming_response": (False, lambda c: _stream_ctx(c.chat.completions.with_streaming_response.create(**_chat(c)))),
    "chat.with_streaming_response stream": (True, lambda c: _stream_ctx(c.chat.completions.with_streaming_response.create(**_chat(c, stream=True)))),
    "chat.parse": (False, lambda c: c.chat.completions.parse(**_chat(c, tools=STRICT_CHAT_TOOLS))),
    "chat.stream helper": (True, lambda c: _helper(c.chat.completions.stream(**_chat(c, tools=STRICT_CHAT_TOOLS)))),
    "responses.with_raw_response": (False, lambda c: _drain(c.responses.with_raw_response.create(**_responses()))),
    "responses.with_streaming_response stream": (True, lambda c: _stream_ctx(c.responses.with_streaming_response.create(**_responses(stream=True)))),
    "responses.parse": (False, lambda c: c.responses.parse(**_responses(tools=STRICT_RESPONSES_TOOLS))),
    "responses.stream helper": (True, lambda c: _helper(c.responses.stream(**_responses()))),
    "client.post with cast_to": (False, lambda c: c.post("/chat/completions", body=_chat(c), cast_to=openai.types.chat.ChatCompletion)),
    "azure": (False, lambda c: openai.AzureOpenAI(azure_endpoint=c.base_url.scheme + "://" + c.base_url.netloc.decode(), api_version="2024-10-21",
                                                    api_key="k", azure_deployment=agents.MODEL_OPENAI, max_retries=0).chat.completions.create(**_chat(c))),
}


ANTHROPIC_PATHS = {
    "messages.with_raw_response": (False, lambda c: _drain(c.messages.with_raw_response.create(**_messages()))),
    "messages.with_streaming_response stream": (True, lambda c: _stream_ctx(c.messages.with_streaming_response.create(**_messages(stream=True)))),
    "beta.messages.create": (False, lambda c: c.beta.messages.create(**_messages())),
    "beta.messages.create stream": (True, lambda c: list(c.beta.messages.create(**_messages(stream=True)))),
    "beta.messages.stream": (True, lambda c: _helper(c.beta.messages.stream(**_messages()))),
    "beta.messages.with_raw_response": (False, lambda c: _drain(c.beta.messages.with_raw_response.create(**_messages()))),
    "vertex": (False, lambda c: anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t", max_retries=0,
                                                            base_url=str(c.base_url).rstrip("/") + "/v1").messages.create(**_messages())),
    "vertex stream": (True, lambda c: list(anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t", max_retries=0,
                                                                       base_url=str(c.base_url).rstrip("/") + "/v1").messages.create(**_messages(stream=True)))),
}


def _stream_ctx(manager):
    with manager as response:
        return list(response.iter_lines())


def _helper(manager):
    with manager as stream:
        for _ in stream:
            pass


def _check(fake_llm, client, run, streamed, model):
    fake_llm.requests.clear()
    with proctor_trace.case("path") as c:
        run(client)
    [call] = c.to_trace()["llm_calls"]
    assert len(fake_llm.requests) == 1
    assert call["streamed"] is streamed
    assert call["model"] == model
    assert call["input_tokens"] > 0 and call["output_tokens"] > 0, call
    assert call["tools_offered"] == ["get_weather"] and call["tools_chosen"] == ["get_weather"], call
    assert call["error"] is None
    [tool] = c.to_trace()["tool_calls"]
    assert tool["arguments"] == {"city": "Paris"}


@pytest.mark.parametrize("name", list(OPENAI_PATHS))
def test_openai_path(fake_llm, name):
    streamed, run = OPENAI_PATHS[name]
    _check(fake_llm, openai.OpenAI(max_retries=0), run, streamed, agents.MODEL_OPENAI)


@pytest.mark.parametrize("name", list(ANTHROPIC_PATHS))
def test_anthropic_path(fake_llm, name):
    streamed, run = ANTHROPIC_PATHS[name]
    _check(fake_llm, anthropic.Anthropic(max_retries=0), run, streamed, agents.MODEL_ANTHROPIC)


def test_async_streaming_response_of_the_responses_api(fake_llm):
    async def go():
        client = openai.AsyncOpenAI(max_retries=0)
        async with client.responses.with_streaming_response.create(**_responses(stream=True)) as response:
            return [line async for line in response.iter_lines()]

    fake_llm.requests.clear()
    with proctor_trace.case("async") as c:
        lines = asyncio.run(go())
    assert any("response.completed" in line for line in lines)
    [call] = c.to_trace()["llm_calls"]
    assert call["streamed"] and call["tools_chosen"] == ["get_weather"] and call["output_tokens"] > 0


def test_a_request_the_sdk_refuses_before_sending_is_not_a_call(fake_llm):
    fake_llm.requests.clear()
    with proctor_trace.case("refused") as c, pytest.raises(TypeError):
        openai.OpenAI(max_retries=0).chat.completions.create(model=agents.MODEL_OPENAI)  # no messages
    assert c.to_trace()["llm_calls"] == [] and fake_llm.requests == []


def test_a_connection_that_never_opened_is_not_a_call_but_an_answered_error_is():
    with proctor_trace.case("down") as c, pytest.raises(openai.APIConnectionError):
        openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0).chat.completions.create(model="m", messages=MESSAGES)
    assert c.to_trace()["llm_calls"] == []


def test_a_streamed_call_makes_no_reference_cycles(fake_llm):
    import contextlib
    import gc

    client = openai.OpenAI(max_retries=0)

    def garbage(traced):
        gc.collect()
        gc.disable()
        try:
            with proctor_trace.case("gc") if traced else contextlib.nullcontext():
                for _ in range(20):
                    list(client.chat.completions.create(**_chat(client, stream=True)))
            return gc.collect()
        finally:
            gc.enable()

    untraced = garbage(False)
    if untraced:
        pytest.skip("this SDK version's own streams are cyclic garbage (%d objects), so the tracer's ride along" % untraced)
    assert garbage(True) == 0, "a traced stream is freed by reference counting, as an untraced one"


def test_tool_results_handed_back_as_plain_text_complete_the_call(fake_llm):
    client = openai.OpenAI(max_retries=0)
    with proctor_trace.case("text-results") as c:
        first = client.chat.completions.create(**_chat(client)).choices[0].message
        call_id = first.tool_calls[0].id
        observation = "Call id: {}\nObservation:\n{}".format(call_id, json.dumps(agents.get_weather("Paris")))
        client.chat.completions.create(model=agents.MODEL_OPENAI, messages=MESSAGES + [
            {"role": "assistant", "content": "Calling tools: get_weather"}, {"role": "user", "content": observation}])
    [tool] = c.to_trace()["tool_calls"]
    assert "sunny" in tool["result"] and tool["duration_source"] == "inferred"


def _smolagents_history(calls):
    """The two messages smolagents 1.x writes after a tool-calling step: the calls as text
    (a Python repr), and their observations, one line each in the order of the call ids, with
    no call id."""
    listed = [{"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": json.loads(c.function.arguments)}} for c in calls]
    observed = "\n".join(str(agents.get_weather(json.loads(c.function.arguments)["city"])) for c in sorted(calls, key=lambda c: c.id))
    return [{"role": "assistant", "content": [{"type": "text", "text": "Calling tools:\n" + str(listed)}]},
            {"role": "user", "content": [{"type": "text", "text": "Observation:\n" + observed}]}]


def test_a_text_history_without_call_ids_is_paired_by_order(fake_llm):
    """smolagents 1.x hands tool results back as `Observation:` text that does not repeat the
    call id; the observation completes the call of the step before it, read as data."""
    client = openai.OpenAI(max_retries=0)
    with proctor_trace.case("smolagents") as c:
        first = client.chat.completions.create(**_chat(client)).choices[0].message
        client.chat.completions.create(model=agents.MODEL_OPENAI, messages=MESSAGES + _smolagents_history(first.tool_calls))
    [tool] = c.to_trace()["tool_calls"]
    assert tool["result"] == agents.get_weather("Paris"), tool
    assert tool["duration_source"] == "inferred"


def _two_calls_then_text():
    """A model that calls get_weather twice in one answer, then answers in text."""
    import httpx

    def answer(request):
        body = json.loads(request.content)
        if len(body["messages"]) == 1:
            calls = [{"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": "Lyon"})}},
                     {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]
            message = {"role": "assistant", "content": None, "tool_calls": calls}
        else:
            message = {"role": "assistant", "content": "Both sunny."}
        return httpx.Response(200, json={"id": "c", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                                         "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                                         "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}})
    return openai.OpenAI(api_key="k", base_url="http://fake/v1", http_client=httpx.Client(transport=httpx.MockTransport(answer)), max_retries=0)


def test_observations_of_parallel_calls_are_paired_in_the_order_of_their_ids():
    client = _two_calls_then_text()
    with proctor_trace.case("smolagents-parallel") as c:
        first = client.chat.completions.create(**_chat(client)).choices[0].message
        client.chat.completions.create(model=agents.MODEL_OPENAI, messages=MESSAGES + _smolagents_history(first.tool_calls))
    results = {t["arguments"]["city"]: t["result"] for t in c.to_trace()["tool_calls"]}
    assert results == {"Lyon": agents.get_weather("Lyon"), "Paris": agents.get_weather("Paris")}, results


def test_observations_that_cannot_be_told_apart_are_left_unpaired():
    """Two calls and an observation of one line: pairing it with either would be a guess."""
    client = _two_calls_then_text()
    with proctor_trace.case("smolagents-ambiguous") as c:
        first = client.chat.completions.create(**_chat(client)).choices[0].message
        history = _smolagents_history(first.tool_calls)
        history[1]["content"][0]["text"] = "Observation:\nboth sunny"
        client.chat.completions.create(model=agents.MODEL_OPENAI, messages=MESSAGES + history)
    assert [t["result"] for t in c.to_trace()["tool_calls"]] == [None, None]


def test_a_compressed_body_read_as_it_streams_is_decoded_for_the_trace():
    import gzip

    import httpx2

    body = json.dumps({"id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "It shipped."}}],
                       "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}).encode()
    packed = gzip.compress(body)
    transport = httpx2.MockTransport(lambda request: httpx2.Response(
        200, content=iter([packed[:20], packed[20:]]), headers={"content-type": "application/json", "content-encoding": "gzip"}))
    client = openai.OpenAI(api_key="k", base_url="http://fake/v1", http_client=httpx2.Client(transport=transport), max_retries=0)
    with proctor_trace.case("gzip") as c, client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.parse().choices[0].message.content == "It shipped."
    [call] = c.to_trace()["llm_calls"]
    assert (call["input_tokens"], call["output_tokens"]) == (9, 3)
    assert c.to_trace()["output"] == "It shipped."


def test_the_stream_the_tracer_asks_usage_of_is_sent_uncompressed(fake_llm):
    import httpx2

    seen = []

    def answer(request):
        seen.append((request.headers.get("accept-encoding"), json.loads(request.content).get("stream_options")))
        return httpx2.Response(200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(api_key="k", base_url="http://fake/v1", http_client=httpx2.Client(transport=httpx2.MockTransport(answer)), max_retries=0)
    with proctor_trace.case("identity"):
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert seen == [("identity", {"include_usage": True})]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_client_posting_through_aiohttp_itself_is_traced(fake_llm, stream):
    """Frameworks that speak the OpenAI protocol through aiohttp (and google-genai's async
    client, whenever aiohttp is installed) go through the same parser."""
    aiohttp = pytest.importorskip("aiohttp")

    async def chat():
        async with aiohttp.ClientSession() as session:
            body = _chat(None, stream=stream)
            async with session.post(fake_llm.url + "/v1/chat/completions", json=body) as response:
                if stream:
                    return [line async for line in response.content]
                return await response.json()

    fake_llm.requests.clear()
    with proctor_trace.case("aiohttp") as c:
        got = asyncio.run(chat())
    [call] = c.to_trace()["llm_calls"]
    assert len(fake_llm.requests) == 1
    assert call["streamed"] is stream and call["tools_chosen"] == ["get_weather"]
    # A stream is asked for usage, as over httpx, and the agent does not see the chunk it did
    # not ask for.
    assert call["input_tokens"] > 0 and call["output_tokens"] > 0
    if stream:
        events = [line for line in got if line.startswith(b"data: {")]
        assert events and not any(b'"choices": []' in e or b'"choices":[]' in e for e in events), got
        assert got[-2:] == [b"data: [DONE]\n", b"\n"], got[-3:]
    [tool] = c.to_trace()["tool_calls"]
    assert tool["arguments"] == {"city": "Paris"}


def _eventstream_message(headers, payload):
    """One message of AWS's event-stream framing, CRCs included, as Bedrock sends it."""
    import struct
    import zlib

    raw = b""
    for name, value in headers.items():
        encoded = value.encode()
        raw += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(encoded)) + encoded
    total = 12 + len(raw) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + raw + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _bedrock_stream(events):
    import base64

    chunks = [_eventstream_message({":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
                                   json.dumps({"bytes": base64.b64encode(json.dumps(e).encode()).decode(), "p": "abcd"}).encode())
              for e in events]
    return b"".join(chunks)


BEDROCK_EVENTS = [
    {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                                          "content": [], "usage": {"input_tokens": 21, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "ris\"}"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
    {"type": "message_stop"},
]


@pytest.mark.parametrize("pieces", [1, 7], ids=["whole", "in-pieces"])
def test_a_bedrock_stream_in_aws_event_stream_framing_gives_usage_and_tool_calls(pieces):
    """Bedrock's streaming endpoint frames Anthropic's events in AWS's binary event stream; the
    tracer reads the frames, however the bytes arrive, for the call's usage and tool calls."""
    import httpx

    body = _bedrock_stream(BEDROCK_EVENTS)
    cut = [body[i * len(body) // pieces:(i + 1) * len(body) // pieces] for i in range(pieces)]
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=iter(cut), headers={"content-type": "application/vnd.amazon.eventstream"}))
    path = "/model/anthropic.claude-haiku-4-5-v1:0/invoke-with-response-stream"
    with proctor_trace.case("bedrock") as c, httpx.Client(transport=transport) as client:
        request = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": MESSAGES,
                   "tools": [{"name": "get_weather", "input_schema": agents.WEATHER_SCHEMA}]}
        with client.stream("POST", "https://bedrock-runtime.us-east-1.amazonaws.com" + path, json=request) as response:
            assert b"".join(response.iter_bytes()) == body, "the agent reads the bytes as sent"
    [call] = c.to_trace()["llm_calls"]
    assert (call["input_tokens"], call["output_tokens"]) == (21, 9)
    assert call["streamed"] is True and call["model"] == "claude-haiku-4-5"
    assert call["tools_chosen"] == ["get_weather"]
    [tool] = c.to_trace()["tool_calls"]
    assert tool["arguments"] == {"city": "Paris"}


def test_a_bedrock_exception_in_the_stream_is_the_calls_error():
    import httpx

    from proctor_trace import _eventstream

    body = _bedrock_stream(BEDROCK_EVENTS[:1]) + _eventstream_message(
        {":exception-type": "throttlingException", ":content-type": "application/json", ":message-type": "exception"},
        json.dumps({"message": "Too many requests, please wait before trying again."}).encode())
    assert [e["type"] for e in _eventstream.events(body)] == ["message_start", "error"]
    assert _eventstream.events(body[:-5])[-1]["type"] == "message_start", "a cut last message is left out"
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "application/vnd.amazon.eventstream"}))
    with proctor_trace.case("bedrock-error") as c, httpx.Client(transport=transport) as client:
        client.post("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke-with-response-stream",
                    json={"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": MESSAGES})
    [call] = c.to_trace()["llm_calls"]
    assert "Too many requests" in (call["error"] or ""), call
