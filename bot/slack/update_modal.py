"""The stakeholder update modal: `/incident update` with no text opens it; its submission posts the update."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.errors import BotError
from bot.incidents.changes import parse_comm_status
from bot.incidents.models import CommStatus, Incident
from bot.slack.access_gate import gate_of
from bot.slack.commands import CommandContext
from bot.slack.declare_view import form_values
from bot.slack.gateway import Priority
from bot.slack.updates import updates_of

if TYPE_CHECKING:
    from bot.services import BotServices

log = logging.getLogger(__name__)

UPDATE_CALLBACK = "stakeholder_update"
UPDATE_ACTION = "update"
MAX_UPDATE = 3000
STATUS_BLOCK, MESSAGE_BLOCK, PUBLISH_BLOCK = "status", "message", "publish"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def update_modal(incident: Incident) -> dict[str, Any]:
    """The update form for one incident: status (the current one chosen), message, publish."""
    options = [{"text": _plain(s.value), "value": s.value} for s in CommStatus]
    current = next(o for o in options if o["value"] == incident.comm_status.value)
    publish = {"text": _plain("Publish to stakeholders (incidents channel and status page)"), "value": "publish"}
    return {
        "type": "modal",
        "callback_id": UPDATE_CALLBACK,
        "title": _plain("Status update"),
        "submit": _plain("Post update"),
        "close": _plain("Cancel"),
        "private_metadata": incident.id,
        "blocks": [
            {
                "type": "input",
                "block_id": STATUS_BLOCK,
                "label": _plain("Status"),
                "element": {
                    "type": "static_select",
                    "action_id": STATUS_BLOCK,
                    "options": options,
                    "initial_option": current,
                },
            },
            {
                "type": "input",
                "block_id": MESSAGE_BLOCK,
                "label": _plain(f"Update for {incident.id}"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": MESSAGE_BLOCK,
                    "multiline": True,
                    "max_length": MAX_UPDATE,
                },
            },
            {
                "type": "input",
                "block_id": PUBLISH_BLOCK,
                "optional": True,
                "label": _plain("Publish"),
                "element": {"type": "checkboxes", "action_id": PUBLISH_BLOCK, "options": [publish]},
            },
        ],
    }


async def open_update_modal(ctx: CommandContext, incident: Incident) -> str:
    """Open the update form in answer to `/incident update` without text; the reply stays empty."""
    if not ctx.trigger_id:
        return "Write the update: `/incident update rolled back, error rate falling`."
    await ctx.services.gateway.call(
        "views.open", Priority.PAGE, deadline_s=3.0, trigger_id=ctx.trigger_id, view=update_modal(incident)
    )
    return ""


async def post_stakeholder_update(
    services: BotServices, incident: Incident, actor: str, status: CommStatus, text: str, publish: bool
) -> None:
    """Post the form's update through the one update flow (`publish_update_flow`), then refresh the header."""
    await updates_of(services).publish_update_flow(incident.id, actor, status.value, text, publish)
    services.tasks.spawn(services.notifier.incident_updated(incident), "header", incident.id)


def check_update(state: dict[str, Any]) -> tuple[tuple[CommStatus, str, bool] | None, dict[str, str]]:
    """(status, text, publish) from the submitted form, or the problems keyed by block."""
    form = form_values(state)
    errors: dict[str, str] = {}
    text = (form.get(MESSAGE_BLOCK) or "").strip()
    if not text:
        errors[MESSAGE_BLOCK] = "Write the update."
    elif len(text) > MAX_UPDATE:
        errors[MESSAGE_BLOCK] = f"At most {MAX_UPDATE} characters, not {len(text)}."
    try:
        status = parse_comm_status(form.get(STATUS_BLOCK) or "")
    except BotError:
        errors[STATUS_BLOCK] = "Choose a status."
        status = CommStatus.INVESTIGATING
    publish = "publish" in (form.get(PUBLISH_BLOCK) or "").split(",")
    return (None, errors) if errors else ((status, text, publish), {})


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the update modal's submission."""

    @app.view(UPDATE_CALLBACK)
    async def handle_update_submission(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        user = body["user"]["id"]
        checked, errors = check_update((view.get("state") or {}).get("values") or {})
        incident = await services.store.get_incident(str(view.get("private_metadata") or ""))
        if incident is None:
            await ack(response_action="errors", errors={MESSAGE_BLOCK: "That incident no longer exists."})
            return
        if checked is None:
            await ack(response_action="errors", errors=errors)
            return
        refusal = await gate_of(services).check(user, UPDATE_ACTION, incident, incident.channel_id or "")
        if refusal is not None:
            await ack(response_action="errors", errors={MESSAGE_BLOCK: refusal.text()})
            return
        await ack()
        status, text, publish = checked
        await post_stakeholder_update(services, incident, user, status, text, publish)
