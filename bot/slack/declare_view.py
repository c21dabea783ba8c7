"""The declare modal (pure Block Kit) and reading its submitted state back into form fields."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from bot.alerts import Severity
from bot.incidents.declare import MAX_DESCRIPTION, MAX_TITLE, QuotedMessage
from bot.slack.escape import truncate

DECLARE_CALLBACK = "declare_incident"
# Slack allows at most 100 options in a static_select.
MAX_OPTIONS = 100
METADATA_MAX = 3000
QUOTE_KEEP = 1500


class DeclareField(StrEnum):
    """Block ids of the modal's inputs; each input's action_id is the same word."""

    TITLE = "title"
    SEVERITY = "severity"
    SERVICE = "service"
    ENVIRONMENT = "environment"
    DESCRIPTION = "description"
    COMMANDER = "commander"
    VISIBILITY = "visibility"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(truncate(label, 75)), "value": value}


def _input(field: DeclareField, label: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": field.value, "label": _plain(label), "element": element}
    if optional:
        block["optional"] = True
    return block


def _service_element(services: list[str], chosen: str | None) -> dict[str, Any]:
    if not services or len(services) > MAX_OPTIONS:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": DeclareField.SERVICE.value}
        if chosen:
            element["initial_value"] = chosen
        return element
    options = [_option(s, s) for s in services]
    element = {"type": "static_select", "action_id": DeclareField.SERVICE.value, "options": options}
    if chosen in services:
        element["initial_option"] = _option(chosen, chosen)
    return element


def declare_modal(
    services: list[str],
    environment: str,
    user: str,
    channel: str | None = None,
    quote: QuotedMessage | None = None,
) -> dict[str, Any]:
    """The declare form; `channel` and `quote` travel in private_metadata for the submission."""
    severities = [_option(s.value, s.value) for s in Severity]
    description: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": DeclareField.DESCRIPTION.value,
        "multiline": True,
        "max_length": MAX_DESCRIPTION,
    }
    if quote is not None and quote.text:
        description["initial_value"] = truncate(quote.text, MAX_DESCRIPTION)
    visibility = [_option("Public channel", "public"), _option("Private channel", "private")]
    blocks = [
        _input(
            DeclareField.TITLE,
            "Title",
            {"type": "plain_text_input", "action_id": DeclareField.TITLE.value, "max_length": MAX_TITLE},
        ),
        _input(
            DeclareField.SEVERITY,
            "Severity",
            {
                "type": "static_select",
                "action_id": DeclareField.SEVERITY.value,
                "options": severities,
                "initial_option": _option("P3", "P3"),
            },
        ),
        _input(DeclareField.SERVICE, "Service", _service_element(services, None)),
        _input(
            DeclareField.ENVIRONMENT,
            "Environment",
            {"type": "plain_text_input", "action_id": DeclareField.ENVIRONMENT.value, "initial_value": environment},
        ),
        _input(DeclareField.DESCRIPTION, "What is happening?", description, optional=True),
        _input(
            DeclareField.COMMANDER,
            "Commander",
            {"type": "users_select", "action_id": DeclareField.COMMANDER.value, "initial_user": user},
            optional=True,
        ),
        _input(
            DeclareField.VISIBILITY,
            "Incident channel",
            {"type": "radio_buttons", "action_id": DeclareField.VISIBILITY.value, "options": visibility},
            optional=True,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "title": _plain("Declare an incident"),
        "submit": _plain("Declare"),
        "close": _plain("Cancel"),
        "private_metadata": declare_metadata(channel, quote),
        "blocks": blocks,
    }


def declare_metadata(channel: str | None, quote: QuotedMessage | None) -> str:
    """The modal's private_metadata: where it was opened from and the quoted message, within Slack's limit."""
    data: dict[str, Any] = {"channel": channel or ""}
    if quote is not None:
        data["quote"] = {
            "channel": quote.channel,
            "ts": quote.ts,
            "author": quote.author,
            "text": truncate(quote.text, QUOTE_KEEP),
        }
    return json.dumps(data)[:METADATA_MAX]


def read_metadata(raw: str) -> tuple[str | None, QuotedMessage | None]:
    """The channel and quoted message a declare modal carries; anything unreadable counts as absent."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    quote = data.get("quote")
    quoted = None
    if isinstance(quote, dict) and all(isinstance(quote.get(k), str) for k in ("channel", "ts", "author", "text")):
        quoted = QuotedMessage(quote["channel"], quote["ts"], quote["author"], quote["text"])
    channel = data.get("channel")
    return (channel if isinstance(channel, str) and channel else None), quoted


def state_value(element: dict[str, Any]) -> str | None:
    """The value a person entered in one input element of a submitted view."""
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = element.get("selected_option") or {}
        return option.get("value") if isinstance(option, dict) else None
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "checkboxes":
        return ",".join(o.get("value", "") for o in element.get("selected_options") or [])
    value = element.get("value")
    return value if isinstance(value, str) else None


def form_values(state: dict[str, Any]) -> dict[str, str | None]:
    """{block_id: value} from view.state.values, one input per block."""
    form: dict[str, str | None] = {}
    for block_id, actions in (state or {}).items():
        for element in (actions or {}).values():
            form[block_id] = state_value(element)
    return form
