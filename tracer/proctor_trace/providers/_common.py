"""Helpers shared by the provider modules."""

import json

from .._patch import getv


def parse_json(text):
    """Tool arguments arrive as JSON text; keep them as objects when they parse."""
    if isinstance(text, (dict, list)):
        return text
    if not text:
        return {}
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def result_value(content):
    """A tool result as the agent sent it back: JSON text becomes the object it encodes, so
    results read the same whichever SDK carried them."""
    value = plain(content)
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def plain(value):
    """A JSON-able copy of an SDK value (pydantic model, dataclass-like object, or plain data)."""
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


def usage_int(obj, name):
    v = getv(obj, name)
    return int(v) if isinstance(v, (int, float)) else 0
