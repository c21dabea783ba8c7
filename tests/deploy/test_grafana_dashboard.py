"""The Grafana dashboard is a well-formed dashboard whose every query names a metric the bot exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "runbook-bot-dashboard.json"

# Metrics the dashboard charts ahead of the code that exports them; each with the reason it is not here yet.
# Empty: every metric it charts is exported (tests/unit/test_metrics.py holds the dashboard to that).
UPCOMING: dict[str, str] = {}
# Series every Prometheus scrape adds by itself.
PROMETHEUS_OWN = {"up"}
# PromQL words that look like metric names: functions, aggregations, modifiers and grouping labels.
PROMQL_WORDS = re.compile(
    r"^(sum|max|min|avg|count|rate|increase|irate|histogram_quantile|by|without|on|ignoring|label_values|"
    r"le|job|instance|source|outcome|service|hook|verdict|action|result|reason|method|type|channel|kind|severity)$"
)


def load() -> dict[str, Any]:
    """The dashboard, parsed."""
    return dict(json.loads(DASHBOARD.read_text()))


def exported() -> set[str]:
    """Every series name the bot's registry can expose (counters' _total, histograms' _bucket/_sum/_count)."""
    return set(metrics.REGISTRY._names_to_collectors)


def queried_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
    without_labels = re.sub(r"\{[^}]*\}", "", without_ranges)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_labels))
    return {w for w in words if not PROMQL_WORDS.match(w)}


def base_name(series: str) -> str:
    """The metric a histogram series belongs to (x_bucket -> x)."""
    return re.sub(r"_(bucket|sum|count)$", "", series)


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows included."""
    return list(dashboard["panels"])


def test_dashboard_has_the_shape_grafana_imports() -> None:
    dashboard = load()
    assert dashboard["uid"] == "runbook-bot"
    assert isinstance(dashboard["title"], str) and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert "id" not in dashboard or dashboard["id"] is None  # an id would clash on import into another Grafana
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_panels_fit_the_grid_without_overlapping() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in panels(load()):
        pos = panel["gridPos"]
        assert all(isinstance(pos[k], int) for k in ("x", "y", "w", "h")), panel["title"]
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {(pos["x"] + dx, pos["y"] + dy) for dx in range(pos["w"]) for dy in range(pos["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_query_panel_reads_the_chosen_datasource() -> None:
    for panel in panels(load()):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
            # Each replica is its own target: queries keep to the chosen job and replicas.
            assert 'instance=~"$instance"' in target["expr"], target["expr"]


def all_queried() -> set[str]:
    """Every metric name any panel queries."""
    names: set[str] = set()
    for panel in panels(load()):
        for target in panel.get("targets", []):
            names |= queried_names(target["expr"])
    return names


def test_every_queried_metric_is_exported_or_upcoming() -> None:
    names = exported()
    missing = {q for q in all_queried() if q not in names and base_name(q) not in UPCOMING and q not in PROMETHEUS_OWN}
    assert missing == set(), f"the dashboard queries metrics the bot does not export: {sorted(missing)}"


def test_the_dashboard_covers_each_area_of_the_bot() -> None:
    queried = {base_name(q) for q in all_queried()}
    for metric in (
        "runbook_alerts_received_total",
        "runbook_incidents_opened_total",
        "runbook_diagnostics_total",
        "runbook_approval_latency_seconds",
        "runbook_bot_page_deliveries_total",
        "runbook_slack_api_calls_total",
        "runbook_slack_rate_limited_total",
        "runbook_timer_lateness_seconds",
        "runbook_timers_fired_total",
        "runbook_bot_dead_letters",
        "runbook_slack_shared_budget_degraded",
        "runbook_slack_shared_budget_fallbacks_total",
    ):
        assert metric in queried, metric


def test_histograms_are_read_through_their_buckets() -> None:
    histograms = {m._name for m in metrics.REGISTRY._names_to_collectors.values() if m._type == "histogram"}
    histograms |= {name for name in UPCOMING if name.endswith("_seconds")}  # the upcoming ones are histograms
    for panel in panels(load()):
        for target in panel.get("targets", []):
            for name in queried_names(target["expr"]):
                if base_name(name) in histograms:
                    assert name.endswith("_bucket") and "histogram_quantile" in target["expr"], target["expr"]


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (le, hook) (rate(runbook_diagnostic_seconds_bucket{job=~"$job"}[5m]))',
            {"runbook_diagnostic_seconds_bucket"},
        ),
        ('max(runbook_bot_dead_letters{instance=~"a|b"})', {"runbook_bot_dead_letters"}),
        ("count(up == 1)", {"up"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert queried_names(expr) == names
