"""The draft's "Add follow-up" button and form: valid Block Kit, the incident in the value, the form's checks."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.followups.service import MAX_TEXT
from bot.incidents.models import Incident
from bot.slack.followup_blocks import FollowupAction, draft_blocks
from bot.slack.followup_modal import OWNER_BLOCK, TEXT_BLOCK, check_followup, followup_modal, read_metadata

HOSTILE = "$(id) <!channel> *bold* {{ 7*7 }} ${alert.title}"


def state(text: str | None, owner: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        TEXT_BLOCK: {TEXT_BLOCK: {"type": "plain_text_input", "value": text}},
        OWNER_BLOCK: {OWNER_BLOCK: {"type": "users_select", "selected_user": owner}},
    }
    return values


def test_draft_message_is_valid_and_its_button_names_the_incident() -> None:
    blocks = draft_blocks("Post-mortem draft for INC-7: <https://x.slack.com/docs/T1/F1|open the canvas>", "INC-7")
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None
        parsed.validate_json()
    [button] = blocks[1]["elements"]
    assert (button["action_id"], button["value"]) == (FollowupAction.ADD.value, "INC-7")


def test_form_is_a_valid_view_carrying_incident_and_channel() -> None:
    modal = followup_modal(Incident(id="INC-7", number=7, title=HOSTILE), "C0CHANNEL1")
    View(**modal).validate_json()
    assert read_metadata(modal["private_metadata"]) == ("INC-7", "C0CHANNEL1")
    text = next(b for b in modal["blocks"] if b["block_id"] == TEXT_BLOCK)
    owner = next(b for b in modal["blocks"] if b["block_id"] == OWNER_BLOCK)
    assert text["element"]["max_length"] == MAX_TEXT and not text.get("optional")
    assert owner["optional"] and owner["element"]["type"] == "users_select"
    assert HOSTILE not in json.dumps(modal)  # the title is not shown: nothing to escape


def test_form_checks_text_like_the_flow_and_keeps_it_as_typed() -> None:
    assert check_followup(state(" ")) == (None, {TEXT_BLOCK: "Describe the follow-up."})
    assert check_followup(state(None)) == (None, {TEXT_BLOCK: "Describe the follow-up."})
    assert check_followup(state("x" * (MAX_TEXT + 1)))[1] == {TEXT_BLOCK: f"At most {MAX_TEXT} characters, not 1001."}
    assert check_followup(state(f"  {HOSTILE}\n", "U0BOB00001")) == ((HOSTILE, "U0BOB00001"), {})
    assert check_followup(state("add an alert")) == (("add an alert", None), {})


def test_unreadable_metadata_names_nothing() -> None:
    assert read_metadata("not json") == ("", "")
    assert read_metadata('["INC-1"]') == ("", "")
    assert read_metadata("") == ("", "")
