"""Test doubles for agents traced by Proctor; nothing here is loaded by the tracer itself.

`python -m proctor_trace.testing.fake_llm --port 8089` serves a fake of the OpenAI, Anthropic
and Gemini APIs on localhost, so an agent (and Proctor's own demo and tests) runs offline.
"""
