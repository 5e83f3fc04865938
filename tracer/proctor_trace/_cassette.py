"""Record and replay: a case's LLM exchanges kept as a recording, and answered from it again.

A recording holds a case's LLM exchanges in the order they were made: each request as the agent
sent it (its path and JSON body) and the response as the SDK read it (status, content type and
the decoded body — a stream's events in their order). `recording_of(case)` builds it from what
the taps already keep (`_wire.WireCall`), so recording costs nothing while the agent runs.

A `Player` answers a case's requests from a recording, in order, without the network: the
agent's code and tools run as usual, only the model's answers come from the recording. Requests
are compared as JSON (key order does not matter) after the recording's masks replace what may
differ between runs (dates, ids) with a placeholder. The modes are VCR.py's:

- `fork` (the default): from the first request that does not match its recording, the case goes
  live and says where it diverged — the call's number, the first field that differs, and a
  line diff of that field (a system prompt that lost a line, a tool result that changed);
- `strict`: a request that does not match fails the case, naming the field;
- `new`: requests past the end of the recording go live (and are recorded anew);
- `planted` (`proctor audit`): every recorded answer is given in order whatever was asked, then
  requests go live. A mutant's recording is answered this way: the fault planted in its last
  answer reaches the agent even when a tool result before it differs from the recorded one (a
  fresh ticket number, a timestamp).

A recording is the agent's own data, unscrubbed, so replay is exact; it stays on the agent's
machine unless the user sends it somewhere. A copy kept on the server is scrubbed of personal
data (`"scrubbed": true`): requests are scrubbed the same way before they are compared with it,
and its answers carry placeholders where the model's answers carried personal data.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._case import Case

VERSION = 1
MODES = ("fork", "strict", "new", "planted")
MASKED = "<masked>"
# How much of a differing value a divergence quotes.
SHOWN = 200


class ReplayMismatch(Exception):
    """A request that does not match its recording, in `strict` mode."""


class Exchange:
    """One recorded LLM exchange. `digest` is the SHA-256 of the request's bytes as sent: a
    request sent again byte for byte matches without being parsed (most of a replayed call's
    cost is parsing a long conversation's JSON)."""

    __slots__ = ("body", "content_type", "digest", "path", "request", "status")

    def __init__(
        self, path: str, request: Any, status: int, content_type: str, body: bytes, digest: str | None = None
    ) -> None:
        self.path = path
        self.request = request
        self.status = status
        self.content_type = content_type
        self.body = body
        self.digest = digest

    def to_json(self) -> dict[str, Any]:
        try:
            body: Any = self.body.decode("utf-8")
        except UnicodeDecodeError:
            body = {"base64": base64.b64encode(self.body).decode("ascii")}
        out = {
            "path": self.path,
            "request": self.request,
            "status": self.status,
            "content_type": self.content_type,
            "body": body,
        }
        if self.digest is not None:
            out["request_sha256"] = self.digest
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> Exchange:
        body = data.get("body")
        if isinstance(body, dict):
            raw = base64.b64decode(body.get("base64", ""))
        else:
            raw = str(body or "").encode("utf-8")
        return Exchange(
            str(data["path"]),
            data.get("request"),
            int(data.get("status", 200)),
            str(data.get("content_type") or "application/json"),
            raw,
            data.get("request_sha256"),
        )


def _request_json(body: bytes) -> Any:
    """A request body as JSON, or as text when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _digest(request: bytes) -> str:
    return hashlib.sha256(request).hexdigest()


def recording_of(case: Case) -> dict[str, Any]:
    """The case's LLM exchanges that got an answer, as a recording."""
    from ._wire import EVENTSTREAM, WireCall

    exchanges = []
    for entry in case.log:
        if not isinstance(entry, WireCall) or entry.unsent or not entry.status:
            continue
        recorded = entry.recorded()
        if recorded is None:
            continue
        request, body = recorded
        content_type = EVENTSTREAM if entry.eventstream else "text/event-stream" if entry.sse else "application/json"
        exchanges.append(
            Exchange(entry.path, _request_json(request), entry.status, content_type, body, _digest(request)).to_json()
        )
    return {"version": VERSION, "exchanges": exchanges}


def _one_mask(masks: list[str] | None) -> re.Pattern[str] | None:
    """The masks as one pattern, so a string is searched once whatever their number."""
    if not masks:
        return None
    return re.compile("|".join(f"(?:{m})" for m in masks))


def _quoted(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def _lines_changed(recorded: Any, sent: Any) -> list[str]:
    """The lines of two texts that differ, as `- recorded` and `+ sent`."""
    if not isinstance(recorded, str) or not isinstance(sent, str):
        return ["- " + _quoted(recorded), "+ " + _quoted(sent)]
    return [line for line in difflib.ndiff(recorded.splitlines(), sent.splitlines()) if line[:2] in ("- ", "+ ")]


def first_difference(
    recorded: Any, sent: Any, at: str = "", mask: re.Pattern[str] | None = None
) -> tuple[str, list[str]] | None:
    """The first field (a JSON path, `messages[0].content`) where `sent` differs from
    `recorded`, with the lines that changed; None when they are equal. Strings are compared
    with every match of `mask` replaced by a placeholder. Equal parts are passed over at C
    speed, so the walk goes down only where something differs."""
    if recorded == sent:
        return None
    if isinstance(recorded, dict) and isinstance(sent, dict):
        for key in sorted(set(recorded) | set(sent)):
            path = f"{at}.{key}" if at else str(key)
            if key not in sent:
                return path, ["- " + _quoted(recorded[key]), "+ (absent)"]
            if key not in recorded:
                return path, ["- (absent)", "+ " + _quoted(sent[key])]
            found = first_difference(recorded[key], sent[key], path, mask)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(sent, list):
        for i, (r, s) in enumerate(zip(recorded, sent)):
            found = first_difference(r, s, f"{at}[{i}]", mask)
            if found is not None:
                return found
        if len(recorded) != len(sent):
            return f"{at}.length" if at else "length", [f"- {len(recorded)}", f"+ {len(sent)}"]
        return None
    if mask is not None and isinstance(recorded, str) and isinstance(sent, str):
        recorded, sent = mask.sub(MASKED, recorded), mask.sub(MASKED, sent)
        if recorded == sent:
            return None
    return at or "(body)", _lines_changed(recorded, sent)


class Player:
    """Answers one case's LLM requests from its recording, in order."""

    __slots__ = ("diverged", "exchanges", "live", "mask", "mismatch", "mode", "replayed", "scrubbed")

    def __init__(self, recording: dict[str, Any], mode: str = "fork", masks: list[str] | None = None) -> None:
        if mode not in MODES:
            raise ValueError("replay mode {!r} is not one of {}".format(mode, ", ".join(MODES)))
        self.mode = mode
        self.mask = _one_mask(masks)
        # A recording kept on the server was scrubbed of personal data: requests are scrubbed
        # alike before they are compared with it.
        self.scrubbed = bool(recording.get("scrubbed"))
        self.exchanges = [Exchange.from_json(e) for e in recording.get("exchanges") or []]
        self.replayed = 0
        self.live = 0
        # Where the case left its recording: {"call", "field", "lines"}, or None.
        self.diverged: dict[str, Any] | None = None
        # The request that failed a strict replay, said as the case's error.
        self.mismatch: str | None = None

    def _gone_live(self) -> bool:
        """Whether the case already left its recording: every request after that is live."""
        if self.diverged is None:
            return False
        self.live += 1
        return True

    def answer(self, path: str, body: bytes) -> Exchange | None:
        """The recorded answer to this request, or None when it goes live. Raises
        `ReplayMismatch` in `strict` mode when the request does not match."""
        if self._gone_live():
            return None
        number = self.replayed + 1
        if self.replayed >= len(self.exchanges):
            if self.mode == "new":
                self.live += 1
                return None
            self._left(number, "call", ["- (not recorded)", "+ " + path])
            return None
        recorded = self.exchanges[self.replayed]
        if self.mode == "planted":
            self.replayed += 1
            return recorded
        if recorded.path != path:
            self._left(number, "path", ["- " + recorded.path, "+ " + path])
            return None
        if not self.scrubbed and recorded.digest is not None and recorded.digest == _digest(body):
            self.replayed += 1
            return recorded
        sent = _request_json(body)
        if self.scrubbed:
            from ._redact import redact

            sent = redact(sent)[0]
        found = first_difference(recorded.request, sent, mask=self.mask)
        if found is not None:
            self._left(number, found[0], found[1])
            return None
        self.replayed += 1
        return recorded

    def _left(self, number: int, field: str, lines: list[str]) -> None:
        """The request `number` does not match: fails it (strict), or the case goes live."""
        if self.mode == "strict":
            self.mismatch = "replay: call {} does not match its recording at `{}`:\n{}".format(number, field, "\n".join(lines))
            raise ReplayMismatch(self.mismatch)
        self.diverged = {"call": number, "field": field, "lines": lines}
        self.live += 1

    def summary(self) -> dict[str, Any]:
        """What the replay did, for the case's trace."""
        return {
            "mode": self.mode,
            "recorded": len(self.exchanges),
            "replayed": self.replayed,
            "live": self.live,
            "diverged": self.diverged,
            "mismatch": self.mismatch,
        }
