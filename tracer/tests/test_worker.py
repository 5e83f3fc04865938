"""The python-mode worker runs cases concurrently, but its first case alone: an agent whose first
call sets itself up lazily (imports, clients) must not do so in two threads at once."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# A first call that is not thread-safe: a second call during it sees the half-built state.
AGENT = '''
import time{imports}

state = {{}}
active = []

def _setup():
    if "client" not in state:
        state["client"] = "partial"
        time.sleep(0.3)
        state["client"] = "ready"
    if state["client"] != "ready":
        raise RuntimeError("saw a half-built client")

{kind}def answer(message):
    _setup()
    active.append(message)
    {pause}
    overlapped = len(active) > 1
    active.remove(message)
    return "%s overlapped=%s" % (message, overlapped)
'''


def _start_worker(tmp_path, module, source):
    """A worker serving `module:answer`, written from `source` into `tmp_path`."""
    (tmp_path / (module + ".py")).write_text(source)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    return subprocess.Popen([sys.executable, "-m", "proctor_trace._worker", module + ":answer"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)


def _serve(tmp_path, kind, cases):
    pause = "await asyncio.sleep(0.3)" if kind else "time.sleep(0.3)"
    imports = "\nimport asyncio" if kind else ""
    proc = _start_worker(tmp_path, "lazy_agent", AGENT.format(kind=kind, pause=pause, imports=imports))
    try:
        assert json.loads(proc.stdout.readline())["ready"] is True
        for i in range(cases):
            proc.stdin.write(json.dumps({"id": i, "case_id": "case-%d" % i, "input": "m%d" % i}) + "\n")
        proc.stdin.flush()
        replies = [json.loads(proc.stdout.readline()) for _ in range(cases)]
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    return {r["id"]: r for r in replies}


@pytest.mark.parametrize("kind", ["", "async "])
def test_the_first_case_runs_alone_and_the_rest_together(tmp_path, kind):
    replies = _serve(tmp_path, kind, 4)
    assert all(r["error"] is None for r in replies.values()), replies
    # The first case sent finished before any other began; the others ran at once.
    assert replies[0]["output"] == "m0 overlapped=False"
    assert any(r["output"].endswith("overlapped=True") for i, r in replies.items() if i > 0), replies


OPENAI_AGENT = '''
import openai

client = openai.OpenAI(max_retries=0)

def answer(message):
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": message}])
    return reply.choices[0].message.content
'''


def _ask(proc, request):
    proc.stdin.write(json.dumps(request) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def test_a_case_asked_to_record_answers_with_its_recording_and_one_replayed_sends_nothing(tmp_path, fake_llm):
    proc = _start_worker(tmp_path, "chat_agent", OPENAI_AGENT)
    try:
        assert json.loads(proc.stdout.readline())["ready"] is True
        recorded = _ask(proc, {"id": 1, "case_id": "hello#1", "input": "Say hello", "record": True})
        recording = recorded["recording"]
        assert len(recording["exchanges"]) == 1, recorded
        plain = _ask(proc, {"id": 2, "case_id": "hello#1", "input": "Say hello"})
        assert "recording" not in plain, "only a case asked to record carries its recording"

        before = len(fake_llm.requests)
        replayed = _ask(proc, {"id": 3, "case_id": "hello#1", "input": "Say hello", "replay": {"recording": recording}})
        assert len(fake_llm.requests) == before
        assert replayed["output"] == recorded["output"]
        assert replayed["trace"]["replay"]["replayed"] == 1

        strict = _ask(proc, {"id": 4, "case_id": "hello#1", "input": "Say goodbye",
                             "replay": {"recording": recording, "mode": "strict"}})
        assert len(fake_llm.requests) == before
        assert strict["error"]["message"].startswith("replay: call 1 does not match its recording at `messages[0].content`"), strict
        assert "- Say hello" in strict["error"]["message"] and "+ Say goodbye" in strict["error"]["message"]
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
