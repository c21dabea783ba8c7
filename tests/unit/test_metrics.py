"""Every runbook_* series the Grafana dashboard queries is one bot/metrics registers, with the right suffix."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "runbook-bot-dashboard.json"
# A metric name in PromQL: runbook_ followed by name characters, not preceded by one (so not a label value's tail).
NAME = re.compile(r"(?<![A-Za-z0-9_:])runbook_[A-Za-z0-9_:]*")
# The series each metric type exposes, by suffix (prometheus_client adds _created too, never worth charting).
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum", ""),
}


def exposed_series() -> set[str]:
    """Every series name the registry can expose: a counter's _total, a histogram's _bucket/_count/_sum, a gauge."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def expressions(node: Any) -> Iterator[str]:
    """Every PromQL string in the dashboard: panel targets (rows included) and template variable queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition", "query") and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def queried(expr: str) -> set[str]:
    """The runbook_* metric names an expression reads (quoted strings, such as label values, left out)."""
    return set(NAME.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)))


def test_every_runbook_metric_the_dashboard_queries_is_registered() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for expr in expressions(dashboard) for name in queried(expr)}
    assert used, "the dashboard queries no runbook_* metric: the parser is broken"
    assert sorted(used - exposed_series()) == []


def test_the_timer_and_shared_budget_metrics_are_charted() -> None:
    used = {name for expr in expressions(json.loads(DASHBOARD.read_text())) for name in queried(expr)}
    for series in (
        "runbook_timers_fired_total",
        "runbook_timer_lateness_seconds_bucket",
        "runbook_slack_shared_budget_degraded",
        "runbook_slack_shared_budget_fallbacks_total",
    ):
        assert series in used, series


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'histogram_quantile(0.99, sum by (le) (rate(runbook_timer_lateness_seconds_bucket{job=~"$job"}[5m])))',
            {"runbook_timer_lateness_seconds_bucket"},
        ),
        ('sum(rate(runbook_timers_fired_total{outcome="runbook_not_a_metric"}[1m]))', {"runbook_timers_fired_total"}),
        ("label_values(runbook_slack_outbox_depth, job)", {"runbook_slack_outbox_depth"}),
        ("count(up == 1)", set()),
    ],
)
def test_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert queried(expr) == names


@pytest.mark.parametrize(
    ("series", "registered"),
    [
        ("runbook_timer_lateness_seconds_bucket", True),
        ("runbook_timer_lateness_seconds_count", True),
        ("runbook_timer_lateness_seconds", False),  # a histogram is read through its series, never bare
        ("runbook_timers_fired_total", True),
        ("runbook_timers_fired", False),
        ("runbook_slack_outbox_depth", True),
        ("runbook_slack_outbox_depth_total", False),
        ("runbook_timers_fired_totally", False),
    ],
)
def test_only_the_series_a_metric_type_exposes_count_as_registered(series: str, registered: bool) -> None:
    assert (series in exposed_series()) is registered
