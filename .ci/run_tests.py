"""Builds the workspace's test binaries once, then runs them and the other suites side by side.

    python3 .ci/run_tests.py [--jobs N] [--beside LABEL COMMAND]...

Why not `cargo test` twice: `cargo test -p server` resolves features for one package, so after
`cargo test --workspace` it compiles the server and its dependencies a second time. This script
asks cargo for the binaries of one workspace build and runs each pass from them:

- every test binary of the workspace, the server's on SQLite;
- the server's integration tests again, on PostgreSQL (`PROCTOR_TEST_STORE=postgres`);
- each `--beside` command (a shell command; `{proctor}` in it is the `proctor` binary just
  built), such as the tracer's tests and the API fuzzer.

Suites are independent (each test makes its own server, database and browser), so they run
`--jobs` at a time, the slowest first by the last run's times, and never two heavy ones at once.
Each test binary runs as cargo would run it, from its package's directory, and reports through
libtest's JSON events (`RUSTC_BOOTSTRAP=1` lets a stable test binary print them), which give
every test's time.

A test that fails is run once more, alone. A test that fails and then passes is a flake, and it
fails this step like any failure: retrying is how a flake is told from a bug, never how it is
hidden. The slowest tests are listed with their times at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Wall times of the last run, by suite, so the slowest start first.
TIMES = ROOT / "target" / "ci" / "suite-times.json"
SLOWEST_SHOWN = 15
# Suites that load the machine on their own: the runner's tests start Python agents on real
# frameworks, the browser tests Chromium, the full-disk tests fill databases. Two of them at once
# on a 2-core machine slow each other past their deadlines, so they take turns; lighter suites
# run beside them.
HEAVY = ("server/runner ", "server/full_disk ", "tests/browser ")
OUTPUT_SHOWN = 8000
# On PostgreSQL the server's tests are there to check the store. These two judge agents on real
# frameworks and simulated users; they reach the store only through syncs and reads that every
# other test also makes on PostgreSQL, and they are the two slowest tests (over two minutes of
# CPU together), so they run on SQLite only.
SQLITE_ONLY = {
    "server/runner": [
        "frameworks::agents_on_third_party_frameworks_get_the_verdicts_their_calls_earn",
        "conversations::simulated_users_are_recorded_replayed_and_diverge_marked_in_python_mode",
        "conversations::simulated_users_are_recorded_replayed_and_diverge_marked_in_command_mode",
        # Replay is the runner's and the tracer's; the server's part (recordings kept per run)
        # is tested on both stores by the API tests.
        "replay::a_replayed_run_reaches_no_model_and_a_prompt_edit_goes_live_where_it_changed",
        # The audit's report is read from the store by the support example's audit, on both.
        "audit::generated_suites_of_the_examples_have_no_vacuous_scenario",
    ],
    # Waits 10 s for a hint the store has no part in.
    "server/workers": [
        "a_run_queued_with_no_worker_says_what_to_start_and_waits",
    ],
    # Always on PostgreSQL whatever the pass: once is enough for its three workers' 300 cases.
    "server/servers": [
        "three_workers_on_two_servers_share_one_run_and_survive_a_killed_one",
    ],
}


# The seed CI's property tests draw from (docs/testing.md, "Flakes fail CI").
PROPTEST_RNG_SEED = "20261207"


@dataclass(frozen=True)
class Binary:
    """One test executable cargo built: which package and target it tests, and where it runs."""

    package: str
    target: str
    kind: str
    path: str
    cwd: str


@dataclass
class Outcome:
    """What one suite's run reported: each test's time, the failures and their output."""

    suite: Suite
    seconds: float
    passed: int = 0
    times: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    # Output the test harness did not tie to a test (other threads, a command's whole output).
    output: str = ""
    # Set when a binary died or printed no summary: what it printed last.
    crash: str | None = None


class Suite:
    """Something to run: a test binary in one pass, or a command beside them."""

    label: str

    @property
    def heavy(self) -> bool:
        return self.label.startswith(HEAVY)

    def run(self, only: list[str] | None = None) -> Outcome:
        raise NotImplementedError


@dataclass
class BinaryPass(Suite):
    """A test binary run in one pass, with the environment that pass needs."""

    binary: Binary
    store: str

    def __post_init__(self) -> None:
        self.label = f"{self.binary.package}/{self.binary.target} [{self.store}]"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["RUSTC_BOOTSTRAP"] = "1"
        env["CARGO_MANIFEST_DIR"] = self.binary.cwd
        # Property tests draw the same inputs on every CI run, so one fails CI only when a change
        # breaks it, never on a draw no earlier run made; `cargo test` explores with a new seed.
        env.setdefault("PROPTEST_RNG_SEED", PROPTEST_RNG_SEED)
        if self.store == "postgres":
            env["PROCTOR_TEST_STORE"] = "postgres"
        else:
            env.pop("PROCTOR_TEST_STORE", None)
        return env

    def run(self, only: list[str] | None = None) -> Outcome:
        """Runs the binary (or only the tests named) and reads its JSON events."""
        cmd = [self.binary.path, "-Z", "unstable-options", "--format", "json", "--report-time"]
        if only:
            cmd += ["--exact", *only]
        elif self.store == "postgres":
            skipped = SQLITE_ONLY.get(f"{self.binary.package}/{self.binary.target}", [])
            cmd += ["--exact"] + [arg for name in skipped for arg in ("--skip", name)]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=self.binary.cwd, env=self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, errors="replace")
        outcome = Outcome(self, time.monotonic() - start, output=proc.stderr[-OUTPUT_SHOWN:])
        summary = False
        for line in proc.stdout.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("type") == "suite" and event.get("event") in ("ok", "failed"):
                summary = True
            if event.get("type") != "test":
                continue
            # ("timeout" is libtest's note that a test has run over 60 s, not a failure.)
            if event.get("event") == "ok":
                outcome.passed += 1
                outcome.times[event["name"]] = float(event.get("exec_time", 0.0))
            elif event.get("event") == "failed":
                outcome.failed[event["name"]] = event.get("stdout", "")
        if not summary or (proc.returncode != 0 and not outcome.failed):
            tail = (proc.stdout[-OUTPUT_SHOWN:] + "\n" + proc.stderr[-OUTPUT_SHOWN:]).strip()
            outcome.crash = f"exit {proc.returncode}, no complete test report:\n{tail}"
        return outcome


@dataclass
class Command(Suite):
    """A shell command run beside the test binaries; it passes when it exits 0."""

    label: str
    command: str

    def run(self, only: list[str] | None = None) -> Outcome:
        start = time.monotonic()
        proc = subprocess.run(self.command, shell=True, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace")
        outcome = Outcome(self, time.monotonic() - start, output=proc.stdout[-OUTPUT_SHOWN:])
        if proc.returncode == 0:
            outcome.passed = 1
            outcome.times[self.label] = outcome.seconds
        else:
            outcome.crash = f"exit {proc.returncode}:\n{outcome.output}"
        return outcome


def build() -> tuple[list[Binary], str]:
    """Builds every test binary of the workspace once; returns them and the `proctor` binary."""
    # The `proctor` the tests run carries the dashboard, as the published one does.
    cmd = ["cargo", "test", "--workspace", "--locked", "--no-run", "--features",
           "server/embed-dashboard", "--message-format=json-render-diagnostics"]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"cargo test --no-run failed (exit {proc.returncode}); its errors are above")
    binaries: list[Binary] = []
    proctor = None
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        target = msg["target"]
        cwd = Path(msg["manifest_path"]).parent
        if msg["profile"]["test"]:
            binaries.append(Binary(cwd.name, target["name"], target["kind"][0],
                                   msg["executable"], str(cwd)))
        elif target["name"] == "proctor" and "bin" in target["kind"]:
            proctor = msg["executable"]
    if proctor is None:
        sys.exit("cargo built no `proctor` binary; the server's [[bin]] target is missing")
    return binaries, proctor


def suites(binaries: list[Binary], beside: list[Command]) -> list[Suite]:
    """Every binary on SQLite, the server's integration tests on PostgreSQL, the commands."""
    found: list[Suite] = [BinaryPass(b, "sqlite") for b in binaries]
    found += [BinaryPass(b, "postgres") for b in binaries
              if b.package == "server" and b.kind == "test"]
    return found + list(beside)


def slowest_first(found: list[Suite]) -> list[Suite]:
    """By the last run's times; ones never timed (a first run) first of all."""
    try:
        last = json.loads(TIMES.read_text())
    except (OSError, ValueError):
        last = {}
    return sorted(found, key=lambda s: -last.get(s.label, float("inf")))


def run_all(pending: list[Suite], slots: int) -> list[Outcome]:
    """Runs the suites in order, `slots` at a time, never two heavy ones at once."""
    pending = list(pending)
    running: dict[Future[Outcome], Suite] = {}
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=slots) as pool:
        while pending or running:
            heavy_running = any(s.heavy for s in running.values())
            while len(running) < slots:
                ready = [s for s in pending if not (heavy_running and s.heavy)]
                if not ready:
                    break
                pending.remove(ready[0])
                running[pool.submit(ready[0].run)] = ready[0]
                heavy_running = heavy_running or ready[0].heavy
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                del running[future]
                outcomes.append(future.result())
                report(outcomes[-1])
    return outcomes


def report(outcome: Outcome) -> None:
    status = "FAILED" if outcome.failed or outcome.crash else "ok"
    failed = f", {len(outcome.failed)} failed" if outcome.failed else ""
    print(f"{status:>6}  {outcome.suite.label:<44} {outcome.passed:>4} passed{failed}"
          f"  {outcome.seconds:6.1f} s", flush=True)


def retry(outcome: Outcome) -> tuple[list[str], list[str]]:
    """Runs a binary's failed tests once more: returns (flaky, failing) test names."""
    label = outcome.suite.label
    again = outcome.suite.run(sorted(outcome.failed))
    flaky = sorted(t for t in outcome.failed if t in again.times)
    failing = sorted(t for t in outcome.failed if t not in again.times)
    for name in failing:
        print(f"\n---- {label} {name} (failed twice) ----\n"
              f"{again.failed.get(name) or outcome.failed[name]}", flush=True)
    for name in flaky:
        print(f"\n---- {label} {name} (failed, then passed alone) ----\n"
              f"{outcome.failed[name]}", flush=True)
    if outcome.output.strip():
        print(f"\n---- {label}: the end of its stderr ----\n{outcome.output}", flush=True)
    return flaky, failing


def summarize(outcomes: list[Outcome]) -> int:
    """Prints the slowest tests, then every failure; the step's exit code."""
    slowest = sorted(((t, f"{o.suite.label} {name}") for o in outcomes
                      for name, t in o.times.items() if isinstance(o.suite, BinaryPass)),
                     reverse=True)[:SLOWEST_SHOWN]
    print(f"\nthe {len(slowest)} slowest tests:")
    for seconds, name in slowest:
        print(f"  {seconds:6.1f} s  {name}")

    crashed = [o for o in outcomes if o.crash]
    for outcome in crashed:
        print(f"\n---- {outcome.suite.label} ----\n{outcome.crash}", flush=True)
    flaky: list[str] = []
    failing: list[str] = []
    for outcome in outcomes:
        if outcome.failed and not outcome.crash:
            f, b = retry(outcome)
            flaky += [f"{outcome.suite.label} {t}" for t in f]
            failing += [f"{outcome.suite.label} {t}" for t in b]
    if flaky:
        print("\nflaky (failed, then passed when run again; a flake fails CI like a bug):")
        print("\n".join(f"  {t}" for t in flaky))
    if failing:
        print("\nfailed:")
        print("\n".join(f"  {t}" for t in failing))
    if crashed:
        print("\nsuites that did not pass: " + ", ".join(o.suite.label for o in crashed))
    return 1 if flaky or failing or crashed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("PROCTOR_TEST_JOBS", "2")),
                        help="suites run at once (default 2, or PROCTOR_TEST_JOBS)")
    parser.add_argument("--beside", nargs=2, action="append", default=[],
                        metavar=("LABEL", "COMMAND"),
                        help="a shell command to run beside the tests; {proctor} is the binary")
    args = parser.parse_args()

    started = time.monotonic()
    binaries, proctor = build()
    print(f"built {len(binaries)} test binaries in {time.monotonic() - started:.0f} s", flush=True)

    beside = [Command(label, command.replace("{proctor}", proctor))
              for label, command in args.beside]
    started = time.monotonic()
    outcomes = run_all(slowest_first(suites(binaries, beside)), max(1, args.jobs))
    print(f"ran {len(outcomes)} suites, {args.jobs} at a time, in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text(json.dumps({o.suite.label: o.seconds for o in outcomes}, indent=1))
    return summarize(outcomes)


if __name__ == "__main__":
    sys.exit(main())
