"""The roles on the incident header and topic: holders shown, claim buttons only for empty roles of active incidents."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.incidents.models import Incident, Status
from bot.policy.roles_file import DEFAULT_ROLES, RoleDef
from bot.slack.blocks import incident_header
from bot.slack.role_blocks import CLAIM_ACTION, TOPIC_CHARS, parse_claim_value, role_blocks, with_roles

CAROL = "U0CAROL001"


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    # Buttons only: the header's severity and status menus share actions blocks' shape but carry no value.
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return {e["action_id"]: e["value"] for e in elements if e["type"] == "button"}


def test_claim_buttons_for_unfilled_roles_only() -> None:
    incident = Incident(id="INC-7", number=7, title="t", commander="U0ALICE001", roles={"scribe": CAROL})
    blocks = role_blocks(incident)
    assert buttons(blocks) == {f"{CLAIM_ACTION}:communications": "INC-7|communications"}
    assert parse_claim_value("INC-7|communications") == ("INC-7", "communications")
    line = blocks[0]["elements"][0]["text"]
    assert "*Commander* <@U0ALICE001>" in line and f"*Scribe* <@{CAROL}>" in line
    assert "*Communications* _unclaimed_" in line


def test_no_claim_buttons_once_resolved_and_labels_are_escaped() -> None:
    incident = Incident(id="INC-7", number=7, title="t", status=Status.RESOLVED)
    assert buttons(role_blocks(incident)) == {}
    odd = [RoleDef(name="liaison", label="<!channel> & co")]
    line = role_blocks(incident, odd)[0]["elements"][0]["text"]
    assert "&lt;!channel&gt; &amp; co" in line and "<!channel>" not in line


def test_the_header_with_roles_is_valid_block_kit() -> None:
    incident = Incident(id="INC-7", number=7, title="checkout <!here>")
    blocks = incident_header(incident, None, DEFAULT_ROLES)
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    assert len(buttons(blocks)) == 3


def test_topic_lists_holders_in_whole_parts_within_slacks_limit() -> None:
    incident = Incident(id="INC-7", number=7, title="t", roles={"scribe": CAROL, "communications": "U0BOB00001"})
    assert (
        with_roles("P1 · triggered", incident) == f"P1 · triggered · communications: <@U0BOB00001> · scribe: <@{CAROL}>"
    )
    long = "x" * (TOPIC_CHARS - 20)
    topic = with_roles(long, incident)
    assert len(topic) <= TOPIC_CHARS and topic == long  # no part cut in half
