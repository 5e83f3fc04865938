"""Drives Proctor's MCP server with the official Python `mcp` client, over stdio or streamable
HTTP, and prints what it saw as JSON for the Rust test (server/tests/mcp.rs) to check against
the REST API.

    python tests/mcp_client.py stdio <proctor binary> <server url>
    python tests/mcp_client.py http <server url>/mcp
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


def results(n, variant):
    out = []
    for i in range(n):
        tools = ["lookup_order", "refund"] if (variant and i % 10 == 0) else ["lookup_order", "verify_id", "refund"]
        out.append({
            "scenario_key": "case-%d" % i,
            "user_message": "Refund order %d" % i,
            "agent_response": "Done.",
            "tool_calls": tools,
            "trace": {"llm_calls": [{"provider": "custom", "model": "gpt-4o-mini", "input_tokens": 100, "output_tokens": 10}]},
            "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}]},
        })
    return out


async def call(session, name, args):
    """(ok, parsed JSON or error message)."""
    try:
        result = await session.call_tool(name, args)
    except Exception as exc:  # an MCP error reply
        return False, str(exc)
    text = "".join(getattr(c, "text", "") for c in result.content)
    if getattr(result, "isError", False) or getattr(result, "is_error", False):
        return False, text
    try:
        return True, json.loads(text)
    except ValueError:
        return False, text


async def drive(read, write):
    seen = {}
    async with ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        seen["tools"] = sorted(t.name for t in tools.tools)
        ok, base = await call(session, "sync_results", {"agent": "support", "label": "mcp-base", "results": results(1000, False)})
        assert ok, base
        ok, head = await call(session, "sync_results", {"agent": "support", "label": "mcp-head", "results": results(1000, True)})
        assert ok, head
        seen["base_run"], seen["head_run"] = base["run"], head["run"]
        seen["head_sync"] = head
        ok, run = await call(session, "get_test_run", {"run": head["run"]})
        seen["get_test_run"] = run
        ok, page = await call(session, "list_results", {"run": head["run"], "status": "failed", "limit": 1000})
        seen["failed_results"] = page
        ok, one = await call(session, "get_result", {"result": page["items"][0]["id"]})
        seen["get_result"] = one
        ok, cmp = await call(session, "compare_test_runs", {"base": base["run"], "head": head["run"]})
        seen["compare"] = cmp
        ok, breakdown = await call(session, "get_failure_breakdown", {"run": head["run"]})
        seen["breakdown"] = breakdown
        ok, queue = await call(session, "get_review_queue", {"agent": "support"})
        seen["queue"] = queue
        ok, runs = await call(session, "list_test_runs", {"agent": "support", "limit": 5})
        seen["list_test_runs"] = runs
        seen["errors"] = {
            "unknown_run": await call(session, "get_test_run", {"run": "6f1c2b1e-0000-4000-8000-000000000000"}),
            "too_many": await call(session, "sync_results", {"run": head["run"], "results": results(1001, False)}),
            "wrong_types": await call(session, "list_results", {"run": head["run"], "limit": "lots"}),
            "not_a_result": await call(session, "sync_results", {"run": head["run"], "results": [{"attempt": "x"}]}),
            "not_an_audit": await call(session, "get_audit", {"run": head["run"]}),
            "audit_of_nothing": await call(session, "start_audit", {"run": "6f1c2b1e-0000-4000-8000-000000000000"}),
        }
        ok, after = await call(session, "get_test_run", {"run": head["run"]})
        seen["total_after_errors"] = after["summary"]["total"]
    return seen


async def main(argv):
    if argv[0] == "stdio":
        params = StdioServerParameters(command=argv[1], args=["mcp", "--server", argv[2]])
        async with stdio_client(params) as (read, write):
            seen = await drive(read, write)
    else:
        async with streamable_http_client(argv[1]) as streams:
            seen = await drive(streams[0], streams[1])
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
