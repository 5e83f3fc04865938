"""The OpenAI Responses API (`POST …/responses`): JSON, or SSE events ending in
`response.completed` (or `.incomplete` / `.failed`)."""

from __future__ import annotations

from typing import Any

from ._common import Chosen, Reply, Request, ToolResult, count, parse_json, result_value, text_of
from .openai_chat import tool_names

PROVIDER = "openai"


def request(body: dict[str, Any], path: str) -> Request | None:
    if "input" not in body:
        return None
    items = body.get("input")
    results: list[ToolResult] = []
    texts: list[str] = []
    if isinstance(items, str):
        texts = [items]
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "function_call_output":
            results.append((item.get("call_id"), None, result_value(item.get("output")), False))
        elif kind == "function_call" or item.get("role") == "assistant":
            texts = []
        elif item.get("role") == "user":
            texts.append(text_of(item.get("content")))
    return Request(body.get("model"), tool_names(body.get("tools")), results, texts, body.get("stream") is True)


def _usage(u: Any) -> dict[str, int]:
    if not isinstance(u, dict):
        return {}
    return {
        "input_tokens": count(u, "input_tokens"),
        "output_tokens": count(u, "output_tokens"),
        "cache_read_tokens": count(u.get("input_tokens_details"), "cached_tokens"),
        "reasoning_tokens": count(u.get("output_tokens_details"), "reasoning_tokens"),
    }


def _read_output(items: Any) -> tuple[list[Chosen], str]:
    chosen: list[Chosen] = []
    text = ""
    for item in items or ():
        kind = item.get("type")
        if kind == "function_call":
            chosen.append((item.get("call_id"), item.get("name"), parse_json(item.get("arguments"))))
        elif kind == "message":
            text += text_of(item.get("content"))
    return chosen, text


def response(body: dict[str, Any]) -> Reply:
    chosen, text = _read_output(body.get("output"))
    return Reply(_usage(body.get("usage")), chosen, body.get("model"), text)


class Accumulator:
    __slots__ = ("final", "items", "model")

    def __init__(self) -> None:
        self.final: Any = None
        self.items: list[dict[str, Any]] = []
        self.model: Any = None

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.get("response")
        elif kind == "response.created":
            self.model = (event.get("response") or {}).get("model")
        elif kind == "response.output_item.done":
            self.items.append(event.get("item") or {})

    def result(self) -> Reply:
        if self.final:
            reply = response(self.final)
            if not reply.chosen and not reply.text and self.items:
                reply.chosen, reply.text = _read_output(self.items)
            return reply
        chosen, text = _read_output(self.items)
        return Reply({}, chosen, self.model, text)
