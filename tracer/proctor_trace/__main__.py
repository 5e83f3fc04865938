"""`python -m proctor_trace -- <command...>`: runs the command with tracing bootstrapped into every
Python process it starts, without any change to the command or the agent's code."""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.stderr.write("usage: python -m proctor_trace -- <command> [args...]\n")
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    bootstrap = os.path.join(here, "_bootstrap")
    package_root = os.path.dirname(here)
    parts = [bootstrap, package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.stderr.write(f"proctor_trace: cannot run {argv[0]!r}: {exc}\n")
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
