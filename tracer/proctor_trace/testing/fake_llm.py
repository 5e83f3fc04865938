"""A local fake LLM that speaks the OpenAI (Chat Completions and Responses), Anthropic Messages
and Google Gemini wire protocols, JSON and SSE streams, so agents and tests run offline.

    python -m proctor_trace.testing.fake_llm --port 8089
    OPENAI_BASE_URL=http://127.0.0.1:8089/v1 ANTHROPIC_BASE_URL=http://127.0.0.1:8089 \\
    GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8089 python agent.py

It is scripted, not random: each turn it calls the next offered tool relevant to the user's
message (see `Conversation.next_step`) that it has not called yet, honouring "call A before B"
in the system prompt and filling required arguments from the message; when no tool is left to
call, it answers in text, citing the tool results. A tool that needs an id the user never gave
makes it ask for the id instead. A message containing `trigger-error` gets a 400 error in the
provider's format. Token counts are the text length divided by four.

Asked to judge (Proctor's judge prompt), it answers the verdict JSON by fixed rules: a criterion
about invented figures (`grounded`, or one that says "invent") fails when the answer holds a
number found nowhere else in the evidence; a criterion with 'single-quoted' phrases fails when
the answer contains one; any other passes when the answer shares a word with the request. An
answer with "maybe", "perhaps" or "might" makes it unsure (confidence 0.55), and one containing
`judge-malformed` gets an answer that is not JSON.

Asked to play a simulated user (Proctor's prompt: the brief with `- name: value` facts and the
`[[DONE]]` marker), it answers the assistant's question with the facts it asked about, says it
does not know when asked for anything else, and answers `[[DONE]]` once the assistant asks
nothing more.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from typing_extensions import Self

_ids = itertools.count(1)
_STOP = frozenset(["the", "a", "an", "and", "or", "of", "to", "for", "in", "on", "at", "is", "are", "be", "with", "my", "me", "you", "your", "our", "this", "that", "it", "its", "please", "can", "could", "would", "i", "we", "do", "does"])


def _words(text: str) -> set[str]:
    out = set()
    for w in re.findall(r"[a-z0-9]+", (text or "").lower()):
        if len(w) > 2 and w not in _STOP:
            out.add(w[:-1] if w.endswith("s") and len(w) > 3 else w)
    return out


_DONE = "[[DONE]]"

# What the script does next: ("tool", name, arguments), ("text", answer) or ("error", message).
Step = tuple[Any, ...]
_ID = r"\b[A-Z]{2,}-?\d+\b|\b\d{3,}\b"


def _needs_id(key: str) -> bool:
    return "id" in key.lower().split("_") or "number" in key.lower()


def _play_user(conv: Conversation) -> str:
    """The simulated user's next message: see the module's docstring."""
    facts = re.findall(r"^- ([^:\n]+): (.+)$", conv.system, re.MULTILINE)
    goal = re.search(r"Your goal: (.+)", conv.system)
    said = " ".join(conv.own_messages)
    asked = conv.user_text
    if "?" not in asked:
        return _DONE
    words = _words(asked)
    wanted = [(n, v) for n, v in facts if _words(n.replace("_", " ")) & words and v not in said]
    if wanted:
        # Only the values, as a terse user gives them: no words that would read as a new request.
        return " ".join(f"It's {v}." for _, v in wanted)
    return "I don't know that, sorry. %s" % (goal.group(1) if goal else "")


class Conversation:
    """A request reduced to what the script needs."""

    def __init__(
        self,
        user_text: str,
        tools: list[tuple[str, str, Any]],
        called: list[Any],
        results: list[tuple[Any, str]],
        all_text: str,
        system: str = "",
        user_texts: Iterable[str] = (),
        own_messages: Iterable[str] = (),
    ) -> None:
        self.user_text = user_text  # the latest user message
        self.user_texts = list(user_texts) or [user_text]  # every user message, in order
        self.own_messages = list(own_messages)  # the assistant's text messages, in order
        self.tools = tools  # [(name, description, json schema)], in the order declared
        self.called = called  # names of tools already called
        self.results = results  # [(name, result text)]
        self.all_text = all_text
        self.system = system or ""

    def prerequisites(self) -> dict[str, list[str]]:
        """`call A before B` in the system prompt: {B: [A, ...]}."""
        names = {t[0] for t in self.tools}
        out: dict[str, list[str]] = {}
        for a, b in re.findall(r"(?i)call\s+`?(\w+)`?\s+before\s+`?(\w+)`?", self.system):
            if a in names and b in names:
                out.setdefault(b, []).append(a)
        return out

    def next_step(self) -> Step:
        """("tool", name, args), ("text", answer) or ("error", message).

        The tools relevant to the user's message are those scoring at least half the best
        score (two points per word of the tool's name in the message, one per word of its
        description); they are called in the order the agent declared them, each once, and a
        tool the system prompt says must come first (`call A before B`) is called first.
        """
        if "trigger-error" in self.user_text:
            return ("error", "the fake LLM was asked to fail (trigger-error)")
        if _DONE in self.system and "role-playing a user" in self.system:
            return ("text", _play_user(self))
        if self.system.startswith("You are Proctor's judge"):
            return ("text", _judge(self.user_text))
        if "rephrase" in self.system.lower() and not self.tools:
            return ("text", _rephrase(self.user_text))
        scores = self._scores(self.user_text)
        request = self.user_text
        if not any(scores) and len(self.user_texts) > 1:
            # A reply such as "It's ORD-1001." carries no request: the conversation's does.
            request = " ".join(self.user_texts)
            scores = self._scores(request)
        best = max(scores or [0])
        schemas = {t[0]: t[2] for t in self.tools}
        before = self.prerequisites()
        for (name, _d, _s), score in zip(self.tools, scores):
            if best == 0 or score * 2 < best or name in self.called:
                continue
            missing = self._missing_id(schemas[name], request)
            if missing:
                return ("text", "Could you tell me the {}?".format(missing.replace("_", " ")))
            for first in before.get(name, ()):
                if first not in self.called:
                    return ("tool", first, _arguments(schemas[first], request))
            return ("tool", name, _arguments(schemas[name], request))
        if self.results:
            cited = "; ".join(f"{n} returned {r[:200]}" for n, r in self.results)
            return ("text", f"Done. {cited}.")
        return ("text", f"I can help with that. You said: {self.user_text[:200]}")


    def _scores(self, text: str) -> list[int]:
        """Two points per word of a tool's name in `text`, one per word of its description."""
        said = _words(text)
        scores = []
        for name, description, schema in self.tools:
            name_words = _words(name.replace("_", " ").replace("-", " "))
            scores.append(2 * len(name_words & said) + len(_words(description) & said))
        return scores

    def _missing_id(self, schema: Any, request: str) -> str | None:
        """The first required id argument of a tool that no user message gave."""
        if re.search(_ID, request):
            return None
        props = (schema or {}).get("properties") or {}
        for key in (schema or {}).get("required") or list(props):
            if _needs_id(key) and (props.get(key) or {}).get("type", "string") == "string":
                return key
        return None


_OPENERS = ("Could you", "I'd like you to", "Can you please", "I need you to")


def _sections(prompt: str) -> tuple[str, dict[str, str]]:
    """The judge prompt's criterion line and its `## ` sections by title."""
    head, *parts = re.split(r"^## ", prompt, flags=re.MULTILINE)
    sections: dict[str, str] = {}
    for part in parts:
        title, _, body = part.partition("\n")
        sections[title.strip()] = body.strip()
    return head.strip(), sections


def _judge(prompt: str) -> str:
    """The fake judge's verdict JSON: see the module's docstring."""
    criterion, sections = _sections(prompt)
    conversation = sections.get("The conversation", "")
    answer = sections.get("The agent's answer") or "\n".join(
        l[len("Agent: "):] for l in conversation.splitlines() if l.startswith("Agent: "))
    if "judge-malformed" in answer:
        return "I think it passes."
    request = sections.get("The user's request") or "\n".join(
        l[len("User: "):] for l in conversation.splitlines() if l.startswith("User: "))
    unsure = re.search(r"\b(maybe|perhaps|might)\b", answer.lower()) is not None
    verdict, reason, quotes = "pass", "The answer meets the criterion.", []
    if criterion.startswith("Criterion (grounded)") or "invent" in criterion.lower():
        known = " ".join(v for k, v in sections.items() if k != "The agent's answer") + " " + request
        invented = [n for n in re.findall(r"\d+(?:\.\d+)?", answer) if n not in known]
        if invented:
            verdict, quotes = "fail", invented
            reason = "The answer states {}, which no tool result or user message gave.".format(", ".join(invented))
    elif re.search(r"'([^']+)'", criterion):
        said = [p for p in re.findall(r"'([^']+)'", criterion) if p.lower() in answer.lower()]
        if said:
            verdict, quotes = "fail", said
            reason = "The answer says {}.".format(", ".join(repr(p) for p in said))
    elif not (_words(answer) & _words(request)):
        verdict, reason = "fail", "The answer does not take up anything the user asked."
    return json.dumps({"verdict": verdict, "reason": reason, "evidence": quotes,
                       "confidence": 0.55 if unsure else 0.9})


def _rephrase(text: str) -> str:
    """A deterministic rewording, so scenario generation with an LLM is testable offline."""
    body = text.strip().rstrip(".?!")
    for prefix in ("please ", "Please "):
        body = body.removeprefix(prefix)
    opener = _OPENERS[sum(map(ord, body)) % len(_OPENERS)]
    return f"{opener} {body[:1].lower()}{body[1:]}?"


def _arguments(schema: Any, text: str) -> dict[str, Any]:
    props = (schema or {}).get("properties") or {}
    required = (schema or {}).get("required") or list(props)
    numbers = re.findall(r"\d+(?:\.\d+)?", text)
    ids = re.findall(_ID, text)
    emails = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
    quoted = re.findall(r'"([^"]+)"', text)
    names = [w for w in re.findall(r"\b[A-Z][a-z]+\b", text)[1:]]
    args: dict[str, Any] = {}
    for key in required:
        kind = (props.get(key) or {}).get("type", "string")
        if kind in ("number", "integer"):
            value = numbers[0] if numbers else "1"
            args[key] = int(float(value)) if kind == "integer" else float(value)
        elif kind == "boolean":
            args[key] = True
        elif "email" in key and emails:
            args[key] = emails[0]
        elif ("id" in key or "number" in key) and ids:
            args[key] = ids[0]
        elif quoted:
            args[key] = quoted[0]
        elif names:
            args[key] = names[-1]
        else:
            args[key] = text[:80]
    return args


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text_of(c.get("text") if isinstance(c, dict) and "text" in c else c) for c in content if c is not None)
    if isinstance(content, dict):
        return json.dumps(content)
    return str(content)


# --- protocol adapters: request → Conversation ------------------------------------------------

def _openai_chat(body: dict[str, Any]) -> Conversation:
    tools = [(t["function"]["name"], t["function"].get("description", ""), t["function"].get("parameters")) for t in body.get("tools") or () if "function" in t]
    user, called, results, ids = "", [], [], {}
    users, own = [], []
    for m in body.get("messages") or ():
        if m.get("role") == "user":
            user = _text_of(m.get("content"))
            users.append(user)
        if m.get("role") == "assistant" and m.get("content"):
            own.append(_text_of(m.get("content")))
        for tc in m.get("tool_calls") or ():
            called.append(tc["function"]["name"])
            ids[tc.get("id")] = tc["function"]["name"]
        if m.get("role") == "tool":
            results.append((ids.get(m.get("tool_call_id"), "tool"), _text_of(m.get("content"))))
    system = " ".join(_text_of(m.get("content")) for m in body.get("messages") or () if m.get("role") in ("system", "developer"))
    return Conversation(user, tools, called, results, json.dumps(body.get("messages")), system, users, own)


def _openai_responses(body: dict[str, Any]) -> Conversation:
    tools = [(t.get("name"), t.get("description", ""), t.get("parameters")) for t in body.get("tools") or () if t.get("type") == "function"]
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    user, called, results, ids = "", [], [], {}
    for item in items or ():
        if item.get("role") == "user":
            user = _text_of(item.get("content"))
        elif item.get("type") == "function_call":
            called.append(item.get("name"))
            ids[item.get("call_id")] = item.get("name")
        elif item.get("type") == "function_call_output":
            results.append((ids.get(item.get("call_id"), "tool"), _text_of(item.get("output"))))
    system = (body.get("instructions") or "") + " ".join(_text_of(i.get("content")) for i in items or () if i.get("role") in ("system", "developer"))
    return Conversation(user, tools, called, results, json.dumps(items), system)


def _anthropic(body: dict[str, Any]) -> Conversation:
    tools = [(t.get("name"), t.get("description", ""), t.get("input_schema")) for t in body.get("tools") or ()]
    user, called, results, ids = "", [], [], {}
    for m in body.get("messages") or ():
        content = m.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
        for b in blocks:
            if b.get("type") == "tool_use":
                called.append(b.get("name"))
                ids[b.get("id")] = b.get("name")
            elif b.get("type") == "tool_result":
                results.append((ids.get(b.get("tool_use_id"), "tool"), _text_of(b.get("content"))))
        if m.get("role") == "user" and texts and any(texts):
            user = " ".join(texts)
    return Conversation(user, tools, called, results, json.dumps(body.get("messages")), _text_of(body.get("system")))


def _gemini(body: dict[str, Any]) -> Conversation:
    tools = []
    for t in body.get("tools") or ():
        for d in t.get("functionDeclarations") or t.get("function_declarations") or ():
            tools.append((d.get("name"), d.get("description", ""), _lower_schema(d.get("parameters") or d.get("parametersJsonSchema") or d.get("parameters_json_schema"))))
    user, called, results = "", [], []
    for c in body.get("contents") or ():
        for p in c.get("parts") or ():
            if "text" in p and c.get("role", "user") == "user":
                user = p["text"]
            fc = p.get("functionCall") or p.get("function_call")
            if fc:
                called.append(fc.get("name"))
            fr = p.get("functionResponse") or p.get("function_response")
            if fr:
                results.append((fr.get("name"), json.dumps(fr.get("response"))))
    instruction = body.get("systemInstruction") or body.get("system_instruction") or {}
    system = " ".join(p.get("text", "") for p in instruction.get("parts") or ()) if isinstance(instruction, dict) else ""
    return Conversation(user, tools, called, results, json.dumps(body.get("contents")), system)


def _lower_schema(schema: Any) -> Any:
    """Gemini sends schema types in upper case (`STRING`)."""
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_schema(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_lower_schema(v) for v in schema]
    return schema


# --- HTTP ---------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "proctor-fake-llm/1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        """`GET /_fake/requests`: how many requests it has answered, for benchmarks and tests
        in other processes to count what reached the model."""
        if self.path.split("?")[0] != "/_fake/requests":
            return self._json(404, {"error": {"message": "the fake LLM has no route " + self.path}})
        server = cast(_Server, self.server)
        return self._json(200, {"count": len(server.requests)})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._json(400, {"error": {"message": "the body is not JSON", "type": "invalid_request_error"}})
        path = self.path.split("?")[0]
        server = cast(_Server, self.server)
        server.requests.append((path, body.get("stream") is True or path.endswith(":streamGenerateContent")))
        delay = float(server.delay_ms) / 1000.0
        if delay:
            time.sleep(delay)
        if path.endswith("/chat/completions"):
            return self._openai_chat(body)
        if path.endswith("/responses"):
            return self._openai_responses(body)
        if path.endswith(("/messages", ":rawPredict", ":streamRawPredict")):
            if "model" not in body and "/models/" in path:  # Vertex names the model in the path
                body["model"] = path.rsplit("/models/", 1)[1].split(":", 1)[0]
            return self._anthropic(body)
        m = re.search(r"/models/([^/:]+):(generateContent|streamGenerateContent)$", path)
        if m:
            return self._gemini(body, m.group(1), m.group(2) == "streamGenerateContent")
        return self._json(404, {"error": {"message": "the fake LLM has no route " + path}})

    # responses

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, Any]]) -> None:
        """`events`: (event name or None, payload or raw string)."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        for name, payload in events:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            chunk = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            self.wfile.write(chunk.encode())
            self.wfile.flush()
        self.close_connection = True

    def _openai_chat(self, body: dict[str, Any]) -> None:
        conv = _openai_chat(body)
        step = conv.next_step()
        if step[0] == "error":
            return self._json(400, {"error": {"message": step[1], "type": "invalid_request_error", "code": "fake"}})
        model = body.get("model", "gpt-4o-mini")
        n = next(_ids)
        usage_in = _tokens(conv.all_text)
        message: dict[str, Any]
        if step[0] == "tool":
            call: dict[str, Any] = {"id": "call_%d" % n, "type": "function", "function": {"name": step[1], "arguments": json.dumps(step[2])}}
            message, finish, out_text = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls", call["function"]["arguments"]
        else:
            message, finish, out_text = {"role": "assistant", "content": step[1]}, "stop", step[1]
        usage = {"prompt_tokens": usage_in, "completion_tokens": _tokens(out_text), "total_tokens": usage_in + _tokens(out_text),
                 "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
        base = {"id": "chatcmpl-%d" % n, "created": int(time.time()), "model": model}
        if not body.get("stream"):
            return self._json(200, dict(base, object="chat.completion", choices=[{"index": 0, "message": message, "finish_reason": finish}], usage=usage))
        chunk = dict(base, object="chat.completion.chunk")
        events: list[tuple[str | None, Any]] = [(None, dict(chunk, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]))]
        if step[0] == "tool":
            call = message["tool_calls"][0]
            args = call["function"]["arguments"]
            events.append((None, dict(chunk, choices=[{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]}, "finish_reason": None}])))
            for piece in (args[: len(args) // 2], args[len(args) // 2:]):
                events.append((None, dict(chunk, choices=[{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, "finish_reason": None}])))
        else:
            for piece in re.findall(r"\S+\s*", step[1]):
                events.append((None, dict(chunk, choices=[{"index": 0, "delta": {"content": piece}, "finish_reason": None}])))
        events.append((None, dict(chunk, choices=[{"index": 0, "delta": {}, "finish_reason": finish}])))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append((None, dict(chunk, choices=[], usage=usage)))
        events.append((None, "[DONE]"))
        self._sse(events)

    def _openai_responses(self, body: dict[str, Any]) -> None:
        conv = _openai_responses(body)
        step = conv.next_step()
        if step[0] == "error":
            return self._json(400, {"error": {"message": step[1], "type": "invalid_request_error", "code": "fake"}})
        n = next(_ids)
        if step[0] == "tool":
            item: dict[str, Any] = {"type": "function_call", "id": "fc_%d" % n, "call_id": "call_%d" % n, "name": step[1], "arguments": json.dumps(step[2]), "status": "completed"}
            out_text = item["arguments"]
        else:
            item = {"type": "message", "id": "msg_%d" % n, "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": step[1], "annotations": []}]}
            out_text = step[1]
        usage_in = _tokens(conv.all_text)
        response: dict[str, Any] = {
            "id": "resp_%d" % n, "object": "response", "created_at": int(time.time()), "status": "completed",
            "model": body.get("model", "gpt-4o-mini"), "output": [item], "parallel_tool_calls": True,
            "tool_choice": "auto", "tools": body.get("tools") or [],
            "usage": {"input_tokens": usage_in, "output_tokens": _tokens(out_text), "total_tokens": usage_in + _tokens(out_text),
                      "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
        }
        if not body.get("stream"):
            return self._json(200, response)
        started = dict(response, status="in_progress", output=[], usage=None)
        extra: dict[str, Any] = {"arguments": ""} if step[0] == "tool" else {"content": []}
        events: list[tuple[str | None, Any]] = [("response.created", {"type": "response.created", "response": started}),
                  ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                                  "item": dict(item, status="in_progress", **extra)})]
        if step[0] == "tool":
            args = item["arguments"]
            events += [("response.function_call_arguments.delta", {"type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": 0, "delta": piece})
                       for piece in (args[: len(args) // 2], args[len(args) // 2:])]
            events.append(("response.function_call_arguments.done", {"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": 0, "name": item["name"], "arguments": args}))
        else:
            part: dict[str, Any] = {"type": "output_text", "text": "", "annotations": []}
            where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
            events.append(("response.content_part.added", dict(where, type="response.content_part.added", part=part)))
            events += [("response.output_text.delta", dict(where, type="response.output_text.delta", delta=piece, logprobs=[]))
                       for piece in re.findall(r"\S+\s*", step[1])]
            events.append(("response.output_text.done", dict(where, type="response.output_text.done", text=step[1], logprobs=[])))
            events.append(("response.content_part.done", dict(where, type="response.content_part.done", part=dict(part, text=step[1]))))
        events += [("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
                   ("response.completed", {"type": "response.completed", "response": response})]
        for number, (_, event) in enumerate(events):
            event["sequence_number"] = number
        self._sse(events)

    def _anthropic(self, body: dict[str, Any]) -> None:
        conv = _anthropic(body)
        step = conv.next_step()
        if step[0] == "error":
            return self._json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": step[1]}})
        n = next(_ids)
        if step[0] == "tool":
            block: dict[str, Any] = {"type": "tool_use", "id": "toolu_%d" % n, "name": step[1], "input": step[2]}
            stop, out_text = "tool_use", json.dumps(step[2])
        else:
            block = {"type": "text", "text": step[1]}
            stop, out_text = "end_turn", step[1]
        usage = {"input_tokens": _tokens(conv.all_text), "output_tokens": _tokens(out_text), "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        message: dict[str, Any] = {"id": "msg_%d" % n, "type": "message", "role": "assistant", "model": body.get("model", "claude-sonnet-4-5"),
                   "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            return self._json(200, message)
        start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
        if block["type"] == "tool_use":
            first = dict(block, input={})
            args = json.dumps(step[2])
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in (args[: len(args) // 2], args[len(args) // 2:])]
        else:
            first = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in re.findall(r"\S+\s*", step[1])]
        events: list[tuple[str | None, Any]] = [("message_start", {"type": "message_start", "message": start}),
                  ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": first})]
        events += [("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d}) for d in deltas]
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": usage["output_tokens"]}}),
                   ("message_stop", {"type": "message_stop"})]
        self._sse(events)

    def _gemini(self, body: dict[str, Any], model: str, stream: bool) -> None:
        conv = _gemini(body)
        step = conv.next_step()
        if step[0] == "error":
            return self._json(400, {"error": {"code": 400, "message": step[1], "status": "INVALID_ARGUMENT"}})
        if step[0] == "tool":
            part: dict[str, Any] = {"functionCall": {"name": step[1], "args": step[2]}}
            out_text = json.dumps(step[2])
        else:
            part = {"text": step[1]}
            out_text = step[1]
        usage = {"promptTokenCount": _tokens(conv.all_text), "candidatesTokenCount": _tokens(out_text), "totalTokenCount": _tokens(conv.all_text) + _tokens(out_text)}
        response: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
                    "usageMetadata": usage, "modelVersion": model}
        if not stream:
            return self._json(200, response)
        if "text" in part:
            words = re.findall(r"\S+\s*", part["text"]) or [""]
            chunks = [{"candidates": [{"content": {"role": "model", "parts": [{"text": w}]}, "index": 0}], "modelVersion": model} for w in words[:-1]]
            chunks.append(dict(response, candidates=[{"content": {"role": "model", "parts": [{"text": words[-1]}]}, "finishReason": "STOP", "index": 0}]))
        else:
            chunks = [response]
        self._sse([(None, c) for c in chunks])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Added to every answer, in milliseconds.
    delay_ms: float = 0
    # (path, streamed) of every request received, in order: tests compare it with the trace.
    requests: list[tuple[str, bool]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        # A client that stops reading a stream early is normal, not a server fault.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeLLM:
    """The server on a background thread: `with FakeLLM() as llm: llm.url`."""

    def __init__(self, port: int = 0, delay_ms: float = 0) -> None:
        self.httpd = _Server(("127.0.0.1", port), Handler)
        self.httpd.delay_ms = delay_ms
        # (path, streamed) of every request received, in order: tests compare it with the trace
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> list[tuple[str, bool]]:
        return self.httpd.requests

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def env(self) -> dict[str, str]:
        """The base-URL variables that point each SDK here."""
        return {
            "OPENAI_BASE_URL": self.url + "/v1",
            "OPENAI_API_KEY": "fake-key",
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "fake-key",
            "GOOGLE_GEMINI_BASE_URL": self.url,
            "GEMINI_API_KEY": "fake-key",
        }

    def start(self) -> FakeLLM:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=0, help="latency added to every answer")
    args = parser.parse_args()
    llm = FakeLLM(args.port, args.delay_ms)
    print(f"fake LLM listening on {llm.url}", flush=True)
    try:
        llm.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
