"""The declare form's checks, the runbook a symptom points to and the alert a declaration stands for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.alerts import Severity
from bot.incidents.declare import (
    MANUAL_ALERT,
    check_declaration,
    declared_alert,
    service_choices,
    symptom_alert_name,
)
from bot.runbooks.catalog import load_catalog

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "fixtures" / "declare_runbooks")
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
GOOD = {"title": "Checkout errors", "severity": "p2", "service": "checkout", "environment": "prod"}


def test_a_good_form_becomes_a_declaration() -> None:
    declaration, errors = check_declaration({**GOOD, "commander": "U0ALICE001", "visibility": "private"})
    assert errors == {} and declaration is not None
    assert (declaration.severity, declaration.commander, declaration.private) == (Severity.P2, "U0ALICE001", True)
    assert check_declaration(GOOD)[0].private is None  # type: ignore[union-attr]


def test_every_bad_field_is_named() -> None:
    form = {
        "title": " ",
        "severity": "P9",
        "service": "check out",
        "environment": "$(id)",
        "description": "x" * 3001,
        "commander": "<!channel>",
        "visibility": "secret",
    }
    declaration, errors = check_declaration(form)
    assert declaration is None
    assert set(errors) == set(form)
    assert check_declaration({**GOOD, "title": "t" * 151})[1].keys() == {"title"}


def test_symptom_points_to_a_manual_runbook_of_the_service() -> None:
    assert symptom_alert_name(CATALOG, "checkout", "checkout throws errors") == "CheckoutErrorsHigh"
    assert symptom_alert_name(CATALOG, "payments", "checkout errors") is None  # another service
    assert symptom_alert_name(CATALOG, "checkout", "the moon is blue") is None  # no shared word
    assert symptom_alert_name(CATALOG, "checkout", "") is None


def test_the_declared_alert_is_matched_like_any_alert() -> None:
    declaration, _ = check_declaration(GOOD)
    assert declaration is not None
    alert = declared_alert(declaration, "CheckoutErrorsHigh", NOW)
    matched = CATALOG.match(alert)
    assert matched is not None and matched.id == "checkout-errors"
    other = declared_alert(declaration, None, NOW)
    assert other.name == MANUAL_ALERT and CATALOG.match(other) is None
    assert alert.group_key != other.group_key and alert.source == "slack"


def test_service_choices_join_runbooks_and_the_escalation_map() -> None:
    assert service_choices(CATALOG, {"payments": "p", "bad name": "p"}) == ["checkout", "payments"]
    assert service_choices(None, None) == []
