"""One order-status agent, built on each of the popular agent frameworks the way their
documentation shows, with no tracing code: LangGraph with langchain-openai (Chat Completions or
Responses) and langchain-anthropic, the OpenAI Agents SDK, and pydantic-ai (Anthropic or OpenAI).
Each has one tool, `lookup_order`, and answers with text.

    PROCTOR_FRAMEWORK=pydantic-ai-anthropic PROCTOR_STREAM=1 proctor run examples/frameworks/agent.yaml

`agent.yaml` runs it in python mode (`agent:answer`), `agent-command.yaml` as a command (one
process per case, the message on stdin). The tracer's tests (`tracer/tests/test_frameworks.py`)
and the runner's end-to-end test run the same agents against the fake LLM.
"""

import asyncio
import os
import sys

MODEL_OPENAI = "gpt-4o-mini"
MODEL_ANTHROPIC = "claude-haiku-4-5"
QUESTION = "Where is my order ORD-1001?"
INSTRUCTIONS = "You answer Acme Shop customers about their orders."


def lookup_order(order_id: str) -> dict:
    """Look up an order's status by its order id."""
    return {"order_id": order_id, "status": "shipped", "carrier": "UPS"}


def _text(content):
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


# --- LangGraph ---------------------------------------------------------------------------------

def _langgraph(model, question):
    from langchain_core.tools import tool
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(model, [tool(lookup_order)])
    state = agent.invoke({"messages": [("user", question)]})
    return _text(state["messages"][-1].content)


def langgraph_openai(question=QUESTION, stream=False):
    from langchain_openai import ChatOpenAI

    return _langgraph(ChatOpenAI(model=MODEL_OPENAI, streaming=stream, max_retries=0), question)


def langgraph_openai_responses(question=QUESTION, stream=False):
    from langchain_openai import ChatOpenAI

    return _langgraph(ChatOpenAI(model=MODEL_OPENAI, streaming=stream, use_responses_api=True, max_retries=0), question)


def langgraph_anthropic(question=QUESTION, stream=False):
    from langchain_anthropic import ChatAnthropic

    return _langgraph(ChatAnthropic(model=MODEL_ANTHROPIC, streaming=stream, max_retries=0), question)


# --- OpenAI Agents SDK -------------------------------------------------------------------------

def _openai_agent():
    from agents import Agent, OpenAIResponsesModel, function_tool, set_tracing_disabled
    from openai import AsyncOpenAI

    set_tracing_disabled(True)  # its own exporter would post to OpenAI
    # A client of this run's own: runs on other threads have event loops of their own.
    model = OpenAIResponsesModel(MODEL_OPENAI, AsyncOpenAI(max_retries=0))
    return Agent(name="orders", instructions=INSTRUCTIONS, model=model, tools=[function_tool(lookup_order)])


def openai_agents(question=QUESTION, stream=False):
    from agents import Runner

    agent = _openai_agent()
    if not stream:
        return Runner.run_sync(agent, question).final_output

    async def streamed():
        result = Runner.run_streamed(agent, question)
        async for _ in result.stream_events():
            pass
        return result.final_output

    return asyncio.run(streamed())


# --- pydantic-ai -------------------------------------------------------------------------------

def _pydantic_agent(provider):
    from pydantic_ai import Agent

    # A client of this run's own: runs on other threads have event loops of their own.
    if provider == "anthropic":
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        model = AnthropicModel(MODEL_ANTHROPIC, provider=AnthropicProvider(anthropic_client=AsyncAnthropic(max_retries=0)))
    else:
        from openai import AsyncOpenAI
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        model = OpenAIChatModel(MODEL_OPENAI, provider=OpenAIProvider(openai_client=AsyncOpenAI(max_retries=0)))
    agent = Agent(model, instructions=INSTRUCTIONS)
    agent.tool_plain(lookup_order)
    return agent


def pydantic_ai(question=QUESTION, stream=False, provider="anthropic"):
    agent = _pydantic_agent(provider)
    if not stream:
        return agent.run_sync(question).output

    async def streamed():
        async with agent.run_stream(question) as result:
            return await result.get_output()

    return asyncio.run(streamed())


def pydantic_ai_openai(question=QUESTION, stream=False):
    return pydantic_ai(question, stream, provider="openai")


AGENTS = {
    "langgraph-openai": (langgraph_openai, "openai", MODEL_OPENAI),
    "langgraph-openai-responses": (langgraph_openai_responses, "openai", MODEL_OPENAI),
    "langgraph-anthropic": (langgraph_anthropic, "anthropic", MODEL_ANTHROPIC),
    "openai-agents": (openai_agents, "openai", MODEL_OPENAI),
    "pydantic-ai-anthropic": (pydantic_ai, "anthropic", MODEL_ANTHROPIC),
    "pydantic-ai-openai": (pydantic_ai_openai, "openai", MODEL_OPENAI),
}


def answer(question):
    """The agent: the framework PROCTOR_FRAMEWORK names, streaming when PROCTOR_STREAM=1."""
    name = os.environ.get("PROCTOR_FRAMEWORK", "langgraph-openai")
    if name not in AGENTS:
        raise SystemExit("PROCTOR_FRAMEWORK must be one of: " + ", ".join(AGENTS))
    return AGENTS[name][0](question, stream=os.environ.get("PROCTOR_STREAM") == "1")


if __name__ == "__main__":
    print(answer(sys.stdin.read()))
