"""Where a button click counts: in its incident's channel (or a DM the bot sent for it), for its own request."""

from __future__ import annotations

from collections.abc import Collection

CLICK_RULE = "click-channel"


def click_allowed(click_channel: str, request_channels: Collection[str], dm_channels: Collection[str]) -> bool:
    """Whether a click in `click_channel` may act on a request posted in `request_channels` (the incident's).

    A click carrying another incident's request id, from any other channel, is refused: the id alone is not trusted.
    """
    if not click_channel:
        return False
    return click_channel in {c for c in request_channels if c} or click_channel in dm_channels


def click_refusal_text(incident_id: str) -> str:
    """The sentence for a click refused by the channel rule."""
    return (
        f"access rule `{CLICK_RULE}`: this request belongs to {incident_id}; it can only be decided from "
        f"{incident_id}'s channel or the direct message the bot sent for it (see docs/security.md)"
    )
