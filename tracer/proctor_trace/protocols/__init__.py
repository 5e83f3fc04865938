"""The LLM wire protocols the tracer reads: one module per protocol, each reading the request
JSON, the response JSON and the stream events as the provider documents them. Whatever SDK,
wrapper or framework made the request, the bytes on the wire are the same, so one parser per
protocol serves every path (`create`, `with_raw_response`, `with_streaming_response`, `beta`,
the client's own `post`, an OpenAI-compatible server behind `base_url`, Azure, Vertex, ...).

A protocol module provides:
- `PROVIDER`: the provider name recorded on the call;
- `request(body, path)` → `Request`;
- `response(body)` → `Reply`;
- `Accumulator()`: fed each stream event (a dict) by `feed(event)`; `result()` → `Reply`;
- optionally `ask_for_usage(raw)`: for a streaming request body (bytes) that does not ask the
  stream to report usage, the body that does (the tap then hides the extra usage-only event
  from the agent); None otherwise.
"""

from __future__ import annotations

from types import ModuleType

from . import anthropic, gemini, openai_chat, openai_responses


def route(path: str) -> ModuleType | None:
    """The protocol module a request path speaks, or None. Path checks only: cheap enough to run
    on every HTTP request the agent makes."""
    if path.endswith("/chat/completions"):
        return openai_chat
    if path.endswith("/responses"):
        return openai_responses
    if path.endswith(("/messages", ":rawPredict", ":streamRawPredict", "/invoke", "/invoke-with-response-stream")):
        return anthropic
    if path.endswith((":generateContent", ":streamGenerateContent")):
        return gemini
    return None
