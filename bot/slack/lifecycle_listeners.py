"""Registers the incident-lifecycle surfaces: declare, severity and status, the update and follow-up forms, Home."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.slack import declare, followup_modal, home, severity, update_modal

if TYPE_CHECKING:
    from bot.services import BotServices


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach every lifecycle listener."""
    declare.register(app, services)
    severity.register(app, services)
    update_modal.register(app, services)
    followup_modal.register(app, services)
    home.register(app, services)
