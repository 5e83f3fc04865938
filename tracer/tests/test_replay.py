"""Record and replay, for every SDK × sync/async × stream/non-stream against the fake LLM: a
replayed case sends the fake LLM nothing and comes out as recorded; a changed tool result or
prompt sends it only the calls from the first that differs, and the trace names that call, the
field and the changed line; strict mode refuses the changed request and names the field."""

import asyncio
import importlib.util
import json

import pytest
import sdk_agents as agents
from test_sdks import CASES

import proctor_trace


def run_case(clients, sync_agent, async_agent, is_async, stream, **replay):
    sync_client, async_client = clients()
    with proctor_trace.case("weather", input=agents.QUESTION, **replay) as c:
        try:
            if is_async:
                answer = asyncio.run(async_agent(async_client, stream))
            else:
                answer = sync_agent(sync_client, stream)
        except Exception as exc:
            answer = exc
    return answer, c.to_trace(), c.recording()


def essentials(trace):
    """What a replay must reproduce: each call's model, tokens and tools, each tool call."""
    calls = [{k: c[k] for k in ("provider", "model", "input_tokens", "output_tokens", "tools_offered", "tools_chosen", "streamed")}
             for c in trace["llm_calls"]]
    tools = [{k: t[k] for k in ("name", "arguments", "result")} for t in trace["tool_calls"]]
    return calls, tools


# google-genai makes its async calls with aiohttp when it is installed (the matrix replays them
# through aiohttp then, through httpx otherwise).
AIOHTTP = importlib.util.find_spec("aiohttp") is not None


MATRIX = [
    pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"]),
    pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"]),
    pytest.mark.parametrize("provider,api,clients,sync_agent,async_agent,model,offered", CASES, ids=[c[0] + "-" + c[1] for c in CASES]),
]


def matrix(test):
    for mark in MATRIX:
        test = mark(test)
    return test


@matrix
def test_a_replayed_case_sends_nothing_and_comes_out_as_recorded(fake_llm, provider, api, clients, sync_agent, async_agent, model, offered, is_async, stream):
    answer, trace, recording = run_case(clients, sync_agent, async_agent, is_async, stream)
    assert "sunny" in answer, answer
    assert len(recording["exchanges"]) == 2
    json.dumps(recording)  # a recording is plain JSON

    before = len(fake_llm.requests)
    again, replayed, _ = run_case(clients, sync_agent, async_agent, is_async, stream, replay=recording)
    assert len(fake_llm.requests) == before, "a replay never reaches the model"
    assert again == answer
    assert essentials(replayed) == essentials(trace)
    assert all(c.get("replayed") for c in replayed["llm_calls"]), replayed["llm_calls"]
    assert replayed["replay"] == {"mode": "fork", "recorded": 2, "replayed": 2, "live": 0, "diverged": None, "mismatch": None}


@matrix
def test_a_changed_tool_result_goes_live_from_the_call_that_carries_it(fake_llm, monkeypatch, provider, api, clients, sync_agent, async_agent, model, offered, is_async, stream):
    _, _, recording = run_case(clients, sync_agent, async_agent, is_async, stream)
    monkeypatch.setattr(agents, "get_weather", lambda city: {"city": city, "forecast": "rainy", "celsius": 21})

    before = len(fake_llm.requests)
    answer, trace, _ = run_case(clients, sync_agent, async_agent, is_async, stream, replay=recording)
    assert len(fake_llm.requests) == before + 1, "only the second call, which carries the tool result, goes live"
    assert "rainy" in answer, answer
    replay = trace["replay"]
    assert (replay["replayed"], replay["live"]) == (1, 1), replay
    diverged = replay["diverged"]
    assert diverged["call"] == 2, diverged
    assert any(line.startswith("- ") and "sunny" in line for line in diverged["lines"]), diverged
    assert any(line.startswith("+ ") and "rainy" in line for line in diverged["lines"]), diverged
    assert [bool(c.get("replayed")) for c in trace["llm_calls"]] == [True, False]


@matrix
def test_a_strict_replay_refuses_a_changed_prompt_and_names_the_field(fake_llm, monkeypatch, provider, api, clients, sync_agent, async_agent, model, offered, is_async, stream):
    _, _, recording = run_case(clients, sync_agent, async_agent, is_async, stream)
    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Lyon?")

    before = len(fake_llm.requests)
    answer, trace, _ = run_case(clients, sync_agent, async_agent, is_async, stream, replay=recording, replay_mode="strict")
    assert len(fake_llm.requests) == before, "a strict replay sends nothing"
    assert isinstance(answer, Exception), answer
    replay = trace["replay"]
    assert replay["replayed"] == 0
    # the SDKs name the user's text differently; each path ends at the text that changed
    mismatch = replay["mismatch"]
    assert "call 1 does not match its recording at `" in mismatch, mismatch
    assert "- What is the weather in Paris?" in mismatch and "+ What is the weather in Lyon?" in mismatch, mismatch


def test_masks_let_volatile_values_match(fake_llm, monkeypatch):
    clients, sync_agent = CASES[0][2], CASES[0][3]
    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Paris? (request 2026-12-06T10:00:00Z)")
    _, _, recording = run_case(clients, sync_agent, None, False, False)
    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Paris? (request 2026-12-07T11:30:00Z)")

    before = len(fake_llm.requests)
    _, trace, _ = run_case(clients, sync_agent, None, False, False, replay=recording,
                           replay_masks=[r"\d{4}-\d{2}-\d{2}T[\d:]+Z"])
    assert len(fake_llm.requests) == before
    assert trace["replay"]["replayed"] == 2


def test_a_scrubbed_recording_matches_requests_scrubbed_alike(fake_llm, monkeypatch):
    """A recording kept on the server is scrubbed: the agent's requests still carry the personal
    data, so they are scrubbed before they are compared, and the case replays in full. Only a
    request that differs beyond its personal data leaves the recording."""
    from proctor_trace._redact import redact

    clients, sync_agent = CASES[0][2], CASES[0][3]
    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Paris? Reply to ann.lee@example.com")
    _, recorded, recording = run_case(clients, sync_agent, None, False, False)
    scrubbed = dict(redact(recording)[0], scrubbed=True)
    assert "ann.lee@example.com" not in json.dumps(scrubbed)

    before = len(fake_llm.requests)
    _, trace, _ = run_case(clients, sync_agent, None, False, False, replay=scrubbed, replay_mode="strict")
    assert len(fake_llm.requests) == before
    assert trace["replay"]["replayed"] == 2 and trace["replay"]["live"] == 0, trace["replay"]
    assert essentials(trace) == essentials(recorded)

    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Lyon? Reply to ann.lee@example.com")
    _, trace, _ = run_case(clients, sync_agent, None, False, False, replay=scrubbed)
    assert trace["replay"]["diverged"]["call"] == 1, trace["replay"]


def test_a_planted_replay_answers_in_order_whatever_was_asked_then_goes_live(fake_llm, monkeypatch):
    """How an audit plants a fault: every recorded answer is given in order even when the
    request changed (a fresh ticket number in a tool result), then the case goes live."""
    clients, sync_agent = CASES[0][2], CASES[0][3]
    _, recorded, recording = run_case(clients, sync_agent, None, False, False)
    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Lyon?")

    before = len(fake_llm.requests)
    _, trace, _ = run_case(clients, sync_agent, None, False, False, replay=recording, replay_mode="planted")
    assert len(fake_llm.requests) == before, "nothing went live while the recording lasted"
    assert trace["replay"]["replayed"] == 2 and trace["replay"]["diverged"] is None, trace["replay"]
    assert essentials(trace) == essentials(recorded), "the recorded answers, though Lyon was asked"

    cut = dict(recording, exchanges=recording["exchanges"][:1])
    _, trace, _ = run_case(clients, sync_agent, None, False, False, replay=cut, replay_mode="planted")
    assert len(fake_llm.requests) == before + 1, "past the end of the recording, the model answers"
    assert trace["replay"]["replayed"] == 1 and trace["replay"]["live"] == 1, trace["replay"]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="strict"):
        proctor_trace.case("x", replay={"exchanges": []}, replay_mode="sometimes")


@pytest.mark.skipif(not AIOHTTP, reason="without aiohttp, google-genai's async calls go through httpx (replayed above)")
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_case_that_calls_through_aiohttp_is_replayed_with_aiohttps_own_response(fake_llm, monkeypatch, stream):
    """google-genai's async calls go through aiohttp, and it reads only an
    `aiohttp.ClientResponse`: the recorded answer reaches it as one, over the loopback."""
    clients, async_agent = CASES[3][2], CASES[3][4]
    answer, recorded, recording = run_case(clients, None, async_agent, True, stream)
    assert len(recording["exchanges"]) == 2

    before = len(fake_llm.requests)
    replayed_answer, trace, _ = run_case(clients, None, async_agent, True, stream, replay=recording, replay_mode="strict")
    assert len(fake_llm.requests) == before
    assert replayed_answer == answer
    assert trace["replay"]["replayed"] == 2 and trace["replay"]["live"] == 0, trace["replay"]
    assert all(c["replayed"] for c in trace["llm_calls"])
    assert essentials(trace) == essentials(recorded)

    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Lyon?")
    _, trace, _ = run_case(clients, None, async_agent, True, stream, replay=recording)
    assert len(fake_llm.requests) == before + 2, "a changed request goes live from the first call"
    assert trace["replay"]["diverged"]["call"] == 1, trace["replay"]


def test_a_divergence_leaves_the_process_scrubbed(fake_llm, monkeypatch):
    clients, sync_agent = CASES[0][2], CASES[0][3]
    _, _, recording = run_case(clients, sync_agent, None, False, False)
    monkeypatch.setattr(agents, "QUESTION", "What is the weather in Paris? Mail me at ann.lee@example.com")

    sync_client, _ = clients()
    with proctor_trace.case("weather", replay=recording) as c:
        sync_agent(sync_client, False)
    diverged = c.to_trace()["replay"]["diverged"]
    assert diverged["call"] == 1
    assert not any("ann.lee@example.com" in line for line in diverged["lines"]), diverged
    assert "ann.lee@example.com" in json.dumps(c.to_trace(redact=False)["replay"]), "unscrubbed only when asked"


@pytest.mark.skipif(not AIOHTTP, reason="aiohttp is not installed in this venv (the previous-SDK pass has none)")
def test_an_openai_stream_over_aiohttp_replays_with_its_usage_and_without_its_extra_chunk(fake_llm):
    """Over aiohttp, a stream is asked for usage as over httpx; its replay matches the request
    as sent and hands the agent the same events it got live."""
    import aiohttp

    async def chat():
        async with aiohttp.ClientSession() as session:
            body = {"model": agents.MODEL_OPENAI, "messages": [{"role": "user", "content": agents.QUESTION}],
                    "tools": agents.OPENAI_TOOLS[:1], "stream": True}
            async with session.post(fake_llm.url + "/v1/chat/completions", json=body) as response:
                return [line async for line in response.content]

    with proctor_trace.case("aiohttp-stream") as c:
        live = asyncio.run(chat())
    recorded, recording = c.to_trace(), c.recording()
    before = len(fake_llm.requests)
    with proctor_trace.case("aiohttp-stream", replay=recording, replay_mode="strict") as c:
        replayed = asyncio.run(chat())
    assert len(fake_llm.requests) == before
    assert replayed == live, "the agent reads the same events, the usage chunk left out"
    assert c.to_trace()["llm_calls"][0]["input_tokens"] == recorded["llm_calls"][0]["input_tokens"] > 0
