"""The built-in page as HTML, JSON and an Atom feed; every piece of text is escaped for its format."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from bot.statuspage.builtin import PageSnapshot, ShownIncident
from bot.statuspage.models import IMPACT_BY_SEVERITY

STATUS_WORDS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}


def page_json(snap: PageSnapshot) -> dict[str, Any]:
    """The page as a JSON document."""
    return {
        "title": snap.title,
        "generated_at": snap.generated_at.isoformat(),
        "components": [{"id": c.id, "name": c.name, "status": s.value} for c, s in snap.components],
        "incidents": [_incident_json(i) for i in snap.open_incidents],
        "history": [_incident_json(i) for i in snap.history],
    }


def _incident_json(i: ShownIncident) -> dict[str, Any]:
    return {
        "id": i.incident_id,
        "title": i.title,
        "severity": i.severity.value,
        "impact": IMPACT_BY_SEVERITY[i.severity].value,
        "status": i.status.value,
        "components": list(i.components),
        "started_at": i.started_at.isoformat(),
        "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
        "updates": [{"status": u.status.value, "body": u.body, "at": u.at.isoformat()} for u in i.updates],
    }


def page_html(snap: PageSnapshot, feed_url: str = "/status/feed.atom") -> str:
    """The page as one self-contained HTML document (no scripts)."""
    e = _h
    rows = "".join(
        f'<li class="component {e(s.value)}">{e(c.name)} <span>{e(STATUS_WORDS[s.value])}</span></li>'
        for c, s in snap.components
    )
    current = "".join(_incident_html(i) for i in snap.open_incidents) or "<p>No open incidents.</p>"
    past = "".join(_incident_html(i) for i in snap.history) or "<p>No incidents in the last 90 days.</p>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{e(snap.title)}</title>"
        f'<link rel=alternate type="application/atom+xml" href="{e(feed_url)}">'
        "<style>body{font-family:sans-serif;max-width:48em;margin:auto}.operational span{color:green}"
        ".degraded_performance span{color:#b80}.partial_outage span{color:#d60}.major_outage span{color:#c00}</style>"
        f"</head><body><h1>{e(snap.title)}</h1><ul>{rows}</ul>"
        f"<h2>Current incidents</h2>{current}<h2>Past incidents (90 days)</h2>{past}"
        f"<p><small>Updated {e(snap.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</small></p></body></html>"
    )


def _incident_html(i: ShownIncident) -> str:
    e = _h
    updates = "".join(
        f"<li><b>{e(u.status.value.capitalize())}</b> <time>{e(_stamp(u.at))}</time><p>{e(u.body)}</p></li>"
        for u in i.updates
    )
    impact = IMPACT_BY_SEVERITY[i.severity].value
    return (
        f'<section class="incident impact-{e(impact)}" id="{e(i.incident_id)}"><h3>{e(i.title)}</h3>'
        f'<p class="impact">Impact: {e(impact.capitalize())}</p><ul>{updates}</ul></section>'
    )


def page_atom(snap: PageSnapshot, page_url: str) -> str:
    """An Atom feed with one entry per published update, newest first."""
    x = _x
    entries = sorted(
        ((i, u) for i in snap.open_incidents + snap.history for u in i.updates), key=lambda p: p[1].at, reverse=True
    )
    latest = entries[0][1].at if entries else snap.generated_at
    body = "".join(
        "<entry>"
        f"<id>{x(page_url)}#{x(i.incident_id)}-{x(u.at.isoformat())}</id>"
        f"<title>{x(i.title)}: {x(u.status.value)}</title>"
        f"<updated>{x(u.at.isoformat())}</updated>"
        f'<link href="{x(page_url)}#{x(i.incident_id)}"/>'
        f'<content type="text">{x(u.body)}</content>'
        "</entry>"
        for i, u in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{x(page_url)}</id><title>{x(snap.title)}</title><updated>{x(latest.isoformat())}</updated>"
        f'<link href="{x(page_url)}"/><author><name>{x(snap.title)}</name></author>{body}</feed>'
    )


def _h(text: str) -> str:
    return escape(text, quote=True)


def _x(text: str) -> str:
    return xml_escape(text, {'"': "&quot;"})


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")
