"""Minimal tool-calling agents, one per SDK and mode, written the way their authors would: plain
SDK calls, no tracing code. The tests run them inside `proctor_trace.case(...)`."""

import json

MODEL_OPENAI = "gpt-4o-mini"
MODEL_ANTHROPIC = "claude-haiku-4-5"
MODEL_GEMINI = "gemini-2.5-flash"
QUESTION = "What is the weather in Paris?"
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def get_weather(city):
    return {"city": city, "forecast": "sunny", "celsius": 21}


# --- OpenAI Chat Completions --------------------------------------------------------------------

OPENAI_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city", "parameters": WEATHER_SCHEMA}},
                {"type": "function", "function": {"name": "send_email", "description": "Send an email", "parameters": {"type": "object", "properties": {}}}}]


def _chat_step(messages, tool_calls):
    messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
    for tc in tool_calls:
        args = json.loads(tc["function"]["arguments"])
        messages.append({"role": "tool", "tool_call_id": tc["id"], "content": json.dumps(get_weather(**args))})


def _collect_stream(chunks):
    calls, text = {}, ""
    for chunk in chunks:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for tc in choice.delta.tool_calls or ():
                slot = calls.setdefault(tc.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                slot["id"] = tc.id or slot["id"]
                slot["function"]["name"] += (tc.function.name or "") if tc.function else ""
                slot["function"]["arguments"] += (tc.function.arguments or "") if tc.function else ""
    return [calls[i] for i in sorted(calls)], text


def openai_chat_sync(client, stream):
    messages = [{"role": "user", "content": QUESTION}]
    while True:
        if stream:
            calls, text = _collect_stream(client.chat.completions.create(model=MODEL_OPENAI, messages=messages, tools=OPENAI_TOOLS, stream=True))
        else:
            msg = client.chat.completions.create(model=MODEL_OPENAI, messages=messages, tools=OPENAI_TOOLS).choices[0].message
            calls = [tc.model_dump() for tc in msg.tool_calls or ()]
            text = msg.content
        if not calls:
            return text
        _chat_step(messages, calls)


async def openai_chat_async(client, stream):
    messages = [{"role": "user", "content": QUESTION}]
    while True:
        if stream:
            chunks = [c async for c in await client.chat.completions.create(model=MODEL_OPENAI, messages=messages, tools=OPENAI_TOOLS, stream=True)]
            calls, text = _collect_stream(chunks)
        else:
            msg = (await client.chat.completions.create(model=MODEL_OPENAI, messages=messages, tools=OPENAI_TOOLS)).choices[0].message
            calls = [tc.model_dump() for tc in msg.tool_calls or ()]
            text = msg.content
        if not calls:
            return text
        _chat_step(messages, calls)


# --- OpenAI Responses ------------------------------------------------------------------------

RESPONSES_TOOLS = [{"type": "function", "name": "get_weather", "description": "Get the weather for a city", "parameters": WEATHER_SCHEMA}]


def _responses_step(items, output):
    calls = [o for o in output if o.type == "function_call"]
    for c in calls:
        items.append({"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments})
        items.append({"type": "function_call_output", "call_id": c.call_id, "output": json.dumps(get_weather(**json.loads(c.arguments)))})
    return bool(calls)


def openai_responses_sync(client, stream):
    items = [{"role": "user", "content": QUESTION}]
    while True:
        if stream:
            # The whole stream is read, as the SDK's own examples do.
            output = [e.response for e in client.responses.create(model=MODEL_OPENAI, input=items, tools=RESPONSES_TOOLS, stream=True) if e.type == "response.completed"][0].output  # noqa: RUF015
        else:
            output = client.responses.create(model=MODEL_OPENAI, input=items, tools=RESPONSES_TOOLS).output
        if not _responses_step(items, output):
            return output[0].content[0].text


async def openai_responses_async(client, stream):
    items = [{"role": "user", "content": QUESTION}]
    while True:
        if stream:
            events = [e async for e in await client.responses.create(model=MODEL_OPENAI, input=items, tools=RESPONSES_TOOLS, stream=True)]
            output = [e.response for e in events if e.type == "response.completed"][0].output  # noqa: RUF015
        else:
            output = (await client.responses.create(model=MODEL_OPENAI, input=items, tools=RESPONSES_TOOLS)).output
        if not _responses_step(items, output):
            return output[0].content[0].text


# --- Anthropic -----------------------------------------------------------------------------------

ANTHROPIC_TOOLS = [{"name": "get_weather", "description": "Get the weather for a city", "input_schema": WEATHER_SCHEMA}]


def _anthropic_step(messages, content):
    uses = [b for b in content if b.type == "tool_use"]
    if not uses:
        return False
    messages.append({"role": "assistant", "content": [b.model_dump() for b in content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": json.dumps(get_weather(**u.input))} for u in uses]})
    return True


def anthropic_sync(client, stream):
    messages = [{"role": "user", "content": QUESTION}]
    while True:
        if stream:
            with client.messages.stream(model=MODEL_ANTHROPIC, max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS) as s:
                for _ in s:
                    pass
                message = s.get_final_message()
        else:
            message = client.messages.create(model=MODEL_ANTHROPIC, max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS)
        if not _anthropic_step(messages, message.content):
            return message.content[0].text


async def anthropic_async(client, stream):
    messages = [{"role": "user", "content": QUESTION}]
    while True:
        if stream:
            async with client.messages.stream(model=MODEL_ANTHROPIC, max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS) as s:
                async for _ in s:
                    pass
                message = await s.get_final_message()
        else:
            message = await client.messages.create(model=MODEL_ANTHROPIC, max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS)
        if not _anthropic_step(messages, message.content):
            return message.content[0].text


# --- Google Gemini -------------------------------------------------------------------------------

def _gemini_config():
    from google.genai import types

    decl = types.FunctionDeclaration(name="get_weather", description="Get the weather for a city", parameters_json_schema=WEATHER_SCHEMA)
    return types.GenerateContentConfig(tools=[types.Tool(function_declarations=[decl])])


def _gemini_step(contents, parts):
    from google.genai import types

    calls = [p.function_call for p in parts if p.function_call]
    if not calls:
        return False
    contents.append(types.Content(role="model", parts=list(parts)))
    contents.append(types.Content(role="user", parts=[types.Part.from_function_response(name=c.name, response=get_weather(**c.args)) for c in calls]))
    return True


def gemini_sync(client, stream):
    from google.genai import types

    contents = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]
    while True:
        if stream:
            parts = [p for chunk in client.models.generate_content_stream(model=MODEL_GEMINI, contents=contents, config=_gemini_config()) for p in chunk.candidates[0].content.parts]
        else:
            parts = client.models.generate_content(model=MODEL_GEMINI, contents=contents, config=_gemini_config()).candidates[0].content.parts
        if not _gemini_step(contents, parts):
            return "".join(p.text or "" for p in parts)


async def gemini_async(client, stream):
    from google.genai import types

    contents = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]
    while True:
        if stream:
            parts = [p async for chunk in await client.aio.models.generate_content_stream(model=MODEL_GEMINI, contents=contents, config=_gemini_config()) for p in chunk.candidates[0].content.parts]
        else:
            parts = (await client.aio.models.generate_content(model=MODEL_GEMINI, contents=contents, config=_gemini_config())).candidates[0].content.parts
        if not _gemini_step(contents, parts):
            return "".join(p.text or "" for p in parts)
