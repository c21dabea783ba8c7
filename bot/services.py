"""The set of collaborators handed to listeners and commands; built once in bot.app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.incidents.flows import IncidentFlows
from bot.incidents.store import IncidentStore
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.notifier import SlackNotifier
from bot.tasks import TaskSupervisor

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService
    from bot.escalation.loader import EscalationConfig
    from bot.followups.service import FollowUpService
    from bot.incidents.closing import ArchiveTimers
    from bot.incidents.updates import UpdateFlows
    from bot.runbooks.catalog import Catalog
    from bot.slack.access_gate import AccessGate
    from bot.slack.people import PeopleDirectory
    from bot.slack.postmortem_publish import PostmortemPublisher
    from bot.statuspage.service import StatusPageService


@dataclass
class BotServices:
    """Everything a listener may need, passed in rather than imported."""

    settings: Settings
    store: IncidentStore
    gateway: SlackGateway
    notifier: SlackNotifier
    flows: IncidentFlows
    tasks: TaskSupervisor
    approvals: ApprovalService | None = None
    escalation_config: EscalationConfig | None = None
    access: AccessGate | None = None
    people: PeopleDirectory | None = None
    updates: UpdateFlows | None = None
    followups: FollowUpService | None = None
    closing: ArchiveTimers | None = None
    postmortems: PostmortemPublisher | None = None
    # The runbook catalog: services offered when declaring, runbooks matched by symptom.
    catalog: Catalog | None = None
    # The status page (None without a backend): a severity change re-sets the impact of a published incident.
    status_page: StatusPageService | None = None
