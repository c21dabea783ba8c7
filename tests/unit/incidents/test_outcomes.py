"""Outcomes of `open_or_update`: a duplicate's incident is parsed on first use; recent records are shared read-only."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.alerts import Alert
from bot.incidents.claims import CLAIM_PREFIX, claim_token
from bot.incidents.lifecycle import new_incident
from bot.incidents.outcomes import AlertOutcome, RecentRecords
from bot.incidents.store import _dump

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def record(number: int = 7) -> str:
    alert = Alert(source="alertmanager", name="HighLatency", group_key="g", fingerprint="f", title="slow", starts_at=T0)
    return _dump(new_incident(number, alert, T0))


def test_a_duplicate_names_its_incident_and_parses_it_only_when_asked() -> None:
    outcome = AlertOutcome.duplicate("INC-7", record(), "3")
    assert outcome.incident_id == "INC-7" and not (outcome.created or outcome.recorded or outcome.reopened)
    first = outcome.incident
    assert first is not None and first.id == "INC-7" and first.version == 3 and first.title == "slow"
    assert outcome.incident is first, "parsed once"


def test_each_duplicate_gets_an_incident_of_its_own() -> None:
    data = record()
    one, two = AlertOutcome.duplicate("INC-7", data, "3"), AlertOutcome.duplicate("INC-7", data, "3")
    assert one.incident is not None and two.incident is not None
    one.incident.labels["changed"] = "yes"
    assert "changed" not in two.incident.labels


def test_an_outcome_with_nothing_has_no_incident() -> None:
    outcome = AlertOutcome(None)
    assert outcome.incident is None and outcome.incident_id is None


def test_recent_records_parse_a_record_once_and_forget_the_oldest_past_their_budget() -> None:
    first, second = record(1), record(2)
    records = RecentRecords(max_bytes=len(first) + len(second) - 1)
    one = records.read(first, "1")
    assert records.read(first, "1") is one and one.id == "INC-1"
    records.read(second, "1")  # over the budget: the first record goes
    assert records.read(first, "1") is not one


def test_claim_tokens_are_claims_and_never_repeat() -> None:
    tokens = {claim_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(t.startswith(CLAIM_PREFIX) for t in tokens)
