"""Agents on third-party frameworks (`examples/frameworks/agent.py`), traced with no code change:
every LLM request the fake LLM received is one recorded call, with its model, tokens, tools
offered and chosen and stream flag, and every tool the model asked for is recorded with its
arguments and result."""

import importlib.util
import pathlib

import pytest

import proctor_trace

_spec = importlib.util.spec_from_file_location(
    "frameworks", pathlib.Path(__file__).resolve().parents[2] / "examples" / "frameworks" / "agent.py")
frameworks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(frameworks)


def run(fake_llm, agent, stream):
    fake_llm.requests.clear()
    with proctor_trace.case("order", input=frameworks.QUESTION) as c:
        answer = agent(frameworks.QUESTION, stream=stream)
    return answer, c.to_trace(), list(fake_llm.requests)


def assert_order_trace(trace, requests, provider, model):
    llm = trace["llm_calls"]
    assert len(llm) == len(requests) == 2, (llm, requests)
    assert [c["provider"] for c in llm] == [provider, provider]
    assert all(c["model"] == model for c in llm), llm
    assert [c["streamed"] for c in llm] == [streamed for _, streamed in requests], "as sent on the wire"
    assert all(c["tools_offered"] == ["lookup_order"] for c in llm), llm
    assert [c["tools_chosen"] for c in llm] == [["lookup_order"], []]
    assert all(c["input_tokens"] > 0 and c["output_tokens"] > 0 for c in llm), llm
    assert all(c["error"] is None for c in llm), llm
    [tool] = trace["tool_calls"]
    assert tool["name"] == "lookup_order"
    assert tool["arguments"] == {"order_id": "ORD-1001"}
    assert tool["result"] == frameworks.lookup_order("ORD-1001"), "an object, whichever path carried it"
    assert tool["order"] == 0 and tool["call_id"]
    assert tool["duration_ms"] is not None and tool["duration_ms"] >= 0


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name", list(frameworks.AGENTS))
def test_a_framework_agent_is_traced_in_full(fake_llm, name, stream):
    agent, provider, model = frameworks.AGENTS[name]
    answer, trace, requests = run(fake_llm, agent, stream)
    assert "shipped" in answer, answer
    assert_order_trace(trace, requests, provider, model)
    if stream:
        assert all(streamed for _, streamed in requests)
    assert "shipped" in trace["output"], "the final answer"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_langchain_keeps_one_record_per_call_with_wire_tokens_and_measured_tools(fake_llm, stream):
    _, trace, _ = run(fake_llm, frameworks.langgraph_openai, stream)
    assert [c["provider"] for c in trace["llm_calls"]] == ["openai", "openai"], "not one from each source"
    assert trace["tool_calls"][0]["duration_source"] == "measured", "LangChain ran the tool and timed it"


def test_a_langchain_model_off_the_wire_is_recorded_from_its_callbacks_with_results_as_objects(fake_llm, monkeypatch):
    from proctor_trace import protocols

    monkeypatch.setattr(protocols, "route", lambda path: None)  # as if its HTTP client were not tapped
    monkeypatch.setattr("proctor_trace._wire.route", lambda path: None)
    _, trace, requests = run(fake_llm, frameworks.langgraph_openai, False)
    assert [c["provider"] for c in trace["llm_calls"]] == ["langchain", "langchain"] and len(requests) == 2
    assert [c["tools_chosen"] for c in trace["llm_calls"]] == [["lookup_order"], []]
    [tool] = trace["tool_calls"]
    assert tool["result"] == frameworks.lookup_order("ORD-1001") and tool["duration_source"] == "measured"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name", list(frameworks.AGENTS))
def test_a_framework_agent_replayed_reaches_no_model_and_traces_the_same(fake_llm, name, stream):
    agent = frameworks.AGENTS[name][0]
    with proctor_trace.case("order", input=frameworks.QUESTION) as recorded:
        answer = agent(frameworks.QUESTION, stream=stream)
    trace, recording = recorded.to_trace(), recorded.recording()

    fake_llm.requests.clear()
    with proctor_trace.case("order", input=frameworks.QUESTION, replay=recording) as c:
        again = agent(frameworks.QUESTION, stream=stream)
    replayed = c.to_trace()
    assert fake_llm.requests == [], "a replay never reaches the model"
    assert again == answer
    assert replayed["replay"]["replayed"] == 2 and replayed["replay"]["live"] == 0, replayed["replay"]
    keep = ("provider", "model", "input_tokens", "output_tokens", "tools_chosen", "streamed")
    assert [{k: x[k] for k in keep} for x in replayed["llm_calls"]] == [{k: x[k] for k in keep} for x in trace["llm_calls"]]
    assert [(t["name"], t["arguments"], t["result"]) for t in replayed["tool_calls"]] == \
        [(t["name"], t["arguments"], t["result"]) for t in trace["tool_calls"]]
