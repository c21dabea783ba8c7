"""What closing requires, read from CLOSE_REQUIRES, and what an incident lacks of it."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.incidents.closing import POSTMORTEM_LINK, archive_timer_id, missing_for_close, parse_requirements
from bot.incidents.models import Incident
from bot.settings import load_settings


def test_settings_default_to_both_and_normalise() -> None:
    settings = load_settings()
    assert parse_requirements(settings.close_requires) == ("postmortem", "followups")
    assert settings.archive_after_hours == 24.0
    assert load_settings(close_requires="none").close_requires == ""
    assert load_settings(close_requires=" Followups , postmortem ").close_requires == "followups,postmortem"
    assert parse_requirements(load_settings(close_requires="followups").close_requires) == ("followups",)


@pytest.mark.parametrize("value", ["postmortems", "postmortem,review"])
def test_unknown_requirements_are_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(close_requires=value)
    assert raised.value.fields == ["CLOSE_REQUIRES"] and "use postmortem, followups or none" in str(raised.value)


def test_negative_archive_delay_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(archive_after_hours=-1)
    assert raised.value.fields == ["ARCHIVE_AFTER_HOURS"]


def test_missing_lists_only_what_is_required_and_absent() -> None:
    bare = Incident(id="INC-3", number=3, title="t")
    both = ("postmortem", "followups")
    assert missing_for_close(bare, 0, both) == ["postmortem", "followups"]
    assert missing_for_close(bare, 2, both) == ["postmortem"]
    assert missing_for_close(bare, 0, ("followups",)) == ["followups"]
    assert missing_for_close(bare, 0, ()) == []
    drafted = Incident(id="INC-3", number=3, title="t", links={POSTMORTEM_LINK: "https://x.slack.com/docs/T/F1"})
    assert missing_for_close(drafted, 1, both) == []
    assert archive_timer_id("INC-3") == "archive-channel:INC-3"
