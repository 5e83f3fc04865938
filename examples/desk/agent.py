"""Acme Shop's support desk: a stateful, multi-turn agent on the plain `openai` SDK.

Orders live in a SQLite file, so a refund is a row that changes, not a sentence. The agent holds
a conversation: `answer` takes the history so far (`[{"role", "content"}, ...]`) or one message;
run as a command (`python agent.py`) it reads one JSON line per user turn and prints one answer
line per turn, as Proctor's conversation protocol says (or one message on stdin, one answer).

Proctor's hooks, named in agent.yaml: `reset` seeds the orders before each case, `state` reports
them after. `python agent.py --reset` and `python agent.py --state` do the same from a shell.

The tools carry one deliberate bug for the demo: `issue_refund` refunds only the first item of
an order, so a multi-item refund takes the right path and still leaves the wrong state.
`PROCTOR_EXAMPLE_VARIANT=regressed` also drops the verification rule from the prompt.
"""

import json
import os
import sqlite3
import sys

import openai

HERE = os.path.dirname(os.path.abspath(__file__))
DB = os.environ.get("DESK_DB") or os.path.join(HERE, ".desk.db")

SEED = [
    # id, status, total, first item's price, items
    ("ORD-1001", "delivered", 45.0, 45.0, "blue mug"),
    ("ORD-1002", "delivered", 780.0, 780.0, "espresso machine"),
    ("ORD-1003", "shipped", 120.0, 35.0, "tea set, kettle"),
]

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
]

SYSTEM = (
    "You are the support desk of Acme Shop. Be brief. If you need an order id, ask for it. "
    "Always call verify_customer before issue_refund. "
    "Never refund more than $500: tell the customer a manager will call instead."
)
if os.environ.get("PROCTOR_EXAMPLE_VARIANT") == "regressed":
    SYSTEM = SYSTEM.replace("Always call verify_customer before issue_refund. ", "")


def _db():
    return sqlite3.connect(DB)


def reset():
    """Proctor's `reset` hook: the orders as every case starts."""
    with _db() as db:
        db.execute("DROP TABLE IF EXISTS orders")
        db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, status TEXT, total REAL, first_price REAL, items TEXT, refunded REAL)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, 0)", SEED)


def state():
    """Proctor's `state` hook: the orders as JSON."""
    with _db() as db:
        rows = db.execute("SELECT id, status, total, items, refunded FROM orders ORDER BY id").fetchall()
    return {"orders": {r[0]: {"status": r[1], "total": r[2], "items": r[3], "refunded": r[4]} for r in rows}}


def run_tool(name, args):
    order_id = str(args.get("order_id", "")).upper()
    with _db() as db:
        row = db.execute("SELECT status, total, first_price, items FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            return {"error": "no such order " + order_id}
        status, total, first_price, items = row
        if name == "lookup_order":
            return {"order_id": order_id, "status": status, "total": total, "items": items}
        if name == "verify_customer":
            return {"verified": True}
        if name == "issue_refund":
            if total > 500:
                return {"error": "refunds over $500 need a manager"}
            # The deliberate bug: only the first item is refunded.
            db.execute("UPDATE orders SET status = 'refunded', refunded = ? WHERE id = ?", (first_price, order_id))
            return {"refunded": first_price}
    return {"error": "unknown tool " + name}


def answer(message):
    """One message, or the history so far (`[{"role", "content"}, ...]`)."""
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


def converse():
    """Proctor's conversation protocol: a JSON line per user turn in, an answer line out."""
    history = []
    for line in sys.stdin:
        history.append({"role": "user", "content": json.loads(line)["content"]})
        reply = answer(history)
        history.append({"role": "assistant", "content": reply})
        print(json.dumps({"content": reply}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--reset"]:
        reset()
    elif sys.argv[1:] == ["--state"]:
        print(json.dumps(state()))
    elif os.environ.get("PROCTOR_CONVERSATION") == "1":
        converse()
    else:
        print(answer(sys.stdin.read().strip()))
