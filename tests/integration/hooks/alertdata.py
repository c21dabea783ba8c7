"""Helpers for the alert-data tests: a runbook in a folder, the responder over it, and a request recorder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.alerts import Alert
from bot.engine.responder import RunbookResponder
from bot.incidents.models import Incident
from bot.runbooks.catalog import load_catalog
from bot.runbooks.problems import Level
from bot.settings import Settings

RUNBOOK_ID = "alert-data"


def responder_for(folder: Path, runbook: dict[str, Any], **settings: Any) -> RunbookResponder:
    """A RunbookResponder over one runbook written to `folder`; fails when the runbook has errors."""
    body = {
        "id": RUNBOOK_ID,
        "name": "Alert data",
        "owner": "@sre",
        "service": "*",
        "triggers": [{"alert": "AlertData"}],
        **runbook,
    }
    (folder / f"{RUNBOOK_ID}.yaml").write_text(yaml.safe_dump(body))
    catalog = load_catalog(folder)
    errors = [p for p in catalog.problems if p.level is Level.ERROR]
    assert not errors, errors
    return RunbookResponder(catalog, Settings(_env_file=None, **settings))


def alert_with(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> Alert:
    """An alert carrying the given labels and annotations."""
    return Alert(
        source="t", name="AlertData", group_key="g", fingerprint="f", title="alert data", service="orders",
        labels=labels or {}, annotations=annotations or {},
    )  # fmt: skip


def incident_for(alert: Alert) -> Incident:
    """An incident opened by `alert` on the test runbook."""
    return Incident(
        id="INC-9", number=9, title="alert data", runbook_id=RUNBOOK_ID, first_alert=alert.model_dump(mode="json")
    )


@dataclass
class Recorder:
    """A loopback server that counts every request and answers 200, or redirects when `redirect_to` is set."""

    hits: list[str] = field(default_factory=list)
    redirect_to: str | None = None

    def app(self) -> web.Application:
        """The aiohttp app, answering every method on every path."""

        async def any_request(request: web.Request) -> web.StreamResponse:
            self.hits.append(f"{request.method} {request.raw_path}")
            if self.redirect_to is not None:
                raise web.HTTPFound(self.redirect_to)
            return web.Response(text="recorded")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", any_request)
        return app
