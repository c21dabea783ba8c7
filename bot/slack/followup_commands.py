"""`/incident followup`: record an action item, or change one's status."""

from __future__ import annotations

from bot.errors import InvalidInput
from bot.followups.models import FollowUp, FollowUpStatus
from bot.followups.service import FollowUpService
from bot.followups.store import FollowUpStore
from bot.services import BotServices
from bot.slack.commands import CommandContext, subcommand
from bot.slack.escape import escape_text
from bot.slack.incident_commands import target_incident
from bot.slack.people import people_of

STATUS_WORDS = {"done": FollowUpStatus.DONE, "wont-do": FollowUpStatus.WONT_DO, "reopen": FollowUpStatus.OUTSTANDING}


def followups_of(services: BotServices) -> FollowUpService:
    """The bot's follow-up service; built on the spot (no export) when the services were assembled without it."""
    if services.followups is None:
        store = FollowUpStore(services.store.redis, services.store.keys)
        services.followups = FollowUpService(store, services.store)
    return services.followups


@subcommand(
    "followup",
    "followup <text> [@owner] | followup done|wont-do|reopen <INC-n-Fm> | followup list",
    "record an action item (exported to the tracker when one is configured), or change its status",
)
async def handle_followup(ctx: CommandContext) -> str:
    """Record, list or change a follow-up of the incident."""
    incident = await target_incident(ctx)
    service = followups_of(ctx.services)
    if ctx.args and ctx.args[0].lower() == "list" and len(ctx.args) == 1:
        return _list_text(incident.id, await service.followups.list_incident(incident.id))
    if len(ctx.args) == 2 and ctx.args[0].lower() in STATUS_WORDS:
        status = STATUS_WORDS[ctx.args[0].lower()]
        item = await service.set_status_flow(incident.id, ctx.args[1].upper(), status, ctx.user_id)
        return f"Follow-up {item.id} is now {item.status.value}."
    # A last word that names a person (`<@U…>` from autocomplete, or `@carol` typed) is the owner.
    named = bool(ctx.args) and ctx.args[-1].startswith(("@", "<@"))
    owner = await people_of(ctx.services).resolve(ctx.args[-1]) if named else None
    words = ctx.args[:-1] if named else ctx.args
    if not words:
        raise InvalidInput("describe the follow-up: `/incident followup add a pool-size alert @bob`", ["text"])
    return await record_followup(ctx.services, incident.id, ctx.user_id, " ".join(words), owner)


async def record_followup(services: BotServices, incident_id: str, actor: str, text: str, owner: str | None) -> str:
    """Record a follow-up through the one flow (store, timeline, export); the sentence telling the person so.

    The command and the post-mortem draft's "Add follow-up" form both come here, so they cannot drift apart.
    """
    service = followups_of(services)
    item = await service.record_followup_flow(incident_id, actor, text, owner)
    exported = " It will be filed in the tracker." if service.exporter is not None else ""
    who = f" for <@{owner}>" if owner else ""
    return f"Follow-up {item.id} recorded{who}: {escape_text(item.text)}.{exported}"


def _list_text(incident_id: str, items: list[FollowUp]) -> str:
    if not items:
        return f"{incident_id} has no follow-ups."
    lines = [f"*{incident_id} follow-ups*"]
    for f in items:
        owner = f" <@{f.owner}>" if f.owner else ""
        link = f" <{f.tracker_url}|{escape_text(f.tracker_key or 'issue')}>" if f.tracker_url else ""
        lines.append(f"• `{f.id}` {f.status.value}{owner} — {escape_text(f.text)}{link}")
    return "\n".join(lines)
