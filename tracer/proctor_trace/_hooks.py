"""`install()`: patch every supported SDK that is importable now, and any imported later.

An import hook on `sys.meta_path` waits for the SDK's top-level package to finish executing,
then patches it; the agent's code never has to import anything in a particular order.
"""

import importlib
import sys
import threading

from ._patch import fault

# top-level module -> the provider module that patches it
_PROVIDERS = {
    "openai": "proctor_trace.providers.openai",
    "anthropic": "proctor_trace.providers.anthropic",
    "google.genai": "proctor_trace.providers.gemini",
    "langchain_core": "proctor_trace.langchain",
}
_done = set()
_lock = threading.RLock()
_finder = None


def _patch_now(name):
    with _lock:
        if name in _done:
            return
        _done.add(name)
    try:
        importlib.import_module(_PROVIDERS[name]).install(sys.modules[name])
    except Exception as exc:
        fault("patching " + name, exc)


class _PatchAfterExec:
    """Wraps a loader so its module is patched right after it executes."""

    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def __getattr__(self, attr):
        return getattr(self._loader, attr)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch_now(self._name)


class _Finder:
    def find_spec(self, name, path=None, target=None):
        if name not in _PROVIDERS or name in _done:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchAfterExec(spec.loader, name)
                return spec
        return None


def install():
    """Patches the OpenAI, Anthropic and Google Gemini SDKs and LangChain. Safe to call twice."""
    global _finder
    with _lock:
        if _finder is None:
            _finder = _Finder()
            sys.meta_path.insert(0, _finder)
    for name in _PROVIDERS:
        if name in sys.modules:
            _patch_now(name)
