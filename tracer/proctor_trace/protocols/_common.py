"""What the protocol modules share: the shapes they return and small readers of JSON values."""

from __future__ import annotations

import json
from typing import Any, Optional

# A tool result a request carries: (call id or None, tool name or None, result, is_error).
ToolResult = tuple[Optional[str], Optional[str], Any, bool]
# A tool call a model chose: (call id or None, name, arguments).
Chosen = tuple[Optional[str], Any, Any]


class Request:
    """What a request tells before it is answered."""

    __slots__ = ("model", "results", "stream", "texts", "tools")

    def __init__(
        self, model: Any, tools: list[str], results: list[ToolResult], texts: list[str], stream: bool
    ) -> None:
        self.model = model
        # names of the tools offered, in the order declared
        self.tools = tools
        # (call id or None, tool name or None, result, is_error) for each tool result carried
        self.results = results
        # text of the messages after the model's last turn: frameworks that run tools themselves
        # may hand the results back as plain text
        self.texts = texts
        self.stream = stream


class Reply:
    """What a response (or a whole stream) tells: usage, the tools chosen as
    (call id, name, arguments), the model that answered and the text it wrote."""

    __slots__ = ("chosen", "model", "text", "usage")

    def __init__(self, usage: dict[str, int], chosen: list[Chosen], model: Any, text: str) -> None:
        self.usage = usage
        self.chosen = chosen
        self.model = model
        self.text = text


def parse_json(text: Any) -> Any:
    """Tool arguments arrive as JSON text; keep them as objects when they parse."""
    if isinstance(text, (dict, list)):
        return text
    if not text:
        return {}
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def result_value(content: Any) -> Any:
    """A tool result as the agent sent it back: JSON text becomes the object it encodes, and a
    list of text blocks the text they hold, so results read the same whichever path carried
    them. Frameworks that send `str(result)` (the OpenAI Agents SDK) send a Python literal;
    it reads as the object too when it is plain data."""
    if isinstance(content, list) and content and all(isinstance(b, dict) and b.get("type") in ("text", "input_text", "output_text") for b in content):
        content = "".join(b.get("text") or "" for b in content)
    if isinstance(content, str) and content[:1] in ("{", "["):
        try:
            return json.loads(content)
        except ValueError:
            return _python_literal(content)
    return content


def _python_literal(text: str) -> Any:
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return value if _is_json(value) else text


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def plain(value: Any) -> Any:
    """A JSON-able copy of a Python value (pydantic model, dataclass-like object, or plain data),
    for the values tools take and return."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json", exclude_none=True)
        except TypeError:
            return dump()
    return str(value)


def count(obj: Any, name: str) -> int:
    """A token count from a usage object; anything that is not a number counts 0."""
    v = obj.get(name) if isinstance(obj, dict) else None
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def text_of(content: Any) -> str:
    """The text in a message's content: a string, or a list of blocks with text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text") or "" for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""
