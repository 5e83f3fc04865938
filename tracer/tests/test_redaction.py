"""The shared PII vectors: the Python redactor must agree with the Rust one on every case."""

import json
import pathlib

import pytest

from proctor_trace._redact import is_card_number, is_sensitive_key, redact, redact_name

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[2] / "tests" / "pii_vectors.json").read_text())


def test_there_are_enough_vectors():
    assert len(VECTORS) >= 30


def _redact_as(vector, value):
    """A vector's input is a value unless it says it is a name (`"as": "name"`)."""
    if vector.get("as") == "name":
        return redact_name(value)
    return redact(value)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_shared_vector(vector):
    out, counts = _redact_as(vector, vector["input"])
    assert out == vector["expected"]
    assert counts == vector.get("counts", {})


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_redacting_twice_equals_once(vector):
    once, _ = _redact_as(vector, vector["input"])
    twice, counts = _redact_as(vector, once)
    assert twice == once
    assert counts == {}


def test_card_checks_need_luhn_and_a_network():
    assert is_card_number("4111111111111111")
    assert not is_card_number("4111111111111112")
    assert not is_card_number("1234567812345670")


def test_token_counts_are_not_secrets():
    assert is_sensitive_key("accessToken") and is_sensitive_key("X-Api-Key")
    assert not is_sensitive_key("max_tokens") and not is_sensitive_key("author")
