"""`uninstall()` gives every tapped client its own methods back, so an agent (or a test suite)
can turn the tracer off without restarting; `install()` taps them again."""

import httpx

import proctor_trace


def calls_recorded(client):
    with proctor_trace.case("toggle") as c:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    return len(c.to_trace()["llm_calls"])


def test_uninstall_restores_the_clients_and_install_taps_them_again(fake_llm):
    import openai

    client = openai.OpenAI(max_retries=0)
    tapped = httpx.Client.send
    assert getattr(tapped, "__proctor_wrapped__", False)
    assert calls_recorded(client) == 1
    try:
        proctor_trace.uninstall()
        assert not getattr(httpx.Client.send, "__proctor_wrapped__", False)
        assert not getattr(httpx.AsyncClient.send, "__proctor_wrapped__", False)
        assert calls_recorded(client) == 0, "an uninstalled tracer records nothing"
        proctor_trace.uninstall()
    finally:
        proctor_trace.install()
    assert getattr(httpx.Client.send, "__proctor_wrapped__", False)
    assert calls_recorded(client) == 1
