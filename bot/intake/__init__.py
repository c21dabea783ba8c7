"""Alert intake: one parser per source into the normalised Alert, and the webhook routes."""

from bot.intake.batch import Acknowledgement, IntakeBatch
from bot.intake.routes import add_alert_routes
from bot.intake.sink import AlertSink, StoreSink
from bot.intake.sources import AuthScheme, Source, get_source, list_sources

__all__ = [
    "Acknowledgement",
    "AlertSink",
    "AuthScheme",
    "IntakeBatch",
    "Source",
    "StoreSink",
    "add_alert_routes",
    "get_source",
    "list_sources",
]
