"""Agents built on third-party frameworks the way their documentation shows, with no tracing code:
LangGraph with langchain-openai and langchain-anthropic, the OpenAI Agents SDK, and pydantic-ai.
Each answers one question with one tool, `get_weather`, and returns its final answer as text.

The tests run them inside `proctor_trace.case(...)`; the Proctor runner's end-to-end test runs
the same functions through `proctor run` (python mode) and `examples/frameworks/agent.py`
(command mode)."""

import asyncio
import os

MODEL_OPENAI = "gpt-4o-mini"
MODEL_ANTHROPIC = "claude-haiku-4-5"
QUESTION = "What is the weather in Paris?"


def get_weather(city: str) -> dict:
    """Get the weather for a city."""
    return {"city": city, "forecast": "sunny", "celsius": 21}


def _text(content):
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


# --- LangGraph ---------------------------------------------------------------------------------

def _langgraph(model, question):
    from langchain_core.tools import tool
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(model, [tool(get_weather)])
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
    from agents import Agent, function_tool, set_default_openai_client, set_tracing_disabled
    from openai import AsyncOpenAI

    set_tracing_disabled(True)  # its own exporter would post to OpenAI
    # A client per run: a cached one stays bound to the event loop of the run before.
    set_default_openai_client(AsyncOpenAI(max_retries=0), use_for_tracing=False)
    return Agent(name="weather", instructions="Answer with the weather.", model=MODEL_OPENAI, tools=[function_tool(get_weather)])


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

    model = {"anthropic": "anthropic:" + MODEL_ANTHROPIC, "openai": "openai:" + MODEL_OPENAI}[provider]
    agent = Agent(model, instructions="Answer with the weather.")
    agent.tool_plain(get_weather)
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


def main(question):
    """`proctor run` python mode: `frameworks:main`, with the framework in PROCTOR_FRAMEWORK."""
    name = os.environ.get("PROCTOR_FRAMEWORK", "langgraph-openai")
    stream = os.environ.get("PROCTOR_STREAM") == "1"
    return AGENTS[name][0](question, stream=stream)
