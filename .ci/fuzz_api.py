"""Fuzzes the whole API from its own OpenAPI document with schemathesis, against a real server.

The server starts on a throwaway SQLite database, seeded through the API with an agent, its
scenarios, a run holding results and a second run to compare with, so the operations on a run, a
result or a scenario reach real data instead of answering 404 to every random id. Deleting
operations get random ids: they must not delete the seed from under the others. Passes when no
request gets a 5xx and every answer matches the document's schema for its status.

    python .ci/fuzz_api.py target/debug/proctor
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

MAX_EXAMPLES = "25"
TIME_LIMIT_SECS = 900


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def seed(base):
    api = base + "/api/v1"
    call(api, "POST", "/agents", {
        "name": "support",
        "tools": [{"name": "lookup_order", "description": "Find an order"},
                  {"name": "refund", "description": "Refund an order"}],
        "policies": ["Never refund more than $500"],
    })
    scenarios = call(api, "POST", "/agents/support/scenarios", {"scenarios": [
        {"key": "refund-basic", "user_message": "Refund order 1001", "category": "workflow",
         "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "refund"}]}},
        {"key": "status", "user_message": "Where is order 1002?",
         "expectations": {"expected_tools": [{"tool": "lookup_order"}], "response_contains": ["shipped"]}},
    ]})
    runs = []
    for label, tools in [("base", ["lookup_order", "refund"]), ("head", ["refund"])]:
        run = call(api, "POST", "/runs", {"agent": "support", "label": label})["run"]["id"]
        synced = call(api, "POST", f"/runs/{run}/results", {"results": [
            {"scenario_key": "refund-basic", "agent_response": "Refunded.", "tool_calls": tools},
            {"scenario_key": "status", "agent_response": "It has shipped.", "tool_calls": ["lookup_order"]},
        ]})
        runs.append((run, synced["result_ids"][0]))
    return {"RUN": runs[0][0], "HEAD": runs[1][0], "RESULT": runs[0][1], "SCENARIO": scenarios[0]["id"]}


def config(ids):
    # Fixed ids for every operation that reads or changes one thing, except deletions.
    keep = 'exclude-method = "DELETE"'
    return f"""
[[operations]]
include-path-regex = "/runs/\\\\{{id\\\\}}"
{keep}
parameters = {{ "path.id" = "{ids['RUN']}" }}

[[operations]]
include-path-regex = "/results/"
parameters = {{ "path.id" = "{ids['RESULT']}" }}

[[operations]]
include-path-regex = "/scenarios/"
parameters = {{ "path.id" = "{ids['SCENARIO']}" }}

[[operations]]
include-path-regex = "/agents/\\\\{{agent\\\\}}"
{keep}
parameters = {{ "path.agent" = "support" }}

[[operations]]
include-path = "/compare"
parameters = {{ "query.base" = "{ids['RUN']}", "query.head" = "{ids['HEAD']}" }}
"""


def main():
    proctor = sys.argv[1]
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [proctor, "serve", "--addr", "127.0.0.1:0", "--database-url", f"{tmp}/fuzz.db"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            base = None
            for line in server.stdout:
                found = re.search(r"proctor listening on (http://\S+)", line)
                if found:
                    base = found.group(1)
                    break
            if base is None:
                sys.exit("the server did not start")
            ids = seed(base)
            Path(tmp, "schemathesis.toml").write_text(config(ids))
            command = [
                schemathesis, "--config-file", f"{tmp}/schemathesis.toml", "run",
                f"{base}/api/v1/openapi.json",
                "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--phases", "examples,coverage,fuzzing",
                "--max-examples", MAX_EXAMPLES,
                # A live event stream never ends; its route is covered by the server's own tests.
                "--exclude-path", "/runs/{id}/events",
                # Hypothesis, which draws the cases, is not thread-safe: one worker.
                "--workers", "1",
                "--seed", os.environ.get("PROCTOR_FUZZ_SEED", "20261127"),
            ]
            print("+", " ".join(command), flush=True)
            done = subprocess.run(command, timeout=TIME_LIMIT_SECS, check=False)
            sys.exit(done.returncode)
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
