import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import proctor_trace
from proctor_trace.testing.fake_llm import FakeLLM

proctor_trace.install()


@pytest.fixture(scope="session")
def fake_llm():
    with FakeLLM() as llm:
        saved = {k: os.environ.get(k) for k in llm.env()}
        os.environ.update(llm.env())
        yield llm
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
