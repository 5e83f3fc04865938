"""An order-status agent on the OpenAI SDK, instrumented with OpenTelemetry the way its
instrumentations' documentation shows — no Proctor code. `PROCTOR_OTEL` picks the
instrumentation: `openllmetry` (opentelemetry-instrumentation-openai, the default) or
`openinference` (openinference-instrumentation-openai). Spans go out over OTLP/HTTP to wherever
`OTEL_EXPORTER_OTLP_ENDPOINT` points; `proctor run` points it at the Proctor server and names the
case in `OTEL_RESOURCE_ATTRIBUTES`.

    proctor run examples/otel-python/agent.yaml --env PROCTOR_OTEL=openinference

`PROCTOR_STREAM=1` streams every model call. The message is read from stdin, the answer
written to stdout.
"""

import json
import os
import sys

from openai import OpenAI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

MODEL = "gpt-4o-mini"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look up an order's status by its order id",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
]


def lookup_order(order_id):
    return {"order_id": order_id, "status": "shipped", "carrier": "UPS"}


def instrument():
    # The provider reads the service's resource (OTEL_RESOURCE_ATTRIBUTES) and shuts down, so
    # flushes its last spans, when the process exits.
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    which = os.environ.get("PROCTOR_OTEL", "openllmetry")
    if which == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    elif which == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
    else:
        sys.exit(f"PROCTOR_OTEL must be openllmetry or openinference, not {which!r}")
    OpenAIInstrumentor().instrument(tracer_provider=provider)


def complete(client, messages):
    """One model call: the assistant's message as a dict, streamed when PROCTOR_STREAM=1."""
    if os.environ.get("PROCTOR_STREAM") != "1":
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        return reply.choices[0].message.model_dump(exclude_none=True)
    stream = client.chat.completions.create(
        model=MODEL, messages=messages, tools=TOOLS, stream=True, stream_options={"include_usage": True}
    )
    content, calls = "", {}
    for chunk in stream:
        for choice in chunk.choices:
            content += choice.delta.content or ""
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
                call["id"] = delta.id or call["id"]
                if delta.function:
                    call["function"]["name"] += delta.function.name or ""
                    call["function"]["arguments"] += delta.function.arguments or ""
    message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message


def answer(question):
    client = OpenAI(max_retries=0)
    messages = [
        {"role": "system", "content": "You answer Acme Shop customers about their orders."},
        {"role": "user", "content": question},
    ]
    for _ in range(5):
        message = complete(client, messages)
        if not message.get("tool_calls"):
            return message.get("content") or ""
        messages.append(message)
        for call in message["tool_calls"]:
            result = lookup_order(**json.loads(call["function"]["arguments"]))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)})
    return "I could not finish looking that up."


if __name__ == "__main__":
    instrument()
    print(answer(sys.stdin.read().strip()))
