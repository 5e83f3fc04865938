"""Google Gemini `generateContent` and `streamGenerateContent` (`?alt=sse`), through the Gemini
API or Vertex AI. The JSON uses camelCase; snake_case is accepted too.

With automatic function calling the `google.genai` SDK runs the agent's functions itself and
sends their results in its next request, so those calls are read like any other."""

from __future__ import annotations

from typing import Any

from ._common import Chosen, Reply, Request, ToolResult, count, plain

PROVIDER = "gemini"


def _get(obj: Any, camel: str, snake: str) -> Any:
    if not isinstance(obj, dict):
        return None
    v = obj.get(camel)
    return v if v is not None else obj.get(snake)


def _model(path: str) -> str | None:
    name = path.rsplit("/models/", 1)[-1].split(":", 1)[0]
    return name or None


def request(body: dict[str, Any], path: str) -> Request | None:
    contents = body.get("contents")
    if not isinstance(contents, list):
        return None
    results: list[ToolResult] = []
    texts: list[str] = []
    for c in contents:
        if not isinstance(c, dict):
            continue
        if c.get("role") == "model":
            texts = []
            continue
        for part in c.get("parts") or ():
            fr = _get(part, "functionResponse", "function_response")
            if fr is not None:
                results.append((fr.get("id"), fr.get("name"), plain(fr.get("response")), False))
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    names = []
    for tool in body.get("tools") or ():
        for decl in _get(tool, "functionDeclarations", "function_declarations") or ():
            if isinstance(decl, dict) and decl.get("name"):
                names.append(decl["name"])
    return Request(_model(path), names, results, texts, path.endswith(":streamGenerateContent"))


def _usage(u: Any) -> dict[str, int]:
    if not isinstance(u, dict):
        return {}
    thoughts = count(u, "thoughtsTokenCount") or count(u, "thoughts_token_count")
    return {
        "input_tokens": count(u, "promptTokenCount") or count(u, "prompt_token_count"),
        # Thinking is billed as output; Proctor's output_tokens includes it.
        "output_tokens": (count(u, "candidatesTokenCount") or count(u, "candidates_token_count")) + thoughts,
        "cache_read_tokens": count(u, "cachedContentTokenCount") or count(u, "cached_content_token_count"),
        "reasoning_tokens": thoughts,
    }


def _read(body: dict[str, Any]) -> tuple[list[Chosen], str]:
    chosen: list[Chosen] = []
    text = ""
    for cand in body.get("candidates") or ():
        for part in (cand.get("content") or {}).get("parts") or ():
            fc = _get(part, "functionCall", "function_call")
            if fc is not None:
                chosen.append((fc.get("id"), fc.get("name"), fc.get("args") or {}))
            elif isinstance(part.get("text"), str) and not part.get("thought"):
                text += part["text"]
    return chosen, text


def response(body: dict[str, Any]) -> Reply:
    chosen, text = _read(body)
    return Reply(_usage(_get(body, "usageMetadata", "usage_metadata")), chosen, _get(body, "modelVersion", "model_version"), text)


class Accumulator:
    __slots__ = ("calls", "model", "text", "usage")

    def __init__(self) -> None:
        self.usage: dict[str, int] = {}
        self.model: Any = None
        self.calls: list[Chosen] = []
        self.text: list[str] = []

    def feed(self, chunk: dict[str, Any]) -> None:
        u = _get(chunk, "usageMetadata", "usage_metadata")
        if u:
            self.usage = _usage(u)
        self.model = _get(chunk, "modelVersion", "model_version") or self.model
        chosen, text = _read(chunk)
        self.calls.extend(chosen)
        self.text.append(text)

    def result(self) -> Reply:
        return Reply(self.usage, self.calls, self.model, "".join(self.text))
