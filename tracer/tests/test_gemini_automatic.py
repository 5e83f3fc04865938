"""Gemini's automatic function calling runs the agent's Python functions inside the SDK, which then
sends their results in its next request: on the wire it is an ordinary tool-calling exchange."""

import proctor_trace


def test_automatic_function_calls_are_recorded(fake_llm):
    from google import genai
    from google.genai import types

    def get_weather(city: str) -> dict:
        """Get the weather for a city."""
        return {"city": city, "forecast": "sunny"}

    client = genai.Client(api_key="fake-key")
    with proctor_trace.case("afc") as c:
        resp = client.models.generate_content(
            model="gemini-2.5-flash",
            contents="What is the weather in Paris?",
            config=types.GenerateContentConfig(tools=[get_weather]),
        )
    assert "sunny" in resp.text
    trace = c.to_trace()
    assert [x["tools_chosen"] for x in trace["llm_calls"]] == [["get_weather"], []], "one record per request the SDK sent"
    assert trace["llm_calls"][0]["tools_offered"] == ["get_weather"]
    [tool] = trace["tool_calls"]
    assert tool["name"] == "get_weather"
    assert tool["arguments"] == {"city": "Paris"}
    assert "sunny" in str(tool["result"])
    assert tool["duration_source"] == "inferred", "the gap between the SDK's two requests"
    assert trace["output"] == resp.text
