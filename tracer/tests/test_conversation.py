"""A command agent in a conversation: its tracer ends a turn at each answer line, writing that
turn's calls (tagged with it) before the answer reaches the runner."""

import json
import os
import pathlib
import subprocess
import sys

AGENT = '''
import json, openai, subprocess, sys
client = openai.OpenAI(max_retries=0)
tools = [{"type": "function", "function": {"name": "lookup_order", "description": "Look up an order by its order id",
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]
history = []
for line in sys.stdin:
    history.append(json.loads(line))
    # A helper process that prints a line of its own is no answer.
    subprocess.run([sys.executable, "-c", "print('helper line')"], check=True, capture_output=True)
    messages = list(history)
    while True:
        msg = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools).choices[0].message
        if not msg.tool_calls:
            break
        messages.append(msg.model_dump(exclude_none=True))
        for tc in msg.tool_calls:
            messages.append({"role": "tool", "tool_call_id": tc.id, "content": json.dumps({"status": "shipped"})})
    history.append({"role": "assistant", "content": msg.content})
    print(json.dumps({"content": msg.content}), flush=True)
'''

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _lines(path):
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def test_each_answer_writes_its_turn_before_it_goes_out(tmp_path, fake_llm):
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    out = tmp_path / "traces.jsonl"
    env = dict(os.environ, **fake_llm.env(), PROCTOR_TRACE_FILE=str(out), PROCTOR_CASE_ID="talk-1",
               PROCTOR_CONVERSATION="1", PROCTOR_TRACE_TURNS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    proc = subprocess.Popen([sys.executable, "-m", "proctor_trace", "--", sys.executable, str(script)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        turns_seen = []
        for message in ("Where is order ORD-1001?", "And where is order ORD-1002?"):
            proc.stdin.write(json.dumps({"role": "user", "content": message}) + "\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())["content"]
            assert answer.startswith("Done."), answer
            # Read as soon as the answer arrives: the turn's calls are already on file.
            tagged = [c for l in _lines(out) for c in l["trace"]["tool_calls"] if "turn" in c]
            turns_seen.append([(c["name"], c["turn"], c["arguments"]["order_id"]) for c in tagged])
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        proc.kill()
    assert turns_seen[0] == [("lookup_order", 1, "ORD-1001")]
    assert turns_seen[1] == [("lookup_order", 1, "ORD-1001"), ("lookup_order", 2, "ORD-1002")]
    lines = _lines(out)
    agent = [l for l in lines if l["pid"] == lines[-1]["pid"]]
    llm_turns = [c["turn"] for l in agent for c in l["trace"]["llm_calls"]]
    assert llm_turns == [1, 1, 2, 2], llm_turns
    # The helper processes wrote their own (empty) traces, and counted no turns.
    helpers = [l for l in lines if l["pid"] != lines[-1]["pid"]]
    assert len(helpers) == 2
    assert all(not l["trace"]["llm_calls"] and not l["trace"]["tool_calls"] for l in helpers)
