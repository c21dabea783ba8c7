"""Declaring incidents from Slack: `/incident declare`, the shortcuts, the modal and its submission."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import metrics
from bot.errors import BotError, InvalidInput, NotPermitted, UpstreamError
from bot.incidents.declare import (
    Declaration,
    QuotedMessage,
    check_declaration,
    declare_incident_flow,
    service_choices,
)
from bot.incidents.models import Incident
from bot.policy.access import DECLARE, DECLARE_PROTECTED, Refusal
from bot.slack.access_gate import gate_of
from bot.slack.commands import CommandContext, subcommand
from bot.slack.declare_view import DECLARE_CALLBACK, DeclareField, declare_modal, form_values, read_metadata
from bot.slack.escape import escape_text, from_slack
from bot.slack.gateway import Priority

if TYPE_CHECKING:
    from bot.services import BotServices

log = logging.getLogger(__name__)

GLOBAL_SHORTCUT = "declare_incident_shortcut"
MESSAGE_SHORTCUT = "declare_incident_from_message"
# A trigger_id lives three seconds: opening a modal must not wait behind cosmetic edits.
OPEN_DEADLINE_S = 3.0


async def open_declare_modal(
    services: BotServices, trigger_id: str, user: str, channel: str | None = None, quote: QuotedMessage | None = None
) -> None:
    """Open the declare form for `user` with the trigger of their click, command or shortcut."""
    if not trigger_id:
        raise InvalidInput('Slack sent no trigger to open the form with: use `/incident new "title" --severity P2`')
    mapped = services.escalation_config.book.services if services.escalation_config else None
    view = declare_modal(service_choices(services.catalog, mapped), services.settings.environment, user, channel, quote)
    await services.gateway.call(
        "views.open", Priority.PAGE, deadline_s=OPEN_DEADLINE_S, trigger_id=trigger_id, view=view
    )


async def declare_with_flags(ctx: CommandContext) -> str:
    """`/incident new "title" --service S --severity P2 --env E`: the same declaration, typed."""
    form = {
        "title": " ".join(ctx.args),
        "severity": ctx.flags.get("severity", "P3"),
        "service": ctx.flags.get("service", "unknown"),
        "environment": ctx.flags.get("env", ctx.services.settings.environment),
        "commander": ctx.user_id,
    }
    declaration, errors = check_declaration(form)
    if declaration is None:
        if "title" in errors and not form["title"].strip():
            raise InvalidInput('give the incident a title: `/incident new "checkout errors" --severity P2`', ["title"])
        raise InvalidInput("; ".join(f"{k}: {v}" for k, v in errors.items()), sorted(errors))
    refusal = await declare_refusal(ctx.services, ctx.user_id, declaration, ctx.channel_id)
    if refusal is not None:
        raise NotPermitted(refusal.text(), rule=refusal.rule)
    incident = await declare_incident_flow(
        ctx.services.store, ctx.services.flows, ctx.services.catalog, declaration, ctx.user_id
    )
    assert incident is not None  # no request id: always opens
    return f"Opening {incident.id}: {escape_text(declaration.title)} — the channel follows in a moment."


async def declare_refusal(services: BotServices, user: str, declaration: Declaration, channel: str) -> Refusal | None:
    """The refusal (audited) when `user` may not declare in this environment, else None."""
    gate = gate_of(services)
    action = DECLARE_PROTECTED if gate.policy().is_protected(declaration.environment) else DECLARE
    return await gate.check(user, action, None, channel, service=declaration.service)


@subcommand("declare", "declare", "open the declare form: title, severity, service, environment, commander")
async def handle_declare(ctx: CommandContext) -> str:
    """Open the declare modal; with a title and flags, declare at once like `new`."""
    if ctx.args or ctx.flags:
        return await declare_with_flags(ctx)
    return await declare_from_command(ctx)


async def declare_from_command(ctx: CommandContext) -> str:
    """Open the declare modal from a slash command; the reply stays empty (the modal is the answer)."""
    await open_declare_modal(ctx.services, ctx.trigger_id, ctx.user_id, ctx.channel_id)
    return ""


async def tell_declarer(
    services: BotServices, user: str, channel: str | None, incident: Incident | None, text: str = ""
) -> None:
    """Tell the declarer the incident is opening (or `text`): in the channel they started from, else by DM."""
    if incident is not None:
        text = f"Opening {incident.id}: {escape_text(incident.title)} — the channel follows in a moment."
    if channel:
        try:
            await services.gateway.call("chat.postEphemeral", channel=channel, user=user, text=text)
            return
        except UpstreamError:
            pass  # the bot is not in that channel: a DM instead
    try:
        opened = await services.gateway.call("conversations.open", users=user)
        await services.gateway.post_message(str(opened["channel"]["id"]), text)
    except UpstreamError as exc:
        log.warning("cannot tell the declarer", extra={"user": user, "error": str(exc)})


async def _permalink(services: BotServices, quote: QuotedMessage) -> QuotedMessage:
    try:
        found = await services.gateway.call("chat.getPermalink", channel=quote.channel, message_ts=quote.ts)
    except UpstreamError as exc:
        log.warning("no permalink for a quoted message", extra={"error": str(exc)})
        return quote
    link = found.get("permalink")
    return QuotedMessage(quote.channel, quote.ts, quote.author, quote.text, link if isinstance(link, str) else None)


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the shortcuts and the modal's submission."""

    @app.shortcut(GLOBAL_SHORTCUT)
    async def handle_declare_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            await open_declare_modal(services, str(body.get("trigger_id", "")), body["user"]["id"])
        except BotError as exc:
            log.warning("cannot open the declare form", extra={"error": str(exc)})

    @app.shortcut(MESSAGE_SHORTCUT)
    async def handle_declare_from_message(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id", ""))
        author = str(message.get("user") or message.get("bot_id") or "unknown")
        # Slack sends the text with & < > escaped: undone once, so the form and timeline show what was typed.
        text = from_slack(str(message.get("text") or ""))
        quote = QuotedMessage(channel, str(message.get("ts", "")), author, text)
        try:
            await open_declare_modal(services, str(body.get("trigger_id", "")), body["user"]["id"], channel, quote)
        except BotError as exc:
            log.warning("cannot open the declare form", extra={"error": str(exc)})

    @app.view(DECLARE_CALLBACK)
    async def handle_declare_submission(ack: AsyncAck, body: dict[str, Any]) -> None:
        started = time.monotonic()
        user = body["user"]["id"]
        view = body.get("view") or {}
        declaration, errors = check_declaration(form_values((view.get("state") or {}).get("values") or {}))
        channel, quote = read_metadata(str(view.get("private_metadata") or ""))
        if declaration is None:
            await ack(response_action="errors", errors=errors)
            return
        # The environment is chosen here, so the access policy is asked again before the modal closes.
        refusal = await declare_refusal(services, user, declaration, channel or "")
        if refusal is not None:
            await ack(response_action="errors", errors={DeclareField.ENVIRONMENT.value: refusal.text()})
            return
        await ack()
        metrics.ACK_SECONDS.labels("view_submission").observe(time.monotonic() - started)
        if quote is not None:
            quote = await _permalink(services, quote)
        try:
            incident = await declare_incident_flow(
                services.store, services.flows, services.catalog, declaration, user, quote, request_id=view.get("id")
            )
        except BotError as exc:
            # The modal has closed: the person hears of the failure where they would have heard of success.
            await tell_declarer(services, user, channel, None, f":warning: the incident was not opened: {exc}")
            return
        if incident is not None:
            await tell_declarer(services, user, channel, incident)
