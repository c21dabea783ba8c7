"""The post-mortem draft's "Add follow-up" button and its form; a submission records it as `/incident followup` does.

The button's value is the incident id. A click is answered ephemerally when it names an incident the bot does
not know, comes from outside the incident's channel (audited, rule `click-channel`), or is
refused by the access policy (`followup`); otherwise the form opens. The form is checked again on submit, and
every problem comes back inside it (`response_action: errors`). A closed incident still takes follow-ups, as
`/incident followup` does: the review that finds action items often meets after the incident is closed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import BotError
from bot.followups.service import MAX_TEXT
from bot.incidents.models import Incident
from bot.slack.access_gate import gate_of
from bot.slack.clicks import ack_timed, click_channel
from bot.slack.declare import tell_declarer
from bot.slack.declare_view import form_values
from bot.slack.errors import reply_for_error
from bot.slack.escape import escape_text
from bot.slack.followup_blocks import FollowupAction
from bot.slack.followup_commands import record_followup
from bot.slack.gateway import Priority

if TYPE_CHECKING:
    from bot.services import BotServices

FOLLOWUP_ACTION = "followup"  # the access rule, as for `/incident followup`
FOLLOWUP_CALLBACK = "add_followup"
TEXT_BLOCK, OWNER_BLOCK = "text", "owner"
# A trigger_id lives three seconds: opening the form must not wait behind cosmetic edits.
OPEN_DEADLINE_S = 3.0


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def followup_modal(incident: Incident, channel: str) -> dict[str, Any]:
    """The follow-up form for one incident: what to do, and who owns it (optional)."""
    metadata = json.dumps({"incident": incident.id, "channel": channel})
    return {
        "type": "modal",
        "callback_id": FOLLOWUP_CALLBACK,
        "title": _plain("Add follow-up"),
        "submit": _plain("Record"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": TEXT_BLOCK,
                "label": _plain(f"Action item for {incident.id}"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": TEXT_BLOCK,
                    "multiline": True,
                    "max_length": MAX_TEXT,
                },
            },
            {
                "type": "input",
                "block_id": OWNER_BLOCK,
                "optional": True,
                "label": _plain("Owner"),
                "element": {"type": "users_select", "action_id": OWNER_BLOCK},
            },
        ],
    }


def check_followup(state: dict[str, Any]) -> tuple[tuple[str, str | None] | None, dict[str, str]]:
    """(text, owner) from the submitted form, or the problems keyed by block (the flow's own limits)."""
    form = form_values(state)
    text = " ".join((form.get(TEXT_BLOCK) or "").split())
    if not text:
        return None, {TEXT_BLOCK: "Describe the follow-up."}
    if len(text) > MAX_TEXT:
        return None, {TEXT_BLOCK: f"At most {MAX_TEXT} characters, not {len(text)}."}
    return (text, form.get(OWNER_BLOCK) or None), {}


def read_metadata(raw: str) -> tuple[str, str]:
    """(incident id, channel the button was clicked in) from the form's private_metadata."""
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return "", ""
    return (str(data.get("incident") or ""), str(data.get("channel") or "")) if isinstance(data, dict) else ("", "")


async def click_answer(services: BotServices, incident_id: str, user: str, channel: str) -> Incident | str:
    """The incident when the form may open for this click, else the sentence to tell the clicker."""
    incident = await services.store.get_incident(incident_id) if incident_id else None
    if incident is None:
        return f":warning: This button names {escape_text(incident_id or 'no incident')}, which the bot does not know."
    gate = gate_of(services)
    if not await gate.click_in_place(incident, user, channel, FOLLOWUP_ACTION):
        where = f"<#{incident.channel_id}>" if incident.channel_id else "its channel"
        return (
            f":warning: This button belongs to {incident.id}: add its follow-ups from {where} "
            "(access rule `click-channel`, see docs/security.md)."
        )
    refusal = await gate.check(user, FOLLOWUP_ACTION, incident, channel)
    return f":warning: {refusal.text()}" if refusal is not None else incident


async def submission_errors(services: BotServices, incident_id: str, user: str, channel: str) -> dict[str, str]:
    """Why a submitted form cannot be recorded now (the incident gone, access refused), keyed by block."""
    incident = await services.store.get_incident(incident_id) if incident_id else None
    if incident is None:
        return {TEXT_BLOCK: "That incident no longer exists."}
    refusal = await gate_of(services).check(user, FOLLOWUP_ACTION, incident, channel)
    return {TEXT_BLOCK: refusal.text()} if refusal is not None else {}


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the draft's button and the form's submission."""

    @app.action(FollowupAction.ADD.value)
    async def handle_add_followup_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack_timed(ack)
        user, channel = body["user"]["id"], click_channel(body)
        try:
            answer = await click_answer(services, str(body["actions"][0].get("value", "")), user, channel)
            if isinstance(answer, Incident):
                view = followup_modal(answer, channel)
                trigger = str(body.get("trigger_id", ""))
                await services.gateway.call(
                    "views.open", Priority.PAGE, deadline_s=OPEN_DEADLINE_S, trigger_id=trigger, view=view
                )
                return
        except Exception as exc:
            answer = reply_for_error(exc)
        await respond(text=answer, response_type="ephemeral", replace_original=False)

    @app.view(FOLLOWUP_CALLBACK)
    async def handle_add_followup_submission(ack: AsyncAck, body: dict[str, Any]) -> None:
        user, view = body["user"]["id"], body.get("view") or {}
        incident_id, channel = read_metadata(str(view.get("private_metadata") or ""))
        checked, errors = check_followup((view.get("state") or {}).get("values") or {})
        errors = errors or await submission_errors(services, incident_id, user, channel)
        if checked is None or errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        text, owner = checked
        try:
            reply = await record_followup(services, incident_id, user, text, owner)
        except BotError as exc:
            reply = f":warning: the follow-up was not recorded: {exc}"
        # The form has closed: the person hears the outcome where they clicked (by DM when not a member there).
        await tell_declarer(services, user, channel, None, reply)
