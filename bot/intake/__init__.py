"""Alert intake: one parser per source into the normalised Alert.

The webhook routes live in `bot.intake.routes` and are not imported here, so the core can use the
parsers and the batch type without loading aiohttp.
"""

from bot.intake.batch import Acknowledgement, IntakeBatch
from bot.intake.sink import AlertSink, StoreSink
from bot.intake.sources import AuthScheme, Source, get_source, list_sources

__all__ = [
    "Acknowledgement",
    "AlertSink",
    "AuthScheme",
    "IntakeBatch",
    "Source",
    "StoreSink",
    "get_source",
    "list_sources",
]
