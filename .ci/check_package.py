"""The wheel as a newcomer meets it: installed into a fresh venv with nothing of the repository
on PATH or PYTHONPATH, `proctor demo --no-serve` passes from an empty folder, and `proctor serve`
from another answers `/` with the dashboard's HTML and its `.wasm`.

    python3 .ci/check_package.py target/wheels/proctor-*.whl
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path


def run(cmd: list[str], **kw: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, resp.headers.get("content-type", ""), resp.read()


def serve_answers_the_dashboard(env: dict[str, str], folder: Path) -> None:
    server = subprocess.Popen(
        ["proctor", "serve", "--addr", "127.0.0.1:0", "--database-url", "sqlite://proctor.db"],
        cwd=folder, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline().strip()
        prefix = "proctor listening on "
        if not first.startswith(prefix):
            sys.exit(f"proctor serve did not say where it listens: {first!r}")
        base = first[len(prefix):]
        status, kind, body = fetch(base + "/")
        html = body.decode()
        if status != 200 or "text/html" not in kind:
            sys.exit(f"GET / answered {status} {kind}")
        wasm = re.search(r'["\'](/?[^"\']+\.wasm)["\']', html)
        if not wasm:
            sys.exit(f"the dashboard's HTML names no .wasm:\n{html[:2000]}")
        status, kind, body = fetch(base + "/" + wasm.group(1).lstrip("/"))
        if status != 200 or kind != "application/wasm" or not body.startswith(b"\0asm"):
            sys.exit(f"GET {wasm.group(1)} answered {status} {kind} ({len(body)} bytes)")
        print(f"proctor serve from an empty folder: / and {wasm.group(1)} ({len(body)} bytes) answer 200")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(wheel: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        venv = root / "venv"
        run([sys.executable, "-m", "venv", str(venv)])
        # The demo's agents are written with the openai SDK: the `demo` extra brings it.
        run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", f"{Path(wheel).resolve()}[demo]"])
        env = {
            "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(root / "home"),
            "LANG": "C.UTF-8",
        }
        empty = root / "empty"
        empty.mkdir()
        run(["proctor", "demo", "--no-serve", "--no-progress", "--addr", "127.0.0.1:0"],
            cwd=empty, env=env)
        other = root / "other"
        other.mkdir()
        serve_answers_the_dashboard(env, other)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
