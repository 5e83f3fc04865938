"""OpenAI Chat Completions (`POST …/chat/completions`), as OpenAI, Azure OpenAI and every
OpenAI-compatible server speak it: JSON, or SSE chunks ending in `data: [DONE]`."""

from ._common import Reply, Request, count, parse_json, result_value, text_of

PROVIDER = "openai"


def tool_names(tools):
    names = []
    for t in tools or ():
        if not isinstance(t, dict):
            continue
        fn = t.get("function")
        name = fn.get("name") if isinstance(fn, dict) else t.get("name")
        if name:
            names.append(name)
    return names


def _model(body, path):
    """Azure names the deployment in the path, not the body."""
    model = body.get("model")
    if not model and "/deployments/" in path:
        model = path.split("/deployments/", 1)[1].split("/", 1)[0]
    return model


def request(body, path):
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    results, texts = [], []
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


def ask_for_usage(body):
    opts = body.get("stream_options")
    if isinstance(opts, dict) and opts.get("include_usage"):
        return False
    body["stream_options"] = dict(opts if isinstance(opts, dict) else {}, include_usage=True)
    return True


def usage(u):
    if not isinstance(u, dict):
        return {}
    return {
        "input_tokens": count(u, "prompt_tokens"),
        "output_tokens": count(u, "completion_tokens"),
        "cache_read_tokens": count(u.get("prompt_tokens_details"), "cached_tokens"),
        "reasoning_tokens": count(u.get("completion_tokens_details"), "reasoning_tokens"),
    }


def response(body):
    chosen, text = [], ""
    for choice in body.get("choices") or ():
        message = choice.get("message") or {}
        text += text_of(message.get("content"))
        for tc in message.get("tool_calls") or ():
            fn = tc.get("function") or {}
            chosen.append((tc.get("id"), fn.get("name"), parse_json(fn.get("arguments"))))
    return Reply(usage(body.get("usage")), chosen, body.get("model"), text)


class Accumulator:
    __slots__ = ("usage", "model", "calls", "text")

    def __init__(self):
        self.usage = {}
        self.model = None
        self.calls = {}
        self.text = []

    def feed(self, chunk, hide_usage_chunk):
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
            if not choices and hide_usage_chunk:
                return False
        return True

    def result(self):
        chosen = [(c["id"], c["name"], parse_json(c["args"])) for _, c in sorted(self.calls.items())]
        return Reply(self.usage, chosen, self.model, "".join(self.text))
