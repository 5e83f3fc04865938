"""OpenAI Chat Completions (`POST …/chat/completions`), as OpenAI, Azure OpenAI and every
OpenAI-compatible server speak it: JSON, or SSE chunks ending in `data: [DONE]`."""

from __future__ import annotations

import json
from typing import Any

from ._common import Chosen, Reply, Request, ToolResult, count, parse_json, result_value, text_of

PROVIDER = "openai"


def tool_names(tools: Any) -> list[str]:
    names: list[str] = []
    for t in tools or ():
        if not isinstance(t, dict):
            continue
        fn = t.get("function")
        name = fn.get("name") if isinstance(fn, dict) else t.get("name")
        if name:
            names.append(name)
    return names


def _model(body: dict[str, Any], path: str) -> Any:
    """Azure names the deployment in the path, not the body."""
    model = body.get("model")
    if not model and "/deployments/" in path:
        model = path.split("/deployments/", 1)[1].split("/", 1)[0]
    return model


def request(body: dict[str, Any], path: str) -> Request | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    results: list[ToolResult] = []
    texts: list[str] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "tool":
            results.append((m.get("tool_call_id"), m.get("name"), result_value(m.get("content")), False))
        elif role == "assistant":
            texts = []
        elif role == "user":
            texts.append(text_of(m.get("content")))
    return Request(_model(body, path), tool_names(body.get("tools")), results, texts, body.get("stream") is True)


def ask_for_usage(raw: bytes) -> bytes | None:
    """The body of a streaming request that does not ask for usage, asking for it; else None.
    Read as bytes (a quote inside a JSON string is escaped, so `"stream": true` is the key),
    which costs far less than parsing the body on the request's way out."""
    if b'"stream"' not in raw:  # one scan for the usual non-streamed request
        return None
    if (b'"stream":true' not in raw and b'"stream": true' not in raw) or b"include_usage" in raw:
        return None
    if raw[:1] != b"{" or raw[1:2] == b"}" or b'"stream_options"' in raw:
        body = json.loads(raw)
        opts = body.get("stream_options")
        body["stream_options"] = dict(opts if isinstance(opts, dict) else {}, include_usage=True)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b'{"stream_options":{"include_usage":true},' + raw[1:]


def usage(u: Any) -> dict[str, int]:
    if not isinstance(u, dict):
        return {}
    return {
        "input_tokens": count(u, "prompt_tokens"),
        "output_tokens": count(u, "completion_tokens"),
        "cache_read_tokens": count(u.get("prompt_tokens_details"), "cached_tokens"),
        "reasoning_tokens": count(u.get("completion_tokens_details"), "reasoning_tokens"),
    }


def response(body: dict[str, Any]) -> Reply:
    chosen: list[Chosen] = []
    text = ""
    for choice in body.get("choices") or ():
        message = choice.get("message") or {}
        text += text_of(message.get("content"))
        for tc in message.get("tool_calls") or ():
            fn = tc.get("function") or {}
            chosen.append((tc.get("id"), fn.get("name"), parse_json(fn.get("arguments"))))
    return Reply(usage(body.get("usage")), chosen, body.get("model"), text)


class Accumulator:
    __slots__ = ("calls", "model", "text", "usage")

    def __init__(self) -> None:
        self.usage: dict[str, int] = {}
        self.model: Any = None
        self.calls: dict[int, dict[str, Any]] = {}
        self.text: list[str] = []

    def feed(self, chunk: dict[str, Any]) -> None:
        self.model = chunk.get("model") or self.model
        choices = chunk.get("choices") or ()
        for choice in choices:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.text.append(delta["content"])
            for tc in delta.get("tool_calls") or ():
                slot = self.calls.setdefault(tc.get("index", 0), {"id": None, "name": "", "args": ""})
                slot["id"] = tc.get("id") or slot["id"]
                fn = tc.get("function") or {}
                slot["name"] += fn.get("name") or ""
                slot["args"] += fn.get("arguments") or ""
        u = chunk.get("usage")
        if u:
            self.usage = usage(u)

    def result(self) -> Reply:
        chosen = [(c["id"], c["name"], parse_json(c["args"])) for _, c in sorted(self.calls.items())]
        return Reply(self.usage, chosen, self.model, "".join(self.text))
