"""Run every benchmark in bench/ and write BENCHMARKS.md: each figure beside its same-run baseline, with the machine.

    .venv/bin/python bench/run.py [--only store timers] [--out BENCHMARKS.md] [--note "conditions of this run"]

Each bench/<name>.py (not run.py, not _*.py) is run as `python bench/<name>.py --json FILE` and writes its figures
there (see bench/_figures.py). A script that fails or writes nothing is reported as such; the others still run.
Uses REDIS_URL when set, like the benchmarks themselves; otherwise each starts its own embedded Valkey.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


@dataclass
class Outcome:
    """One benchmark script's run: its figures, or why there are none."""

    name: str
    command: str
    seconds: float
    data: dict[str, Any] | None = None
    problem: str = ""
    output: list[str] = field(default_factory=list)


def scripts(only: list[str]) -> list[Path]:
    """The benchmark scripts, in name order."""
    found = sorted(p for p in BENCH.glob("*.py") if p.name != "run.py" and not p.name.startswith("_"))
    if only:
        unknown = set(only) - {p.stem for p in found}
        if unknown:
            raise SystemExit(f"no such benchmark: {', '.join(sorted(unknown))} (have: {[p.stem for p in found]})")
        found = [p for p in found if p.stem in only]
    return found


def run_one(script: Path, timeout_s: float) -> Outcome:
    """Run one script with --json and collect what it wrote."""
    with tempfile.TemporaryDirectory(prefix="rb-bench-run-") as tmp:
        out = Path(tmp) / "figures.json"
        argv = [sys.executable, str(script.relative_to(ROOT)), "--json", str(out)]
        shown = " ".join([".venv/bin/python", str(script.relative_to(ROOT))])
        began = time.perf_counter()
        try:
            proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return Outcome(script.stem, shown, time.perf_counter() - began, problem=f"timed out after {timeout_s:g} s")
        seconds = time.perf_counter() - began
        lines = proc.stdout.splitlines()
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            return Outcome(script.stem, shown, seconds, problem=f"exit {proc.returncode}: {tail}", output=lines)
        if not out.exists():
            return Outcome(script.stem, shown, seconds, problem="wrote no --json figures", output=lines)
        return Outcome(script.stem, shown, seconds, data=json.loads(out.read_text()), output=lines)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    """Total memory from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def server_version() -> str:
    """Name and version of the Redis the benchmarks talk to: REDIS_URL's, or an embedded Valkey's."""
    import redis as sync_redis

    from bot.connections import EmbeddedValkey

    url = os.environ.get("REDIS_URL")
    if url:
        info = sync_redis.Redis.from_url(url, socket_timeout=5).info("server")
        where = "REDIS_URL"
    else:
        with tempfile.TemporaryDirectory(prefix="rb-bench-version-") as tmp:
            server = EmbeddedValkey(Path(tmp))
            try:
                info = sync_redis.Redis.from_url(server.start(), socket_timeout=5).info("server")
            finally:
                server.stop()
        where = "embedded Valkey, one per benchmark"
    if "valkey_version" in info:
        return f"Valkey {info['valkey_version']} ({where})"
    return f"Redis {info.get('redis_version', '?')} ({where})"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    load = os.getloadavg()
    return {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": memory_gib(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Redis": server_version(),
        "wrk": shutil.which("wrk") or "not installed (apt-get install wrk)",
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in load),
    }


def number(value: float) -> str:
    """A figure with as many digits as it deserves."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def section(outcome: Outcome) -> list[str]:
    """The Markdown of one benchmark."""
    lines = [f"## {outcome.name}", ""]
    if outcome.data is None:
        lines += [f"**Not measured:** {outcome.problem}.", "", f"Command: `{outcome.command}`", ""]
        return lines
    data = outcome.data
    summary = data["summary"]
    lines += [summary[:1].upper() + summary[1:] + ".", ""]
    if data.get("note"):
        lines += [f"Note: {data['note']}", ""]
    if data.get("skipped"):
        return [*lines, f"**Skipped:** {data['skipped']}.", ""]
    lines += [
        "| figure | value | baseline (same run) | baseline value | ratio | better |",
        "|---|---:|---|---:|---:|---|",
    ]
    for f in data["figures"]:
        unit = f" {f['unit']}"
        ratio = f["ratio"] if f["baseline"] else float("nan")
        lines.append(
            f"| {f['label']} | {number(f['value'])}{unit} | {f['baseline_label']} | {number(f['baseline'])}{unit} "
            f"| {number(ratio) if math.isnan(ratio) else f'{ratio:.2f}x'} | {f['better']} |"
        )
    conditions = ", ".join(f"{k} {v}" for k, v in data.get("conditions", {}).items())
    lines += ["", f"Conditions: {conditions}. Took {outcome.seconds:.0f} s.", ""]
    lines += [f"Command: `{outcome.command}` (defaults; `make bench` adds `--json FILE`)", ""]
    return lines


def markdown(outcomes: list[Outcome], facts: dict[str, str], note: str, started: datetime) -> str:
    """BENCHMARKS.md."""
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (bench/run.py) on {started:%Y-%m-%d %H:%M} UTC. Every ratio is a figure over "
        "its baseline measured in the same run on the same machine, so ratios compare across machines better "
        "than absolute figures do. `better` says which way a ratio is good (higher for throughput, lower for "
        "latency).",
        "",
    ]
    if note:
        lines += [f"**Conditions of this run:** {note}", ""]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in facts.items()]
    lines += [
        "",
        "Reproduce: `make bench` (all), or `.venv/bin/python bench/run.py --only store timers`; one script alone "
        "prints its own table: `.venv/bin/python bench/<name>.py --help`. Set REDIS_URL to measure against a "
        "Redis server instead of the embedded Valkey. Benchmarks that drive load with wrk need it installed: "
        "`apt-get install wrk` (Debian's package); CI does not run benchmarks.",
        "",
    ]
    for outcome in outcomes:
        lines += section(outcome)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    """Run the benchmarks one after another and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", nargs="*", default=[], help="benchmark names (file stems) to run; default all")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--note", default="", help="the conditions of this run, written in the header")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one benchmark may take")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    started = datetime.now(UTC)
    facts = machine()
    outcomes = []
    for script in scripts(args.only):
        print(f"== {script.stem}", flush=True)
        outcome = run_one(script, args.timeout)
        print("\n".join(outcome.output) or outcome.problem, flush=True)
        if outcome.problem:
            print(f"   {outcome.name}: {outcome.problem}", flush=True)
        outcomes.append(outcome)
    facts["load average at end (1/5/15 min)"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.write_text(markdown(outcomes, facts, args.note, started))
    print(f"wrote {args.out}")
    if any(o.data is None for o in outcomes):
        raise SystemExit("some benchmarks produced no figures: see " + str(args.out))


if __name__ == "__main__":
    main()
