"""What one webhook delivery turns into: alerts to record and acknowledgements to apply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.alerts import Alert


@dataclass(frozen=True)
class Acknowledgement:
    """A source says someone acknowledged the alert group (PagerDuty acknowledged, Opsgenie Acknowledge)."""

    source: str
    group_key: str
    actor: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class IntakeBatch:
    """Everything one delivery carried, validated; `ignored` names events the bot has no use for."""

    source: str
    alerts: list[Alert] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when there is nothing for the sink to do."""
        return not self.alerts and not self.acknowledgements
