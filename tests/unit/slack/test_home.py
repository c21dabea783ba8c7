"""The Home tab renders within Slack's limits, orders incidents by severity and says who is next."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk.models.views import View

from bot.escalation.loader import load_escalation
from bot.incidents.models import Incident
from bot.slack.home import age_text, home_view

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_age_text_steps() -> None:
    assert [age_text(NOW - timedelta(seconds=s), NOW) for s in (5, 600, 3 * 3600 + 300, 3 * 86400)] == [
        "5 s",
        "10 min",
        "3 h 5 min",
        "3 d 0 h",
    ]


def test_many_incidents_stay_within_the_block_limit_worst_first(tmp_path: Path) -> None:
    (tmp_path / "policies.yaml").write_text(
        "default: p\npolicies:\n  p:\n    levels: [{targets: [{schedule: web}]}]\n", encoding="utf-8"
    )
    (tmp_path / "schedules.yaml").write_text(
        "schedules:\n  web:\n    layers:\n      - name: l\n        rotation: {type: daily, participants: [U0A1, U0B2],"
        " start: 2026-01-01, handoff: '09:00'}\n",
        encoding="utf-8",
    )
    config = load_escalation(tmp_path)
    incidents = [
        Incident(id=f"INC-{n}", number=n, title=f"t{n}", severity="P1" if n == 70 else "P3", triggered_at=NOW)
        for n in range(1, 80)
    ]
    view = home_view(incidents, config, NOW + timedelta(minutes=7))
    View(**view).validate_json()
    assert len(view["blocks"]) <= 100
    text = json.dumps(view["blocks"])
    assert view["blocks"][3]["text"]["text"].startswith(":red_circle: *INC-70* P1")
    assert "and 19 more" in text and "open 7 min" in text
    assert "`web`: <@U0A1>" in text and "next <@U0B2> from Sat 28 Nov 09:00 UTC" in text


def test_without_paging_the_home_tab_says_so() -> None:
    view = home_view([], None, NOW)
    View(**view).validate_json()
    assert "No open incidents." in json.dumps(view) and "Paging is not configured" in json.dumps(view)
