"""The tracer never changes what the agent sees: errors propagate unchanged, tracer faults stay
inside the tracer, streams behave as without it, and concurrent cases never mix."""

import asyncio
import gc
import json

import openai
import pytest
import sdk_agents as agents

import proctor_trace
from proctor_trace import _fault
from proctor_trace.protocols import openai_chat


def client():
    return openai.OpenAI(max_retries=0)


def test_an_sdk_error_propagates_unchanged_and_is_recorded(fake_llm):
    messages = [{"role": "user", "content": "please trigger-error now"}]
    with proctor_trace.case("err") as c, pytest.raises(openai.BadRequestError) as traced:
        client().chat.completions.create(model="gpt-4o", messages=messages)
    with pytest.raises(openai.BadRequestError) as untraced:
        client().chat.completions.create(model="gpt-4o", messages=messages)
    assert str(traced.value) == str(untraced.value)
    [call] = c.to_trace()["llm_calls"]
    assert call["error"].startswith("HTTP 400") and "trigger-error" in call["error"]
    assert call["model"] == "gpt-4o"


def test_a_tracer_fault_leaves_the_agents_result_unchanged_and_stays_off_its_output(fake_llm, monkeypatch, capfd, tmp_path):
    def broken(body):
        raise RuntimeError("tracer bug")

    log = tmp_path / "tracer.log"
    monkeypatch.setenv("PROCTOR_TRACE_LOG", str(log))
    monkeypatch.setattr(_fault, "_reported", set())
    monkeypatch.setattr(openai_chat, "response", broken)
    with proctor_trace.case("fault") as c:
        answer = agents.openai_chat_sync(client(), stream=False)
    assert "get_weather returned" in answer
    assert c.to_trace()["llm_calls"] == []
    out, err = capfd.readouterr()
    assert out == "" and err == "", "nothing reaches the agent's stdout or stderr"
    assert "tracer bug" in log.read_text()


def test_a_fault_is_on_stderr_only_when_debugging(monkeypatch, capfd):
    monkeypatch.setattr(_fault, "_reported", set())
    monkeypatch.delenv("PROCTOR_TRACE_LOG", raising=False)
    _fault.fault("somewhere", ValueError("quiet"))
    assert capfd.readouterr().err == ""
    monkeypatch.setenv("PROCTOR_TRACE_DEBUG", "1")
    _fault.fault("elsewhere", ValueError("loud"))
    assert "elsewhere failed (ValueError: loud)" in capfd.readouterr().err


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_fault_while_reading_the_request_still_lets_the_call_through(fake_llm, monkeypatch, stream):
    monkeypatch.setattr(openai_chat, "request", lambda body, path: 1 / 0)
    with proctor_trace.case("fault") as c:
        answer = agents.openai_chat_sync(client(), stream=stream)
    assert "sunny" in answer
    assert c.to_trace()["llm_calls"] == []


def test_the_usage_chunk_the_tracer_asked_for_is_hidden_from_the_agent(fake_llm):
    messages = [{"role": "user", "content": "hello there"}]
    with proctor_trace.case("usage") as c:
        chunks = list(client().chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True))
    assert all(ch.choices for ch in chunks), "no usage-only chunk reaches an agent that did not ask for one"
    assert c.to_trace()["llm_calls"][0]["output_tokens"] > 0, "but the tracer has the usage"

    with proctor_trace.case("usage"):
        chunks = list(client().chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and not chunks[-1].choices, "an agent that asked for usage still gets it"


@pytest.mark.parametrize("how", ["break", "close", "context", "collected"])
def test_a_stream_left_early_is_recorded_exactly_once(fake_llm, how):
    messages = [{"role": "user", "content": "tell me a long story about the sea"}]
    with proctor_trace.case("early") as c:
        stream = client().chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        if how == "context":
            with stream:
                next(iter(stream))
        else:
            for _ in stream:
                break
            if how == "close":
                stream.close()
            del stream
            if how == "collected":
                gc.collect()
    calls = c.to_trace()["llm_calls"]
    assert len(calls) == 1
    assert calls[0]["streamed"] is True


def test_two_concurrent_asyncio_cases_do_not_mix(fake_llm):
    async_client = openai.AsyncOpenAI(max_retries=0)

    async def one(key, question):
        with proctor_trace.case(key, input=question) as c:
            messages = [{"role": "user", "content": question}]
            for _ in range(3):
                await asyncio.sleep(0)
                await async_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        return c.to_trace()

    async def both():
        return await asyncio.gather(one("a", "first case"), one("b", "second case"), one("c", "third"))

    traces = asyncio.run(both())
    for t in traces:
        assert len(t["llm_calls"]) == 3
    assert [t["input"] for t in traces] == ["first case", "second case", "third"]


def test_without_a_case_nothing_is_recorded_and_calls_work(fake_llm):
    answer = agents.openai_chat_sync(client(), stream=False)
    assert "sunny" in answer
    assert proctor_trace.current_case() is None


def test_pii_in_tool_arguments_and_results_is_scrubbed_before_it_leaves(fake_llm):
    with proctor_trace.case("pii") as c:
        c.record_tool_run("lookup", {"email": "ann@shop.com", "note": json.dumps({"ssn": "123-45-6789"})}, {"card": "4111 1111 1111 1111"}, 1.0)
    trace = c.to_trace()
    text = json.dumps(trace)
    for secret in ("ann@shop.com", "123-45-6789", "4111 1111 1111 1111"):
        assert secret not in text
    assert trace["redactions"] == {"email": 1, "ssn": 1, "card": 1}
    assert "ann@shop.com" in json.dumps(c.to_trace(redact=False)), "only an explicit switch turns it off"
