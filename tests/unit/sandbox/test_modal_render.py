"""Menus in messages and open modals as the emulator's page draws them: controls the page can read back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.incidents.models import Incident
from bot.sandbox.emulator.blocks_html import block_html
from bot.sandbox.emulator.errors import EmulatorError
from bot.sandbox.emulator.modal_html import modal_entry, open_modal
from bot.sandbox.emulator.modals import state_values
from bot.sandbox.emulator.records import View
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.webview import workspace_names
from bot.sandbox.emulator.workspace_seed import BOT_ID, BOT_USER_ID, add_bot_user, seed_default_workspace
from bot.slack.followup_modal import followup_modal
from bot.slack.header_controls import header_controls
from bot.slack.update_modal import update_modal

ALICE = "U0ALICE001"


def workspace() -> Workspace:
    ws = Workspace("T0", "team", "A0", BOT_USER_ID, BOT_ID)
    add_bot_user(ws)
    seed_default_workspace(ws)
    return ws


def opened(ws: Workspace, definition: dict[str, Any], user: str = ALICE, view_id: str = "V1") -> View:
    view = View(view_id, ws.team_id, user, definition, "h1", root_view_id=view_id)
    ws.views[view_id] = view
    return view


def test_the_header_menus_are_selects_that_start_on_the_current_choice() -> None:
    incident = Incident(id="INC-4", number=4, title="checkout down", service="checkout")
    controls = header_controls(incident)
    assert controls is not None
    drawn = block_html(controls)
    menus = re.findall(r'<select class="menu menu-static_select" data-action-id="([a-z_]+)"', drawn)
    assert menus == ["incident_severity", "incident_comm_status"]
    assert f'<option value="INC-4|{incident.severity.value}" selected>' in drawn
    assert drawn.count(" selected") == 2  # one current choice per menu, the prompts not chosen


def test_an_overflow_menu_keeps_its_confirm_dialog_and_escapes_its_options() -> None:
    confirm = {
        "title": {"type": "plain_text", "text": "Sure?"},
        "text": {"type": "plain_text", "text": "It pages people."},
        "confirm": {"type": "plain_text", "text": "Page"},
        "deny": {"type": "plain_text", "text": "No"},
    }
    hostile = {"text": {"type": "plain_text", "text": "<script>x</script>"}, "value": '"><b>'}
    block = {
        "type": "actions",
        "block_id": "b1",
        "elements": [{"type": "overflow", "action_id": "more", "options": [hostile], "confirm": confirm}],
    }
    drawn = block_html(block)
    assert "<script>" not in drawn and "&lt;script&gt;x&lt;/script&gt;" in drawn
    assert 'value="&quot;&gt;&lt;b&gt;"' in drawn
    shown = re.search(r'data-confirm="([^"]*)"', drawn)
    assert shown is not None
    assert json.loads(shown.group(1).replace("&quot;", '"'))["confirm"] == "Page"
    assert '<option value="" selected disabled>⋯</option>' in drawn


def test_the_update_form_becomes_controls_with_what_the_page_reads_back() -> None:
    ws = workspace()
    incident = Incident(id="INC-2", number=2, title="disk full", service="db")
    view = opened(ws, update_modal(incident))
    entry = modal_entry(ws, view, workspace_names(ws))
    assert (entry["id"], entry["title"], entry["submit"], entry["close"]) == (
        "V1",
        "Status update",
        "Post update",
        "Cancel",
    )
    inputs = re.findall(
        r'class="block input" data-block-id="([^"]+)" data-action-id="([^"]+)" data-type="([^"]+)"', entry["html"]
    )
    assert [kind for _, _, kind in inputs] == ["static_select", "plain_text_input", "checkboxes"]
    assert "<textarea" in entry["html"] and 'type="checkbox"' in entry["html"]
    assert f'value="{incident.comm_status.value}" selected' in entry["html"]
    assert "(optional)" in entry["html"]  # the publish box


def test_errors_the_app_returns_show_under_their_input_and_change_the_version() -> None:
    ws = workspace()
    view = opened(ws, update_modal(Incident(id="INC-2", number=2, title="disk full", service="db")))
    before = modal_entry(ws, view, workspace_names(ws))
    message_block = next(b["block_id"] for b in view.definition["blocks"] if b["element"]["type"] == "plain_text_input")
    view.errors = {message_block: "Write the update <now>."}
    after = modal_entry(ws, view, workspace_names(ws))
    assert after["version"] != before["version"]
    assert '<div class="input-error" role="alert">Write the update &lt;now&gt;.</div>' in after["html"]
    assert 'class="block input has-error"' in after["html"]


def test_a_people_menu_lists_the_people_not_the_bot() -> None:
    ws = workspace()
    view = opened(ws, followup_modal(Incident(id="INC-3", number=3, title="t", service="s"), "C123"))
    drawn = modal_entry(ws, view, workspace_names(ws))["html"]
    people = re.findall(r'<option value="(U[A-Z0-9]+)"', drawn)
    assert ALICE in people and BOT_USER_ID not in people
    assert '<option value="" selected>' in drawn  # no owner chosen yet


def test_only_the_viewers_newest_open_modal_is_shown() -> None:
    ws = workspace()
    first = opened(ws, update_modal(Incident(id="INC-2", number=2, title="t", service="s")), view_id="V1")
    opened(ws, update_modal(Incident(id="INC-2", number=2, title="t", service="s")), user="U0BOB00001", view_id="V2")
    assert open_modal(ws, ALICE) is first
    first.closed = True
    assert open_modal(ws, ALICE) is None


def test_answers_become_the_state_slack_sends_with_the_apps_own_options() -> None:
    ws = workspace()
    view = opened(ws, update_modal(Incident(id="INC-2", number=2, title="t", service="s")))
    status, message, publish = (b["block_id"] for b in view.definition["blocks"])
    values = {status: {status: "monitoring"}, message: {message: None}, publish: {publish: ["publish"]}}
    state = state_values(view, values)
    assert state[status][status]["selected_option"]["text"]["text"] == "monitoring"
    assert state[message][message] == {"type": "plain_text_input", "value": None}
    [option] = state[publish][publish]["selected_options"]
    assert option["text"]["text"].startswith("Publish to stakeholders")
    assert state_values(view, {status: {status: None}})[status][status]["selected_option"] is None
    with pytest.raises(EmulatorError, match="no input block"):
        state_values(view, {"nope": "x"})
