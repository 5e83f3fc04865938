"""Exact tool timing: the decorator and the LangChain handler."""

import asyncio
import time

import openai
import sdk_agents as agents

import proctor_trace


def test_the_decorator_measures_a_tool_and_fills_the_models_call(fake_llm, monkeypatch):
    @proctor_trace.tool
    def get_weather(city):
        time.sleep(0.02)
        return {"city": city, "forecast": "sunny", "celsius": 21}

    monkeypatch.setattr(agents, "get_weather", get_weather)
    with proctor_trace.case("timed") as c:
        agents.openai_chat_sync(openai.OpenAI(max_retries=0), stream=False)
    [tool] = c.to_trace()["tool_calls"]
    assert tool["duration_source"] == "measured"
    assert 20 <= tool["duration_ms"] < 1000
    assert tool["call_id"], "merged with the call the model made"
    assert tool["arguments"] == {"city": "Paris"}


def test_the_decorator_times_async_tools_and_records_errors():
    @proctor_trace.tool(name="lookup_order")
    async def lookup(order_id):
        await asyncio.sleep(0.01)
        raise KeyError(order_id)

    with proctor_trace.case("async-tool") as c:
        try:
            asyncio.run(lookup("ORD-1"))
        except KeyError:
            pass
    [tool] = c.to_trace()["tool_calls"]
    assert tool["name"] == "lookup_order"
    assert tool["arguments"] == {"order_id": "ORD-1"}
    assert tool["error"].startswith("KeyError")
    assert tool["duration_ms"] >= 10


def test_langchain_tools_and_llm_calls_are_recorded_without_code_change():
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    @tool
    def lookup_order(order_id: str) -> str:
        """Find an order."""
        time.sleep(0.01)
        return f"order {order_id}: shipped"

    model = GenericFakeChatModel(messages=iter([AIMessage(content="", tool_calls=[{"name": "lookup_order", "args": {"order_id": "A1"}, "id": "call_9"}]), AIMessage(content="It shipped.")]))
    with proctor_trace.case("lc") as c:
        first = model.invoke("where is order A1?")
        for call in first.tool_calls:
            lookup_order.invoke(call)
        model.invoke("and now?")
    trace = c.to_trace()
    assert [x["provider"] for x in trace["llm_calls"]] == ["langchain", "langchain"]
    assert trace["llm_calls"][0]["tools_chosen"] == ["lookup_order"]
    [tool_call] = trace["tool_calls"]
    assert tool_call["name"] == "lookup_order"
    assert tool_call["call_id"] == "call_9"
    assert tool_call["duration_source"] == "measured" and tool_call["duration_ms"] >= 10
    assert "shipped" in str(tool_call["result"])


def test_an_llm_call_through_langchain_and_a_patched_sdk_is_recorded_once(fake_llm):
    from langchain_core.runnables import RunnableLambda

    def call_openai(question):
        return openai.OpenAI(max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}]).choices[0].message.content

    with proctor_trace.case("once") as c:
        RunnableLambda(call_openai).invoke("hello")
    assert [x["provider"] for x in c.to_trace()["llm_calls"]] == ["openai"]
