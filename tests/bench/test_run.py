"""bench/run.py assembles BENCHMARKS.md from each benchmark's --json figures."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_runner() -> ModuleType:
    """bench/run.py as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


run = load_runner()


def figures(label: str, value: float, baseline: float, better: str = "higher") -> dict[str, object]:
    """One benchmark's --json output with a single figure."""
    return {
        "bench": "fake",
        "summary": "a fake benchmark",
        "figures": [
            {
                "label": label,
                "value": value,
                "unit": "ops/s",
                "baseline_label": "raw loop",
                "baseline": baseline,
                "better": better,
                "note": "",
                "ratio": value / baseline if baseline else float("nan"),
            }
        ],
        "conditions": {"n": 10},
        "skipped": "",
    }


def test_the_runner_finds_every_benchmark_but_not_itself_or_helpers() -> None:
    names = [p.stem for p in run.scripts([])]
    assert {"store", "timers", "intake", "diagnostics", "slowclients"} <= set(names)
    assert "run" not in names and not any(n.startswith("_") for n in names)
    assert [p.stem for p in run.scripts(["store"])] == ["store"]
    with pytest.raises(SystemExit, match="no such benchmark: nope"):
        run.scripts(["nope"])


def test_the_report_puts_each_figure_beside_its_baseline_and_ratio() -> None:
    good = run.Outcome("store", ".venv/bin/python bench/store.py", 4.0, data=figures("dedup", 250.0, 1000.0))
    failed = run.Outcome("broken", ".venv/bin/python bench/broken.py", 1.0, problem="exit 1: boom")
    facts = {"cores": "2", "Redis": "Valkey 9.1.2"}
    text = run.markdown([good, failed], facts, "machine shared", datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert "**Conditions of this run:** machine shared" in text
    assert "| cores | 2 |" in text and "| Redis | Valkey 9.1.2 |" in text
    assert "| dedup | 250 ops/s | raw loop | 1,000 ops/s | 0.25x | higher |" in text
    assert "## broken" in text and "**Not measured:** exit 1: boom." in text
    assert "Command: `.venv/bin/python bench/store.py`" in text


def test_a_zero_baseline_shows_no_ratio() -> None:
    outcome = run.Outcome("slow", "cmd", 1.0, data=figures("held", 0.0, 0.0, "lower"))
    assert "| held | 0.00 ops/s | raw loop | 0.00 ops/s | — | lower |" in "\n".join(run.section(outcome))


def test_a_benchmark_writes_its_figures_as_json(tmp_path: Path) -> None:
    out = tmp_path / "store.json"
    argv = [sys.executable, "bench/store.py", "--n", "200", "--concurrency", "10", "--json", str(out)]
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, timeout=60)
    data = json.loads(out.read_text())
    assert data["bench"] == "store"
    assert {f["label"] for f in data["figures"]} == {"open_or_update, de-duplicated", "open_or_update, new incident"}
    for figure in data["figures"]:
        assert figure["value"] > 0 and figure["baseline"] > 0
        assert figure["ratio"] == pytest.approx(figure["value"] / figure["baseline"])
    assert data["conditions"]["n"] == 200
