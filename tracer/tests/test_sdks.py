"""Every SDK × sync/async × stream/non-stream, against the fake LLM: the tracer captures the model,
tokens, tools offered and chosen, tool arguments and results, and their order."""

import asyncio
import json

import pytest
import sdk_agents as agents

import proctor_trace


def _openai():
    import openai
    return openai.OpenAI(max_retries=0), openai.AsyncOpenAI(max_retries=0)


def _anthropic():
    import anthropic
    return anthropic.Anthropic(max_retries=0), anthropic.AsyncAnthropic(max_retries=0)


def _gemini():
    from google import genai
    client = genai.Client(api_key="fake-key")
    return client, client


CASES = [
    ("openai", "chat", _openai, agents.openai_chat_sync, agents.openai_chat_async, agents.MODEL_OPENAI, ["get_weather", "send_email"]),
    ("openai", "responses", _openai, agents.openai_responses_sync, agents.openai_responses_async, agents.MODEL_OPENAI, ["get_weather"]),
    ("anthropic", "messages", _anthropic, agents.anthropic_sync, agents.anthropic_async, agents.MODEL_ANTHROPIC, ["get_weather"]),
    ("gemini", "generate", _gemini, agents.gemini_sync, agents.gemini_async, agents.MODEL_GEMINI, ["get_weather"]),
]


def run_case(clients, sync_agent, async_agent, is_async, stream):
    sync_client, async_client = clients()
    with proctor_trace.case("weather", input=agents.QUESTION) as c:
        if is_async:
            answer = asyncio.run(async_agent(async_client, stream))
        else:
            answer = sync_agent(sync_client, stream)
    return answer, c.to_trace()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider,api,clients,sync_agent,async_agent,model,offered", CASES, ids=[c[0] + "-" + c[1] for c in CASES])
def test_captures_a_tool_calling_conversation(fake_llm, provider, api, clients, sync_agent, async_agent, model, offered, is_async, stream):
    answer, trace = run_case(clients, sync_agent, async_agent, is_async, stream)

    assert "get_weather returned" in answer and "sunny" in answer, answer
    llm = trace["llm_calls"]
    assert [c["provider"] for c in llm] == [provider, provider]
    assert all(c["model"] == model for c in llm), llm
    assert all(c["streamed"] is stream for c in llm)
    assert all(c["tools_offered"] == offered for c in llm)
    assert [c["tools_chosen"] for c in llm] == [["get_weather"], []]
    assert all(c["input_tokens"] > 0 and c["output_tokens"] > 0 for c in llm), llm
    assert llm[1]["input_tokens"] > llm[0]["input_tokens"], "the second request carries the tool result"
    assert all(c["error"] is None and c["latency_ms"] >= 0 for c in llm)

    [tool] = trace["tool_calls"]
    assert tool["name"] == "get_weather"
    assert tool["arguments"] == {"city": "Paris"}
    result = tool["result"]
    if isinstance(result, str):
        result = json.loads(result)
    assert result == agents.get_weather("Paris")
    assert tool["order"] == 0
    assert tool["duration_source"] == "inferred" and tool["duration_ms"] >= 0
    if provider != "gemini":
        assert tool["call_id"]
    assert trace["input"] == agents.QUESTION
