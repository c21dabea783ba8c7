"""Machine-readable figures of one benchmark, for bench/run.py: each figure beside its baseline from the same run."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Figure:
    """One measured figure and the baseline it is read against (same run, same machine)."""

    label: str
    value: float
    unit: str
    baseline_label: str
    baseline: float
    # "higher" for throughput, "lower" for latency: says which way a ratio is good.
    better: str = "higher"
    note: str = ""

    @property
    def ratio(self) -> float:
        """value / baseline."""
        return self.value / self.baseline if self.baseline else float("nan")


@dataclass
class Report:
    """Everything one benchmark script measured in one run."""

    bench: str
    summary: str
    figures: list[Figure] = field(default_factory=list)
    # Parameters and conditions worth printing beside the figures (counts, concurrency, which Redis).
    conditions: dict[str, object] = field(default_factory=dict)
    # What a reader must know to read the figures right (what bounds the baseline, for one).
    note: str = ""
    # Why nothing was measured (e.g. a load tool that is not installed); bench/run.py prints it instead.
    skipped: str = ""

    def add(self, *args: object, **kwargs: object) -> None:
        """Add a figure (the Figure fields, positional or by name)."""
        self.figures.append(Figure(*args, **kwargs))  # type: ignore[arg-type]


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """--json PATH: also write the figures there as JSON."""
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file as JSON")


def write(report: Report, path: Path | None) -> None:
    """Write the report as JSON when a path was given, with the command line that produced it."""
    if path is None:
        return
    data = asdict(report)
    data["command"] = " ".join([Path(sys.executable).name, *sys.argv])
    for figure, raw in zip(report.figures, data["figures"], strict=True):
        raw["ratio"] = figure.ratio
    path.write_text(json.dumps(data, indent=2) + "\n")
