"""Approvers, four-eyes rules, kill switches and trust levels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import InvalidInput, UpstreamError
from bot.incidents.models import Incident
from bot.policy.approvers import ApproverPolicy, EntryKind, parse_entry
from bot.policy.rules import Refusal, kill_switch_refusal, requester_excluded, required_approvals
from bot.policy.trust import Promotion, TrustBook, TrustLevel, append_promotion, level_for, load_promotions
from bot.runbooks.schema import Safety

GROUPS = {"S0ONCALL01": frozenset({"U0ALICE001", "U0BOB00001"}), "@sre": frozenset({"U0DAVE0001"})}


async def members(group: str) -> frozenset[str]:
    if group not in GROUPS:
        raise UpstreamError(f"no_such_subteam {group}")
    return GROUPS[group]


def incident(**fields: object) -> Incident:
    return Incident.model_validate({"id": "INC-1", "number": 1, "title": "t", **fields})


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("U0ALICE001", EntryKind.USER),
        ("S0ONCALL01", EntryKind.GROUP),
        ("@sre", EntryKind.GROUP),
        ("role:oncall", EntryKind.ROLE),
    ],
)
def test_entries_parse(text: str, kind: EntryKind) -> None:
    assert parse_entry(text).kind is kind


@pytest.mark.parametrize("text", ["role:janitor", "alice", "", "#channel"])
def test_bad_entries_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_entry(text)


async def test_users_groups_and_roles() -> None:
    policy = ApproverPolicy.from_strings(["S0ONCALL01", "@sre", "role:commander", "U0EXTRA001"])
    inc = incident(commander="U0CAROL001")
    for user in ("U0ALICE001", "U0DAVE0001", "U0CAROL001", "U0EXTRA001"):
        assert await policy.allows(user, inc, members), user
    assert not await policy.allows("U0NOBODY01", inc, members)


async def test_oncall_role_is_the_responders_or_the_oncall_group() -> None:
    policy = ApproverPolicy.from_strings(["role:oncall"], oncall_group="S0ONCALL01")
    assert await policy.allows("U0BOB00001", incident(), members)
    assert await policy.allows("U0ZED00001", incident(responders=["U0ZED00001"]), members)
    assert not await policy.allows("U0DAVE0001", incident(), members)


async def test_unresolvable_group_grants_nothing_and_empty_policy_grants_all() -> None:
    assert not await ApproverPolicy.from_strings(["S0GONE0001"]).allows("U0ALICE001", incident(), members)
    assert await ApproverPolicy.from_strings([]).allows("U0ANYONE01", incident(), members)


def test_four_eyes_and_irreversible() -> None:
    assert required_approvals(Safety(four_eyes=True)) == 2 and required_approvals(Safety()) == 1
    assert requester_excluded(Safety(irreversible=True)) and requester_excluded(Safety(four_eyes=True))
    assert not requester_excluded(Safety())


def test_kill_switches() -> None:
    assert kill_switch_refusal(True, incident(paused=True)) is Refusal.KILL_SWITCH
    assert kill_switch_refusal(False, incident(paused=True)) is Refusal.PAUSED
    assert kill_switch_refusal(False, incident()) is None


def promo(action: str, env: str, level: TrustLevel, day: int) -> Promotion:
    at = datetime(2026, 1, day, tzinfo=UTC)
    return Promotion(action=action, env=env, level=level, by="alice", at=at, evidence_url="https://e.example/1")


def test_trust_level_exact_env_beats_star_then_newest_wins() -> None:
    promotions = [
        promo("restart", "*", TrustLevel.AUTOMATIC, 1),
        promo("rb/restart", "prod", TrustLevel.SHADOW, 2),
        promo("restart", "prod", TrustLevel.APPROVAL, 3),
    ]
    assert level_for(promotions, "rb", "restart", "prod") is TrustLevel.APPROVAL
    assert level_for(promotions, "rb", "restart", "staging") is TrustLevel.AUTOMATIC
    assert level_for(promotions, "rb", "other", "prod") is TrustLevel.APPROVAL
    assert level_for(promotions[:2], "rb", "restart", "prod") is TrustLevel.SHADOW


def test_promotions_append_to_the_file_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "policy" / "trust.yaml"
    book = TrustBook(path)
    assert book.level("rb", "restart", "prod") is TrustLevel.APPROVAL
    append_promotion(path, promo("rb/restart", "prod", TrustLevel.AUTOMATIC, 1))
    append_promotion(path, promo("flush", "prod", TrustLevel.SHADOW, 2))
    assert [p.action for p in load_promotions(path)] == ["rb/restart", "flush"]
    assert path.read_text().startswith("# Trust promotions")
    assert book.level("rb", "restart", "prod") is TrustLevel.AUTOMATIC


def test_a_broken_trust_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "trust.yaml"
    path.write_text("- action: x\n  env: prod\n  level: yolo\n")
    with pytest.raises(InvalidInput):
        load_promotions(path)
