"""Zero-code activation: an unchanged agent script, started through `python -m proctor_trace`,
writes its trace where the runner asked."""

import json
import os
import pathlib
import subprocess
import sys

AGENT = '''
import json, openai, sys
client = openai.OpenAI(max_retries=0)
messages = [{"role": "user", "content": sys.stdin.read()}]
tools = [{"type": "function", "function": {"name": "lookup_customer", "description": "Look up a customer by email",
          "parameters": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}}]
while True:
    msg = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools).choices[0].message
    if not msg.tool_calls:
        print(msg.content)
        break
    messages.append(msg.model_dump(exclude_none=True))
    for tc in msg.tool_calls:
        messages.append({"role": "tool", "tool_call_id": tc.id, "content": json.dumps({"customer": "Ann", "phone": "(212) 555-0188"})})
'''

ROOT = pathlib.Path(__file__).resolve().parents[1]


def start_agent(tmp_path, env_vars):
    """Runs the agent script through `python -m proctor_trace`; its stdout and the lines its
    tracer wrote."""
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    out = tmp_path / "traces.jsonl"
    out.unlink(missing_ok=True)
    env = dict(os.environ, PROCTOR_TRACE_FILE=str(out), PROCTOR_CASE_ID="case-1",
               PROCTOR_INPUT="Look up the customer ann@shop.com", **env_vars)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    proc = subprocess.run([sys.executable, "-m", "proctor_trace", "--", sys.executable, str(script)],
                          input="Look up the customer ann@shop.com", capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, [json.loads(line) for line in out.read_text().splitlines()]


def run_agent(tmp_path, fake_llm, extra_env=None):
    stdout, lines = start_agent(tmp_path, dict(fake_llm.env(), **(extra_env or {})))
    assert len(lines) == 1
    return stdout, lines[0]


def test_an_unchanged_agent_is_traced_and_scrubbed(tmp_path, fake_llm):
    stdout, record = run_agent(tmp_path, fake_llm)
    assert "lookup_customer returned" in stdout
    assert record["case_id"] == "case-1"
    trace = record["trace"]
    assert [c["model"] for c in trace["llm_calls"]] == ["gpt-4o-mini", "gpt-4o-mini"]
    [tool] = trace["tool_calls"]
    assert tool["name"] == "lookup_customer"
    assert tool["arguments"] == {"email": "[REDACTED:EMAIL]"}
    assert "555-0188" not in json.dumps(trace)
    assert trace["input"] == "Look up the customer [REDACTED:EMAIL]"
    assert trace["output"] == stdout.strip().replace("(212) 555-0188", "[REDACTED:PHONE]"), "the final answer, scrubbed"
    assert trace["redactions"]["email"] >= 2 and trace["redactions"]["phone"] == 2


def test_redaction_is_off_only_when_asked(tmp_path, fake_llm):
    _, record = run_agent(tmp_path, fake_llm, {"PROCTOR_TRACE_REDACT": "0"})
    assert record["trace"]["tool_calls"][0]["arguments"] == {"email": "ann@shop.com"}


def test_an_existing_sitecustomize_still_runs(tmp_path, fake_llm):
    theirs = tmp_path / "site"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import os\nos.environ['THEIR_SITECUSTOMIZE'] = 'ran'\n")
    script = tmp_path / "check.py"
    script.write_text("import os, proctor_trace\nprint(os.environ.get('THEIR_SITECUSTOMIZE'), proctor_trace.current_case() is not None)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(theirs)]))
    proc = subprocess.run([sys.executable, "-m", "proctor_trace", "--", sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.stdout.split() == ["ran", "True"], proc.stderr


def test_usage_without_a_command_is_explained():
    proc = subprocess.run([sys.executable, "-m", "proctor_trace"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 2
    assert "usage: python -m proctor_trace -- <command>" in proc.stderr


def test_a_command_agent_records_its_exchanges_and_replays_them_offline(tmp_path, fake_llm):
    _, lines = start_agent(tmp_path, dict(fake_llm.env(), PROCTOR_RECORD="1"))
    assert [[k for k in ("trace", "recording") if k in line] for line in lines] == [["trace"], ["recording"]]
    recorded_trace, recording = lines[0]["trace"], lines[1]["recording"]
    assert len(recording["exchanges"]) == 2
    assert "555-0188" in json.dumps(recording), "the recording is the agent's own data, unscrubbed"

    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"recording": recording, "mode": "strict", "masks": []}))
    offline = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "fake", "PROCTOR_REPLAY_FILE": str(replay)}
    _, [line] = start_agent(tmp_path, offline)
    trace = line["trace"]
    assert trace["replay"]["replayed"] == 2 and trace["replay"]["live"] == 0, trace["replay"]
    assert all(c["replayed"] for c in trace["llm_calls"])
    def path(t):
        return [(c["name"], c["arguments"], c["result"]) for c in t["tool_calls"]]

    assert path(trace) == path(recorded_trace)
    assert trace["output"] == recorded_trace["output"]
