"""`/incident role <role> @user` and the header's claim buttons: one holder per role, instructions sent by DM."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import BotError, InvalidInput
from bot.incidents.models import Incident
from bot.incidents.roles import RoleChange, assign_role, holder, holders
from bot.policy.access import ROLE_OTHER, ROLE_SELF, role_action
from bot.policy.roles_file import RoleBook, RoleDef, RolesConfig, roles_path
from bot.services import BotServices
from bot.slack.access_gate import gate_of
from bot.slack.clicks import ack_timed
from bot.slack.commands import CommandContext, is_incident_id, subcommand
from bot.slack.escape import escape_text
from bot.slack.incident_commands import target_incident
from bot.slack.people import people_of
from bot.slack.role_blocks import CLAIM_ACTION, parse_claim_value

log = logging.getLogger(__name__)
CLAIM_PATTERN = re.compile(rf"^{CLAIM_ACTION}:")
_ME = ("me", "@me", "myself")


def role_book_of(services: BotServices) -> RoleBook:
    """The configured roles, shared with the notifier (which renders them on the header)."""
    if services.notifier.roles is None:
        services.notifier.roles = RoleBook(roles_path(services.settings.runbooks_path))
    book: RoleBook = services.notifier.roles
    return book


def configured_role(config: RolesConfig, name: str) -> RoleDef:
    """The role called `name`; InvalidInput listing the configured ones otherwise."""
    role = config.get(name)
    if role is None:
        known = ", ".join(f"`{n}`" for n in config.names())
        raise InvalidInput(f"there is no role `{escape_text(name)}`: the roles are {known}", ["role"])
    return role


async def give_role(
    services: BotServices, incident: Incident, role: RoleDef, user: str, actor: str, claim: bool
) -> RoleChange:
    """Assign (or claim) the role, refresh header and topic, and DM the new holder the role's instructions."""
    change = await assign_role(services.store, incident.id, role.name, user, actor, claim=claim)
    if change.changed:
        services.tasks.spawn(services.notifier.incident_updated(change.incident), "header", incident.id)
        await _send_instructions(services, change.incident, role, user)
    return change


async def _send_instructions(services: BotServices, incident: Incident, role: RoleDef, user: str) -> None:
    where = f" in <#{incident.channel_id}>" if incident.channel_id else ""
    text = f"You are now *{escape_text(role.title)}* of {incident.id}{where}: {escape_text(incident.title)}"
    if role.instructions:
        text += f"\n{escape_text(role.instructions)}"
    try:
        await services.gateway.post_message(user, text)
    except BotError as exc:
        # The role is held either way; a DM that cannot be sent is logged, not a failed assignment.
        log.warning(
            "cannot send role instructions", extra={"incident": incident.id, "role": role.name, "error": str(exc)}
        )


def _holders_text(incident: Incident, config: RolesConfig) -> str:
    lines = [f"*{incident.id} roles*"]
    for name, who in holders(incident, config.names()):
        role = configured_role(config, name)
        lines.append(f"• {escape_text(role.title)}: " + (f"<@{who}>" if who else "_unclaimed_"))
    return "\n".join(lines)


@subcommand(
    "role", "role [<role> @user|me] [INC-n]", "give a role (commander, communications, scribe…) or list who holds each"
)
async def handle_role(ctx: CommandContext) -> str:
    """Assign a role, or list the holders when no role is named."""
    config = role_book_of(ctx.services).config()
    incident_arg = [ctx.args.pop()] if ctx.args and is_incident_id(ctx.args[-1]) else []
    if ctx.args and is_incident_id(ctx.args[0]):
        incident_arg = [ctx.args.pop(0)]
    if not ctx.args:
        ctx.args[:] = incident_arg
        return _holders_text(await target_incident(ctx, "status"), config)
    role = configured_role(config, ctx.args[0])
    typed = " ".join(ctx.args[1:]).strip()
    if not typed:
        raise InvalidInput(f"name who takes it: `/incident role {role.name} @alice` (or `me`)", ["user"])
    user = ctx.user_id if typed.lower() in _ME else await people_of(ctx.services).resolve(typed)
    ctx.args[:] = incident_arg
    incident = await target_incident(ctx, await _action(ctx, role.name, user, incident_arg))
    change = await give_role(ctx.services, incident, role, user, ctx.user_id, claim=False)
    if not change.changed:
        return f"<@{user}> already holds {escape_text(role.title.lower())} on {incident.id}."
    was = f" (was <@{change.previous}>)" if change.previous else ""
    return f"<@{user}> is now {escape_text(role.title.lower())} of {incident.id}{was}."


async def _action(ctx: CommandContext, role: str, user: str, incident_arg: list[str]) -> str:
    """`role-self` only for an empty role (or one already yours): taking a held one takes it from someone."""
    action = role_action(role, ctx.user_id, user)
    if action != ROLE_SELF:
        return action
    store = ctx.services.store
    found = (
        await store.get_incident(incident_arg[0].upper())
        if incident_arg
        else await store.find_by_channel(ctx.channel_id)
    )
    current = holder(found, role) if found is not None else None
    return ROLE_OTHER if current not in (None, user) else ROLE_SELF


async def claim_text(services: BotServices, value: str, user: str, channel: str) -> str:
    """What a click on a claim button did, in one sentence for the clicker."""
    incident_id, name = parse_claim_value(value)
    role = configured_role(role_book_of(services).config(), name)
    incident = await services.store.get_incident_or_raise(incident_id)
    if not incident.is_active:
        return f"{incident.id} is {incident.status.value}: its roles are no longer claimed."
    await gate_of(services).require(user, role_action(role.name, user, user), incident, channel)
    change = await give_role(services, incident, role, user, user, claim=True)
    if not change.changed:
        return f"You already hold {escape_text(role.title.lower())} on {incident.id}."
    return f"You are now {escape_text(role.title.lower())} of {incident.id}; the instructions are in your DMs."


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the claim-button listener (before the stale-action catch-all)."""

    @app.action(CLAIM_PATTERN)
    async def handle_role_claim(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack_timed(ack)
        value = str(body["actions"][0].get("value", ""))
        channel = (body.get("channel") or {}).get("id", "")
        try:
            text = await claim_text(services, value, body["user"]["id"], channel)
        except BotError as exc:
            text = f":warning: {exc}"
        await respond(text=text, response_type="ephemeral", replace_original=False)
