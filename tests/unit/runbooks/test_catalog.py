"""The catalog loads a folder, reports problems, matches the most specific runbook and reloads."""

from __future__ import annotations

from pathlib import Path

from bot.alerts import Alert, Severity
from bot.runbooks.catalog import Catalog, load_catalog

from .conftest import FIXTURES, RUNBOOKS

TEMPLATE = """id: {id}
name: {id}
owner: "@t"
service: "{service}"
{extra}triggers:
{triggers}
"""


def write(folder: Path, rid: str, triggers: str, service: str = "*", extra: str = "") -> None:
    (folder / f"{rid}.yaml").write_text(TEMPLATE.format(id=rid, service=service, triggers=triggers, extra=extra))


def alert(name: str = "HighLatency", service: str = "pay", env: str = "prod", **labels: str) -> Alert:
    return Alert(
        source="t", name=name, group_key="g", fingerprint="f", title=name, service=service, environment=env,
        labels=labels,
    )  # fmt: skip


def test_loads_the_shipped_library_without_problems() -> None:
    catalog = load_catalog(RUNBOOKS)
    assert catalog.problems == []
    assert "payment-service-slow" in catalog.runbooks and len(catalog.runbooks) >= 9


def test_broken_files_are_reported_and_left_out() -> None:
    catalog = load_catalog(FIXTURES / "broken")
    with_errors = {p.file for p in catalog.problems if p.level == "error" and "already loaded" not in p.message}
    assert len(with_errors) >= 15
    assert set(catalog.files.values()).isdisjoint(with_errors)


def test_most_specific_trigger_wins(tmp_path: Path) -> None:
    write(tmp_path, "by-name", "  - alert: HighLatency")
    write(tmp_path, "by-name-and-label", "  - alert: HighLatency\n    labels: {team: pay}")
    write(
        tmp_path, "with-filter", "  - alert: HighLatency\n    labels: {team: pay}\n    filter: alert.severity == 'P1'"
    )
    catalog = load_catalog(tmp_path)
    assert catalog.problems == [] or all(p.level == "warning" for p in catalog.problems)
    assert catalog.match(alert()).id == "by-name"  # type: ignore[union-attr]
    assert catalog.match(alert(team="pay")).id == "by-name-and-label"  # type: ignore[union-attr]
    p1 = alert(team="pay").model_copy(update={"severity": Severity.P1})
    assert catalog.match(p1).id == "with-filter"  # type: ignore[union-attr]
    assert catalog.match(alert(name="Other")) is None


def test_exact_service_beats_wildcard_and_environment_restricts(tmp_path: Path) -> None:
    write(tmp_path, "generic", "  - alert: HighLatency")
    write(tmp_path, "for-pay", "  - alert: HighLatency", service="pay", extra="environments: [prod]\n")
    catalog = load_catalog(tmp_path)
    assert catalog.match(alert()).id == "for-pay"  # type: ignore[union-attr]
    assert catalog.match(alert(env="staging")).id == "generic"  # type: ignore[union-attr]
    assert catalog.match(alert(service="cart")).id == "generic"  # type: ignore[union-attr]


def test_filter_error_fails_closed_and_is_recorded(tmp_path: Path) -> None:
    write(tmp_path, "needs-label", "  - alert: HighLatency\n    filter: alert.labels.tier == 'gold'")
    catalog = load_catalog(tmp_path)
    assert catalog.match(alert()) is None
    assert catalog.match_errors and catalog.match_errors[0][0] == "needs-label"
    assert catalog.match(alert(tier="gold")).id == "needs-label"  # type: ignore[union-attr]


def test_manual_only_runbook_never_matches_alerts(tmp_path: Path) -> None:
    write(tmp_path, "manual", "  - manual: true")
    assert load_catalog(tmp_path).match(alert()) is None


def test_reload_picks_up_changes_and_keeps_last_good_version(tmp_path: Path) -> None:
    write(tmp_path, "one", "  - alert: A")
    catalog = Catalog(tmp_path)
    assert catalog.reload() == []
    write(tmp_path, "two", "  - alert: B")
    (tmp_path / "one.yaml").write_text("id: one\nname: [broken\n")
    problems = catalog.reload()
    assert problems and problems[0].file.endswith("one.yaml")
    assert set(catalog.runbooks) == {"one", "two"}  # "one" kept from the last good load


def test_match_symptom_uses_service_and_words() -> None:
    catalog = load_catalog(RUNBOOKS)
    found = catalog.match_symptom("payment-service", "payments are slow, latency high")
    assert found[0].id == "payment-service-slow"
    assert catalog.match_symptom("orders", "too many connections to the database")[0].id == "db-connection-exhaustion"
    assert catalog.match_symptom("web", "certificate expiring")[0].id == "tls-cert-expiry"
