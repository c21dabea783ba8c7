"""The built-in page renders every piece of text inert: HTML escaped, Atom well-formed, JSON unchanged."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from bot.alerts import Severity
from bot.statuspage.builtin import PageSnapshot, ShownIncident
from bot.statuspage.models import Component, ComponentStatus, PageStatus, PageUpdate
from bot.statuspage.render import page_atom, page_html, page_json

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> "quoted" & <!channel> ]]> {{ x }} $(id)'
ATOM = "{http://www.w3.org/2005/Atom}"


def snapshot() -> PageSnapshot:
    updates = (
        PageUpdate("", PageStatus.IDENTIFIED, HOSTILE, NOW - timedelta(minutes=5)),
        PageUpdate("", PageStatus.INVESTIGATING, "looking", NOW - timedelta(minutes=20)),
    )
    open_incident = ShownIncident(
        "INC-7", f"Title {HOSTILE}", Severity.P1, PageStatus.IDENTIFIED, ("checkout",), NOW, None, updates
    )
    past = ShownIncident(
        "INC-3",
        "Old one",
        Severity.P3,
        PageStatus.RESOLVED,
        (),
        NOW - timedelta(days=3),
        NOW - timedelta(days=2),
        (PageUpdate("", PageStatus.RESOLVED, "fixed", NOW - timedelta(days=2)),),
    )
    component = Component(id="checkout", name=f"Checkout {HOSTILE}")
    return PageSnapshot(f"Status {HOSTILE}", NOW, ((component, ComponentStatus.MAJOR),), (open_incident,), (past,))


def test_html_escapes_every_text() -> None:
    html = page_html(snapshot())
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;quoted&quot; &amp; &lt;!channel&gt;" in html
    assert "Major outage" in html and "No open incidents" not in html
    assert html.index("<b>Identified</b>") < html.index("looking")  # newest update first


def test_atom_is_well_formed_with_one_entry_per_update_newest_first() -> None:
    feed = ET.fromstring(page_atom(snapshot(), "http://127.0.0.1:8080/status"))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    contents = [e.find(f"{ATOM}content").text for e in entries]  # type: ignore[union-attr]
    assert contents == [HOSTILE, "looking", "fixed"]
    assert feed.find(f"{ATOM}title").text == f"Status {HOSTILE}"  # type: ignore[union-attr]
    assert len({e.find(f"{ATOM}id").text for e in entries}) == 3  # type: ignore[union-attr]


def test_json_carries_the_text_unchanged() -> None:
    doc = json.loads(json.dumps(page_json(snapshot())))
    assert doc["components"] == [{"id": "checkout", "name": f"Checkout {HOSTILE}", "status": "major_outage"}]
    assert doc["incidents"][0]["updates"][0] == {
        "status": "identified",
        "body": HOSTILE,
        "at": (NOW - timedelta(minutes=5)).isoformat(),
    }
    assert [i["id"] for i in doc["history"]] == ["INC-3"] and doc["history"][0]["resolved_at"]


def test_an_empty_page_says_so() -> None:
    empty = PageSnapshot("S", NOW, (), (), ())
    html = page_html(empty)
    assert "No open incidents." in html and "No incidents in the last 90 days." in html
    assert ET.fromstring(page_atom(empty, "http://127.0.0.1/status")).findall(f"{ATOM}entry") == []


def test_each_incident_shows_the_impact_of_its_severity() -> None:
    doc = page_json(snapshot())
    assert [(i["severity"], i["impact"]) for i in doc["incidents"] + doc["history"]] == [
        ("P1", "critical"),
        ("P3", "minor"),
    ]
    html = page_html(snapshot())
    assert '<p class="impact">Impact: Critical</p>' in html and '<p class="impact">Impact: Minor</p>' in html
