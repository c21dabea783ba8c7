"""Posting the post-mortem draft to the incident channel: a channel canvas where the workspace has them, else a file.

The canvas names people with canvas mentions (`![](@U…)`); the Markdown file names them by display name.
A channel has one canvas, so publishing again replaces its content (found through conversations.info)
rather than failing. Where canvases are unavailable (plan, token type, an older Slack) the draft goes
out as a Markdown file through files upload v2. Either way the link is written on the incident
(`links["postmortem"]`, which `/incident close` looks for), a timeline event says where it went, and
one message links the draft with an "Add follow-up" button (bot/slack/followup_modal.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.errors import InvalidInput, UpstreamError
from bot.incidents.closing import POSTMORTEM_LINK
from bot.incidents.models import EventType, Incident, TimelineEvent
from bot.incidents.postmortem import md
from bot.incidents.postmortem_source import PostmortemRecord, read_postmortem_record
from bot.incidents.store import IncidentStore
from bot.slack.followup_blocks import draft_blocks
from bot.slack.gateway import SlackGateway
from bot.slack.names import SlackNames

log = logging.getLogger(__name__)

POSTMORTEM_POSTED = "postmortem_posted"
# Slack's answers meaning "no canvas here": fall back to a file. Anything else is a real failure.
CANVAS_UNAVAILABLE = frozenset(
    {
        "not_allowed_token_type",
        "canvas_disabled",
        "canvas_disabled_user_team",
        "team_tier_cannot_create_channel_canvases",
        "free_teams_cannot_create_non_tiny_canvases",
        "unknown_method",
        "missing_scope",
        "not_supported",
        "feature_not_enabled",
        "restricted_action",
    }
)


def canvas_mention(user_id: str) -> str:
    """A person as a canvas mention."""
    return f"![](@{user_id})"


@dataclass(frozen=True)
class Published:
    """Where the draft went: 'canvas' or 'file', and its link."""

    kind: str
    link: str


class PostmortemPublisher:
    """Drafts from the store and posts to the channel; records the link on the incident."""

    def __init__(self, gateway: SlackGateway, store: IncidentStore, names: SlackNames) -> None:
        self.gateway = gateway
        self.store = store
        self.names = names
        self._workspace_url: tuple[str, str] | None = None

    async def publish(self, incident_id: str, actor: str) -> Published:
        """Post the draft; InvalidInput when the incident has no channel."""
        record = await read_postmortem_record(self.store, incident_id)
        channel = record.incident.channel_id
        if not channel:
            raise InvalidInput(f"{incident_id} has no channel: `runbookctl postmortem {incident_id}` prints the draft")
        # Names are looked up either way: they land in the Redis cache `runbookctl postmortem` reads.
        await self.names.display_names(record.user_ids())
        published = await self._as_canvas(channel, record) or await self._as_file(channel, record)
        await self._record(record.incident, published, actor)
        # One message announces the draft either way, with the button that records follow-ups from it.
        where = "open the canvas" if published.kind == "canvas" else "the Markdown file"
        link = f"<{published.link}|{where}>" if published.link.startswith("https://") else where
        text = f"Post-mortem draft for {incident_id}: {link}"
        await self.gateway.post_message(channel, text, draft_blocks(text, incident_id))
        return published

    async def markdown(self, record: PostmortemRecord) -> str:
        """The draft with display names (ids where Slack does not know the person)."""
        names = await self.names.display_names(record.user_ids())
        return record.draft(lambda user_id: md(names[user_id]) if user_id in names else user_id)

    async def _as_canvas(self, channel: str, record: PostmortemRecord) -> Published | None:
        document = {"type": "markdown", "markdown": record.draft(canvas_mention)}
        try:
            info = await self.gateway.call("conversations.info", channel=channel)
            existing = ((info.get("channel") or {}).get("properties") or {}).get("canvas") or {}
            canvas_id = str(existing.get("file_id") or "")
            if canvas_id:
                change = {"operation": "replace", "document_content": document}
                await self.gateway.call("canvases.edit", canvas_id=canvas_id, changes=[change])
            else:
                created = await self.gateway.call(
                    "conversations.canvases.create", channel_id=channel, document_content=document
                )
                canvas_id = str(created["canvas_id"])
        except UpstreamError as exc:
            if exc.details.get("slack_error") in CANVAS_UNAVAILABLE:
                log.info("no canvas: posting the draft as a file", extra={"reason": str(exc)})
                return None
            raise
        return Published("canvas", await self._canvas_link(canvas_id))

    async def _as_file(self, channel: str, record: PostmortemRecord) -> Published:
        incident = record.incident
        answer = await self.gateway.call(
            "files.upload.v2",  # slack-sdk's files_upload_v2: getUploadURLExternal, upload, completeUploadExternal
            channel=channel,
            content=await self.markdown(record),
            filename=f"{incident.id.lower()}-postmortem.md",
            title=f"Post-mortem draft: {incident.id}",
        )
        files = answer.get("files") or [answer.get("file") or {}]
        return Published("file", str(files[0].get("permalink") or files[0].get("id") or ""))

    async def _canvas_link(self, canvas_id: str) -> str:
        if self._workspace_url is None:
            auth = await self.gateway.call("auth.test")
            self._workspace_url = (str(auth.get("url") or "https://slack.com/"), str(auth.get("team_id") or ""))
        url, team = self._workspace_url
        return f"{url.rstrip('/')}/docs/{team}/{canvas_id}"

    async def _record(self, incident: Incident, published: Published, actor: str) -> None:
        def note(i: Incident) -> list[TimelineEvent]:
            i.links = {**i.links, POSTMORTEM_LINK: published.link}
            summary = f"post-mortem draft posted as a {published.kind}"
            data = {"kind": POSTMORTEM_POSTED, "as": published.kind, "link": published.link}
            return [TimelineEvent(EventType.MESSAGE, i.id, summary, actor, data)]

        await self.store.update_incident(incident.id, note)
