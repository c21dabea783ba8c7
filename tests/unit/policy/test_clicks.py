"""A click counts only in its incident's channel or a DM the bot sent for that incident."""

from __future__ import annotations

from bot.policy.clicks import CLICK_RULE, click_allowed, click_refusal_text


def test_click_in_the_incident_channel_or_its_dm_counts() -> None:
    assert click_allowed("C1", ("C1", "C1"), frozenset())
    assert click_allowed("D9", ("C1", ""), frozenset({"D9"}))


def test_click_elsewhere_or_without_a_channel_does_not() -> None:
    assert not click_allowed("C2", ("C1", "C1"), frozenset({"D9"}))
    assert not click_allowed("D8", ("C1", ""), frozenset({"D9"}))
    assert not click_allowed("", ("", ""), frozenset())
    assert CLICK_RULE in click_refusal_text("INC-2") and "INC-2" in click_refusal_text("INC-2")
