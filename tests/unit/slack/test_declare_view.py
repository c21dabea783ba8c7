"""The declare modal is valid Block Kit (slack-sdk's own View model) and its metadata and state read back."""

from __future__ import annotations

from slack_sdk.models.views import View

from bot.incidents.declare import QuotedMessage
from bot.incidents.models import Incident
from bot.slack.declare_view import declare_metadata, declare_modal, form_values, read_metadata
from bot.slack.header_controls import header_controls, read_choice

HOSTILE = "$(id) <!channel> {{x}} ${alert.title} " + "y" * 4000


def test_modal_is_valid_with_a_long_hostile_quote() -> None:
    quote = QuotedMessage("C1", "1.2", "U0BOB00001", HOSTILE)
    modal = declare_modal(["api", "checkout"], "prod", "U0ALICE001", "C1", quote)
    View(**modal).validate_json()
    assert len(modal["private_metadata"]) <= 3000
    channel, back = read_metadata(modal["private_metadata"])
    assert channel == "C1" and back is not None and back.author == "U0BOB00001"
    assert back.text.startswith("$(id) <!channel>")


def test_many_services_fall_back_to_typing_the_name() -> None:
    modal = declare_modal([f"s{i}" for i in range(101)], "prod", "U0ALICE001")
    View(**modal).validate_json()
    service = next(b for b in modal["blocks"] if b["block_id"] == "service")
    assert service["element"]["type"] == "plain_text_input"


def test_unreadable_metadata_counts_as_absent() -> None:
    assert read_metadata("not json") == (None, None)
    assert read_metadata('["x"]') == (None, None)
    assert read_metadata(declare_metadata(None, None)) == (None, None)


def test_state_values_of_each_element_kind() -> None:
    state = {
        "title": {"title": {"type": "plain_text_input", "value": "db"}},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "P1"}}},
        "commander": {"commander": {"type": "users_select", "selected_user": None}},
        "visibility": {"visibility": {"type": "radio_buttons", "selected_option": None}},
    }
    assert form_values(state) == {"title": "db", "severity": "P1", "commander": None, "visibility": None}


def test_header_controls_offer_both_menus_until_closed() -> None:
    incident = Incident(id="INC-4", number=4, title="t")
    controls = header_controls(incident)
    assert controls is not None
    assert [e["initial_option"]["value"] for e in controls["elements"]] == ["INC-4|P3", "INC-4|investigating"]
    assert read_choice("INC-4|P1") == ("INC-4", "P1") and read_choice("garbage") == ("", "")
    incident.status = incident.status.CLOSED
    assert header_controls(incident) is None
