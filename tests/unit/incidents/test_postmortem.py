"""The post-mortem draft tells the bot's facts: durations, changes, every recorded event, follow-ups, names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.followups.models import FollowUp, FollowUpStatus
from bot.incidents.models import AuditEvent, EventType, Incident, Status, TimelineEvent
from bot.incidents.postmortem import draft_postmortem, duration, md, timeline_refs

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
ALICE, BOB = "U0ALICE001", "U0BOB00001"


def test_duration_formats() -> None:
    assert duration(T0, T0 + timedelta(seconds=42)) == "42 s"
    assert duration(T0, T0 + timedelta(minutes=4, seconds=10)) == "4 min 10 s"
    assert duration(T0, T0 + timedelta(hours=1, minutes=5)) == "1 h 05 min"
    assert duration(T0, None) == "n/a"


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _incident() -> Incident:
    return Incident(
        id="INC-7",
        number=7,
        title="checkout | slow *now*",
        service="checkout",
        status=Status.RESOLVED,
        commander=ALICE,
        triggered_at=T0,
        acknowledged_at=_at(180),
        acknowledged_by=ALICE,
        resolved_at=_at(47 * 60),
        runbook_id="demo",
    )


def _events() -> tuple[list[TimelineEvent], list[AuditEvent]]:
    timeline = [
        TimelineEvent(EventType.OPENED, "INC-7", "opened: checkout slow", "alertmanager", at=T0, stream_id="1-0"),
        TimelineEvent(EventType.ALERT, "INC-7", "firing: X", "alertmanager", at=_at(10), stream_id="2-0"),
        TimelineEvent(EventType.ALERT, "INC-7", "firing: X", "alertmanager", at=_at(10), stream_id="3-0"),
        TimelineEvent(
            EventType.DIAGNOSTIC, "INC-7", "diagnostics: critical", data={"db": {"status": "critical"}}, at=_at(15)
        ),
        TimelineEvent(
            EventType.STATUS, "INC-7", "triggered → acknowledged", ALICE, {"status": "acknowledged"}, _at(180)
        ),
        TimelineEvent(
            EventType.FIELD, "INC-7", f"commander → <@{BOB}>", ALICE, {"old": ALICE, "new": BOB}, _at(200), "6-0"
        ),
        TimelineEvent(EventType.FIELD, "INC-7", "severity: P3 → P1", BOB, {"field": "severity"}, _at(210), "7-0"),
        TimelineEvent(EventType.ACTION, "INC-7", "restart: succeeded (healthy)", BOB, at=_at(9 * 60), stream_id="8-0"),
        TimelineEvent(EventType.FIELD, "INC-7", "automation paused", BOB, {"paused": True}, _at(600), "9-0"),
        # A kind this draft has no words for (a future role event) still gets its row.
        TimelineEvent(EventType.FIELD, "INC-7", "scribe → <@U0CAROL001>", BOB, {"role": "scribe"}, _at(601), "10-0"),
    ]
    audit = [
        AuditEvent("escalation.page", "bot", "paged", "INC-7", step="level-1", at=_at(2), stream_id="100-0"),
        AuditEvent("step.refused", BOB, "refused", "INC-7", step="restart", data={"reason": "four eyes"}, at=_at(500)),
        AuditEvent("step.result", BOB, "succeeded", "INC-7", step="restart", at=_at(9 * 60), stream_id="102-0"),
        AuditEvent("access.denied", "U0EVE00001", "close", "INC-7", at=_at(700), stream_id="103-0"),
        AuditEvent("something.new", "bot", "done", "INC-7", at=_at(701), stream_id="104-0"),
    ]
    return timeline, audit


def test_timeline_section_lists_every_recorded_event_once_in_time_order() -> None:
    timeline, audit = _events()
    draft = draft_postmortem(_incident(), timeline, audit)
    # Expected from the events themselves: both streams, each event once, by time.
    expected = sorted(
        [(e.at, f"T-{e.stream_id or i}") for i, e in enumerate(timeline)]
        + [(e.at, f"A-{e.stream_id or i}") for i, e in enumerate(audit)],
        key=lambda pair: pair[0],
    )
    assert timeline_refs(draft) == [ref for _, ref in expected]
    assert f"{len(timeline)} timeline and {len(audit)} audit event(s)" in draft


def test_summary_changes_and_rows_say_what_happened() -> None:
    timeline, audit = _events()
    draft = draft_postmortem(_incident(), timeline, audit)
    assert "# Post-mortem draft: INC-7 checkout \\| slow \\*now\\*" in draft
    assert "| Impact window | 2026-11-23 14:00:10 UTC → 2026-11-23 14:47:00 UTC (46 min 50 s) |" in draft
    assert f"| Time to acknowledge | 3 min 00 s (by {ALICE}) |" in draft
    assert "| Time to mitigate | 9 min 00 s |" in draft
    assert "| Time to resolve | 47 min 00 s |" in draft
    assert f"- 14:03:20 commander → {BOB} (by {ALICE})" in draft
    assert f"- 14:03:30 severity: P3 → P1 (by {BOB})" in draft
    assert "| access refused | access.denied: close | U0EVE00001 | A-103-0 |" in draft
    assert "step.refused restart: refused (why: four eyes)" in draft
    assert "| evidence | diagnostics: critical (db critical) |" in draft
    assert "| something.new | something.new: done | bot | A-104-0 |" in draft


def test_names_come_from_the_namer_and_outside_text_stays_inert() -> None:
    timeline, audit = _events()
    names = {ALICE: "Alice", BOB: "Bob \\*B\\*"}
    followup = FollowUp(
        id="INC-7-F1",
        incident_id="INC-7",
        text="add *canary* <!channel>",
        owner=BOB,
        status=FollowUpStatus.OUTSTANDING,
        created_by=ALICE,
        created_at=T0,
        tracker_key="acme/shop#3",
        tracker_url="http://127.0.0.1:9/acme/shop/issues/3",
    )
    draft = draft_postmortem(_incident(), timeline, audit, [followup], lambda uid: names.get(uid, uid))
    assert "| Commander | Alice |" in draft and "- 14:03:20 commander → Bob \\*B\\* (by Alice)" in draft
    assert ALICE not in draft and BOB not in draft
    assert "- `INC-7-F1` outstanding (Bob \\*B\\*): add \\*canary\\* \\<\\!channel\\>" in draft
    assert "[acme/shop\\#3](http://127.0.0.1:9/acme/shop/issues/3)" in draft
    assert md("[x](javascript:1) `y`") == "\\[x\\](javascript:1) \\`y\\`"


def test_draft_of_a_quiet_incident_says_so() -> None:
    incident = Incident(id="INC-1", number=1, title="t", triggered_at=T0)
    draft = draft_postmortem(incident, [], [])
    assert "No severity, role or other field changed." in draft and "None recorded yet" in draft
    assert "| Time to resolve | n/a |" in draft and timeline_refs(draft) == []
