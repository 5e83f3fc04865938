"""A travel-desk agent written with the plain `anthropic` SDK, run as a command: the message on
stdin, the answer on stdout. Offline it talks to Proctor's fake LLM (ANTHROPIC_BASE_URL)."""

import json
import os
import sys

import anthropic

TOOLS = [
    {"name": "get_weather", "description": "Get the weather forecast for a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"name": "search_flights", "description": "Search flights to a destination city",
     "input_schema": {"type": "object", "properties": {"destination": {"type": "string"}}, "required": ["destination"]}},
    {"name": "book_flight", "description": "Book a seat on a flight, charging the saved card",
     "input_schema": {"type": "object", "properties": {"flight": {"type": "string"}}, "required": ["flight"]}},
]
SYSTEM = "You are a travel desk. Always call search_flights before book_flight. Never book without the traveller's confirmation."


def run_tool(name, args):
    if name == "get_weather":
        return {"city": args.get("city"), "forecast": "sunny", "celsius": 24}
    if name == "search_flights":
        return {"flights": [{"flight": "AF123", "to": args.get("destination"), "price": 189}]}
    if name == "book_flight":
        return {"booked": args.get("flight"), "charged": 189}
    return {"error": "unknown tool"}


def main():
    client = anthropic.Anthropic()
    model = os.environ.get("ANTHROPIC_MODEL", "claude-haiku-4-5")
    messages = [{"role": "user", "content": sys.stdin.read().strip()}]
    for _ in range(6):
        reply = client.messages.create(model=model, max_tokens=512, system=SYSTEM, messages=messages, tools=TOOLS)
        uses = [b for b in reply.content if b.type == "tool_use"]
        if not uses:
            print("".join(b.text for b in reply.content if b.type == "text"))
            return
        messages.append({"role": "assistant", "content": [b.model_dump() for b in reply.content]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": u.id, "content": json.dumps(run_tool(u.name, u.input))} for u in uses]})
    print("Sorry, I could not finish that request.")


if __name__ == "__main__":
    main()
