"""AWS's binary event-stream framing, as Bedrock's streaming endpoint sends a model's events.

Each message: a 12-byte prelude (total length, headers length, both big-endian u32, and the
prelude's CRC32), the headers (`:message-type`, `:event-type`, …: a name, a type byte, a value),
the payload, and the message's CRC32. A Bedrock `chunk` event's payload is `{"bytes": "<base64
of one provider event as JSON>"}`; an `exception` message's payload says what went wrong.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

_PRELUDE = 12
_CRC = 4
# Header value types and the sizes of the fixed-size ones (bool true/false carry no value).
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
_SIZED = (6, 7)  # byte array, string: a u16 length first


def _headers(raw: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    at = 0
    while at < len(raw):
        size = raw[at]
        name = raw[at + 1:at + 1 + size].decode("utf-8", "replace")
        at += 1 + size
        kind = raw[at]
        at += 1
        if kind in _SIZED:
            (length,) = struct.unpack_from(">H", raw, at)
            value: Any = raw[at + 2:at + 2 + length]
            at += 2 + length
            if kind == 7:
                value = value.decode("utf-8", "replace")
        else:
            value = raw[at:at + _FIXED.get(kind, 0)]
            at += _FIXED.get(kind, 0)
        headers[name] = value
    return headers


def messages(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """Each whole message's headers and payload; a cut last message is left out."""
    out: list[tuple[dict[str, Any], bytes]] = []
    at = 0
    while at + _PRELUDE <= len(body):
        total, headers_len = struct.unpack_from(">II", body, at)
        if total < _PRELUDE + _CRC or at + total > len(body):
            break
        headers = _headers(body[at + _PRELUDE:at + _PRELUDE + headers_len])
        payload = body[at + _PRELUDE + headers_len:at + total - _CRC]
        out.append((headers, payload))
        at += total
    return out


def events(body: bytes) -> list[Any]:
    """The provider's events a Bedrock stream carries, in order; an exception as an `error`
    event."""
    out: list[Any] = []
    for headers, payload in messages(body):
        try:
            data = json.loads(payload) if payload else {}
        except ValueError:
            continue
        if headers.get(":message-type") == "exception":
            message = data.get("message") if isinstance(data, dict) else None
            out.append({"type": "error", "error": {"message": message or headers.get(":exception-type") or "exception"}})
            continue
        chunk = data.get("bytes") if isinstance(data, dict) else None
        if isinstance(chunk, str):
            try:
                out.append(json.loads(base64.b64decode(chunk)))
            except ValueError:
                continue
    return out
