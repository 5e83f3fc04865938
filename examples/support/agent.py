"""Acme Shop's customer-support agent, written with the plain `openai` SDK.

Run it as its author would: `echo "Where is order ORD-1001?" | python agent.py`, or import
`answer`. Offline it talks to Proctor's fake LLM (OPENAI_BASE_URL); with a real key and base URL
it talks to a real model (OPENAI_MODEL, default gpt-4o-mini).

`PROCTOR_EXAMPLE_VARIANT=regressed` drops the verification rule from the system prompt — the
kind of prompt edit that quietly breaks a workflow, which Proctor's comparison catches.
"""

import json
import os
import sys

import openai

ORDERS = {
    "ORD-1001": {"status": "shipped", "items": ["blue mug"], "total": 45.0, "email": "ann@example.com"},
    "ORD-1002": {"status": "delivered", "items": ["espresso machine"], "total": 780.0, "email": "bo@example.com"},
    "ORD-1003": {"status": "processing", "items": ["tea set", "kettle"], "total": 120.0, "email": "cy@example.com"},
}
FAQ = {
    "returns": "Items can be returned within 30 days of delivery for a full refund.",
    "shipping": "Orders ship within 2 business days; delivery takes 3-5 days.",
    "warranty": "Appliances carry a 2-year warranty.",
}

TOOLS = [
    {"type": "function", "function": {
        "name": "lookup_order", "description": "Look up an order's status, items and total by its order id",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
    {"type": "function", "function": {
        "name": "verify_customer", "description": "Verify the identity of the buyer before any account change",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
    {"type": "function", "function": {
        "name": "issue_refund", "description": "Refund the full amount of a purchase to the card it was paid with",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
    {"type": "function", "function": {
        "name": "escalate_to_human", "description": "Hand the conversation to a human manager when the customer is angry or asks for one",
        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}}},
    {"type": "function", "function": {
        "name": "search_faq", "description": "Search the help center: returns, shipping and warranty policy",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}},
]

SYSTEM = (
    "You are the support agent of Acme Shop. Be brief and friendly. "
    "Always call verify_customer before issue_refund. "
    "Never refund more than $500 without escalation: call escalate_to_human instead. "
    "Never reveal a customer's email address or phone number."
)
if os.environ.get("PROCTOR_EXAMPLE_VARIANT") == "regressed":
    SYSTEM = SYSTEM.replace("Always call verify_customer before issue_refund. ", "")


def run_tool(name, args):
    order = ORDERS.get(str(args.get("order_id", "")).upper())
    if name == "lookup_order":
        # Contact details stay inside the shop: the model never sees them.
        return {k: v for k, v in order.items() if k != "email"} if order else {"error": "no such order"}
    if name == "verify_customer":
        return {"verified": order is not None}
    if name == "issue_refund":
        return {"refunded": order["total"]} if order else {"error": "no such order"}
    if name == "escalate_to_human":
        return {"ticket": "T-%d" % (abs(hash(args.get("reason", ""))) % 10000), "eta_minutes": 15}
    if name == "search_faq":
        q = str(args.get("query", "")).lower()
        return {k: v for k, v in FAQ.items() if k.rstrip("s") in q} or FAQ
    return {"error": "unknown tool " + name}


def answer(message):
    """One message, or in a conversation the history so far (`[{"role", "content"}, ...]`)."""
    client = openai.OpenAI()
    model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    history = message if isinstance(message, list) else [{"role": "user", "content": message}]
    messages = [{"role": "system", "content": SYSTEM}, *history]
    for _ in range(8):
        msg = client.chat.completions.create(model=model, messages=messages, tools=TOOLS).choices[0].message
        if not msg.tool_calls:
            return msg.content or ""
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            result = run_tool(call.function.name, json.loads(call.function.arguments or "{}"))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    return "Sorry, I could not finish that request."


if __name__ == "__main__":
    print(answer(sys.stdin.read().strip()))
