"""`install()`: tap every supported HTTP client that is importable now, and any imported later.

An import hook on `sys.meta_path` waits for the package to finish executing, then taps it; the
agent's code never has to import anything in a particular order.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from typing import Any, Callable, cast

from ._fault import fault

# top-level module -> the module that taps it
_PROVIDERS = {
    "httpx": "proctor_trace._http",
    "httpx2": "proctor_trace._http",
    "aiohttp": "proctor_trace._aiohttp",
    "langchain_core": "proctor_trace._langchain",
}
_done: set[str] = set()
_lock = threading.RLock()
_finder: _Finder | None = None
# Every attribute a tap replaced, with what was there before, for `uninstall()`.
_patched: list[tuple[type, str, Any]] = []


def patch(cls: type, name: str, make_wrapper: Callable[[Any], Any]) -> None:
    """Replaces `cls.name` with `make_wrapper(original)` unless it is missing or already ours."""
    original = cls.__dict__.get(name)
    if original is None or getattr(original, "__proctor_wrapped__", False):
        return
    wrapper = make_wrapper(original)
    wrapper.__proctor_wrapped__ = True
    with _lock:
        setattr(cls, name, wrapper)
        _patched.append((cls, name, original))


def _patch_now(name: str) -> None:
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

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._loader, attr)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _patch_now(self._name)


class _Finder:
    def find_spec(
        self, name: str, path: Any = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in _PROVIDERS or name in _done:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = cast("importlib.abc.Loader", _PatchAfterExec(spec.loader, name))
                return spec
        return None


def install() -> None:
    """Taps the HTTP clients LLM SDKs send through (httpx, httpx2, aiohttp) and LangChain's
    callbacks. Safe to call twice."""
    global _finder
    with _lock:
        if _finder is None:
            _finder = _Finder()
            sys.meta_path.insert(0, _finder)
    for name in _PROVIDERS:
        if name in sys.modules:
            _patch_now(name)


def uninstall() -> None:
    """Undoes `install()`: every tapped method gets its original back, and modules imported from
    now on are left alone. Calls already in flight finish as they started. Safe to call twice."""
    global _finder
    with _lock:
        if _finder is not None and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        _finder = None
        while _patched:
            cls, name, original = _patched.pop()
            setattr(cls, name, original)
        _done.clear()
