"""Builds stakeholder communication from settings: status page, updates, follow-ups and their durable jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.connections import Redis
from bot.durable import DurableJobs
from bot.errors import ConfigError
from bot.escalation.scheduler import TimerScheduler
from bot.escalation.service import EscalationService
from bot.escalation.timers import TimerStore
from bot.followups.service import FollowUpService
from bot.followups.store import FollowUpStore
from bot.followups.trackers import exporter_from_settings
from bot.incidents.flows import IncidentFlows
from bot.incidents.store import IncidentStore
from bot.incidents.updates import UpdateFlows
from bot.keys import Keys
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.updates import SlackUpdatePoster
from bot.statuspage.atlassian import AtlassianStatuspage
from bot.statuspage.builtin import BuiltinStatusPage
from bot.statuspage.client import StatuspageClient
from bot.statuspage.config import load_statuspage_config, statuspage_path
from bot.statuspage.service import StatusPageBackend, StatusPageService


@dataclass
class Stakeholders:
    """The communication collaborators one bot process holds."""

    updates: UpdateFlows
    followups: FollowUpService
    status_page: StatusPageService | None = None
    builtin_page: BuiltinStatusPage | None = None
    closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close the HTTP clients of the backends and the tracker."""
        for closer in self.closers:
            await closer.aclose()


def build_status_page(
    settings: Settings, redis: Redis, keys: Keys, store: IncidentStore, jobs: DurableJobs
) -> tuple[StatusPageService | None, BuiltinStatusPage | None, list[Any]]:
    """The status-page service with the configured backends, or None when no backend is configured."""
    if not settings.status_page_backends:
        return None, None, []
    config = load_statuspage_config(settings.status_page_config or statuspage_path(settings.runbooks_path))
    backends: dict[str, StatusPageBackend] = {}
    builtin: BuiltinStatusPage | None = None
    closers: list[Any] = []
    if "builtin" in settings.status_page_backends:
        builtin = BuiltinStatusPage(redis, keys, config)
        backends[builtin.name] = builtin
    if "atlassian" in settings.status_page_backends:
        missing = [
            name
            for name, value in (
                ("STATUSPAGE_PAGE_ID", settings.statuspage_page_id),
                ("STATUSPAGE_API_KEY", settings.statuspage_api_key),
            )
            if not value
        ]
        if missing:
            raise ConfigError("the atlassian status page needs " + ", ".join(missing), fields=missing)
        assert settings.statuspage_page_id and settings.statuspage_api_key
        client = StatuspageClient(
            settings.statuspage_api_url, settings.statuspage_page_id, settings.statuspage_api_key.get_secret_value()
        )
        closers.append(client)
        backends["atlassian"] = AtlassianStatuspage(client, redis, keys)
    return StatusPageService(redis, keys, store, jobs, backends, config), builtin, closers


def build_stakeholders(
    settings: Settings,
    redis: Redis,
    keys: Keys,
    store: IncidentStore,
    timers: TimerStore,
    scheduler: TimerScheduler,
    gateway: SlackGateway,
    flows: IncidentFlows,
    escalation: EscalationService | None,
) -> Stakeholders:
    """Wire status page, updates and follow-ups; registers their job handlers and the flows observer."""
    jobs = DurableJobs(redis, keys, timers, max_attempts=settings.job_max_attempts)
    status_page, builtin, closers = build_status_page(settings, redis, keys, store, jobs)
    if status_page is not None:
        status_page.register(scheduler)
        flows.observers.append(status_page)
    exporter = exporter_from_settings(settings)
    if exporter is not None:
        closers.append(exporter)
    followups = FollowUpService(FollowUpStore(redis, keys), store, jobs, exporter)
    followups.register(scheduler)
    poster = SlackUpdatePoster(gateway, store, settings.incidents_channel)
    updates = UpdateFlows(store, poster, status_page, escalation)
    return Stakeholders(updates, followups, status_page, builtin, closers)
