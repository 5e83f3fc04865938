"""Anthropic Messages (`POST …/v1/messages`, `?beta=true` included), and the same body through
Google Vertex (`…/models/{model}:rawPredict`, `:streamRawPredict`) and Amazon Bedrock
(`…/model/{model}/invoke`): JSON, or SSE events from `message_start` to `message_stop`. Bedrock's
streaming endpoint (`…/invoke-with-response-stream`) sends the same events in AWS's binary
event-stream framing, each one base64 in a `{"bytes": …}` payload (read by `_eventstream`)."""

from __future__ import annotations

import json
from typing import Any

from ._common import Chosen, Reply, Request, ToolResult, count, result_value

PROVIDER = "anthropic"


def _model(body: dict[str, Any], path: str) -> Any:
    model = body.get("model")
    if not model and ":" in path and "/models/" in path:  # Vertex
        model = path.rsplit("/models/", 1)[1].split(":", 1)[0]
    elif not model and "/model/" in path:  # Bedrock
        model = path.rsplit("/model/", 1)[1].split("/", 1)[0]
    return model


def request(body: dict[str, Any], path: str) -> Request | None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not ("model" in body or "anthropic_version" in body):
        return None
    results: list[ToolResult] = []
    texts: list[str] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        if m.get("role") == "assistant":
            texts = []
            continue
        if isinstance(content, str):
            texts.append(content)
            continue
        for block in content or ():
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                results.append((block.get("tool_use_id"), None, result_value(block.get("content")), bool(block.get("is_error"))))
            elif block.get("type") == "text":
                texts.append(block.get("text") or "")
    tools: list[str] = [t["name"] for t in body.get("tools") or () if isinstance(t, dict) and t.get("name")]
    streamed = body.get("stream") is True or path.endswith((":streamRawPredict", "/invoke-with-response-stream"))
    return Request(_model(body, path), tools, results, texts, streamed)


def usage(u: Any) -> dict[str, int]:
    if not isinstance(u, dict):
        return {}
    cache_read = count(u, "cache_read_input_tokens")
    cache_write = count(u, "cache_creation_input_tokens")
    return {
        # Anthropic counts cached prompt tokens apart; Proctor's input_tokens includes them.
        "input_tokens": count(u, "input_tokens") + cache_read + cache_write,
        "output_tokens": count(u, "output_tokens"),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
    }


def response(body: dict[str, Any]) -> Reply:
    chosen: list[Chosen] = []
    text = ""
    for b in body.get("content") or ():
        if b.get("type") == "tool_use":
            chosen.append((b.get("id"), b.get("name"), b.get("input") if b.get("input") is not None else {}))
        elif b.get("type") == "text":
            text += b.get("text") or ""
    return Reply(usage(body.get("usage")), chosen, body.get("model"), text)


class Accumulator:
    __slots__ = ("blocks", "model", "text", "usage")

    def __init__(self) -> None:
        self.usage: dict[str, int] = {}
        self.model: Any = None
        self.blocks: dict[Any, list[Any]] = {}
        self.text: list[str] = []

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.model = message.get("model")
            self.usage = usage(message.get("usage"))
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.blocks[event.get("index")] = [block.get("id"), block.get("name"), ""]
            elif block.get("type") == "text" and block.get("text"):
                self.text.append(block["text"])
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "input_json_delta":
                slot = self.blocks.get(event.get("index"))
                if slot is not None:
                    slot[2] += delta.get("partial_json") or ""
            elif delta.get("type") == "text_delta":
                self.text.append(delta.get("text") or "")
        elif kind == "message_delta":
            u = event.get("usage")
            if isinstance(u, dict):
                # The final delta carries the output count, and on some servers the input too.
                merged = dict(self.usage)
                for key, value in usage(u).items():
                    if value or key == "output_tokens":
                        merged[key] = value
                self.usage = merged

    def result(self) -> Reply:
        chosen: list[Chosen] = []
        for _, (call_id, name, text) in sorted(self.blocks.items(), key=lambda kv: kv[0] or 0):
            try:
                args = json.loads(text) if text else {}
            except ValueError:
                args = text
            chosen.append((call_id, name, args))
        return Reply(self.usage, chosen, self.model, "".join(self.text))
