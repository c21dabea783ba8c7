"""Modal submissions: turning a test's values into view state, and applying the app's response_action."""

from __future__ import annotations

import secrets
from typing import Any

from bot.sandbox.emulator.errors import EmulatorError, SlackApiFailure
from bot.sandbox.emulator.records import View
from bot.sandbox.emulator.state import Workspace, random_id
from bot.sandbox.emulator.validation import VIEW_BLOCKS_MAX, blocks_problem, with_block_ids


def _inputs(view: View) -> dict[str, dict[str, Any]]:
    blocks = view.definition.get("blocks") or []
    return {b["block_id"]: b.get("element", {}) for b in blocks if b.get("type") == "input" and "block_id" in b}


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The element's own option object for `value` (as Slack sends it back), else one made from the value."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += list(group.get("options") or [])
    found = next((o for o in options if o.get("value") == value), None)
    return found if found is not None else {"text": {"type": "plain_text", "text": str(value)}, "value": value}


def _state_value(element: dict[str, Any], value: Any) -> dict[str, Any]:
    kind = element.get("type", "plain_text_input")
    if isinstance(value, dict) and "type" in value:
        return value
    if kind in ("static_select", "radio_buttons", "external_select"):
        # Nothing chosen: Slack sends the key with null.
        return {"type": kind, "selected_option": None if value is None else _option(element, value)}
    if kind in ("checkboxes", "multi_static_select"):
        return {"type": kind, "selected_options": [_option(element, v) for v in value or []]}
    single = {
        "users_select": "selected_user",
        "conversations_select": "selected_conversation",
        "channels_select": "selected_channel",
        "datepicker": "selected_date",
        "timepicker": "selected_time",
    }
    if kind in single:
        return {"type": kind, single[kind]: value}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": list(value or [])}
    return {"type": kind, "value": value}


def state_values(view: View, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Build view.state.values from {block_id: value} or {block_id: {action_id: value}}; unknown inputs raise."""
    inputs = _inputs(view)
    state: dict[str, dict[str, Any]] = {}
    for block_id, given in values.items():
        element = inputs.get(block_id)
        if element is None:
            raise EmulatorError(f"view {view.id} has no input block {block_id!r}", inputs=sorted(inputs))
        action_id = element.get("action_id", "")
        if isinstance(given, dict) and "type" not in given:
            if set(given) != {action_id}:
                raise EmulatorError(f"input {block_id!r} has action_id {action_id!r}, not {sorted(given)}")
            given = given[action_id]
        state[block_id] = {action_id: _state_value(element, given)}
    return state


def _checked_definition(definition: Any) -> dict[str, Any]:
    if not isinstance(definition, dict):
        raise SlackApiFailure("invalid_arguments")
    problem = blocks_problem(list(definition.get("blocks") or []), limit=VIEW_BLOCKS_MAX)
    if problem:
        raise SlackApiFailure("invalid_arguments", response_metadata={"messages": [problem]})
    return {**definition, "blocks": with_block_ids(list(definition.get("blocks") or []))}


def apply_response_action(ws: Workspace, view: View, payload: dict[str, Any] | None) -> None:
    """What Slack does after a view_submission ack: close, show errors, update, push or clear."""
    action = (payload or {}).get("response_action")
    if action is None:
        view.closed = True
        view.errors = {}
    elif action == "errors":
        view.errors = dict((payload or {}).get("errors") or {})
    elif action == "update":
        view.history.append(view.definition)
        view.definition = _checked_definition((payload or {}).get("view"))
        view.hash, view.errors = secrets.token_hex(8), {}
    elif action == "push":
        pushed_id = random_id("V")
        definition = _checked_definition((payload or {}).get("view"))
        pushed = View(pushed_id, ws.team_id, view.user_id, definition, secrets.token_hex(8), view.root_view_id, view.id)
        ws.views[pushed_id] = pushed
    elif action == "clear":
        for other in ws.views.values():
            if other.root_view_id == view.root_view_id:
                other.closed = True
    else:
        raise SlackApiFailure("invalid_response_action")
