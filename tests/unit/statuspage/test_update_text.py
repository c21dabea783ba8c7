"""Reading `/incident update [status:] text [--publish]`."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.incidents.updates import parse_status, split_status
from bot.slack.commands import parse
from bot.statuspage.models import PageStatus


@pytest.mark.parametrize(
    ("text", "status", "rest"),
    [
        ("identified: bad deploy", PageStatus.IDENTIFIED, "bad deploy"),
        ("Monitoring : error rate falling", PageStatus.MONITORING, "error rate falling"),
        ("resolved:all good", PageStatus.RESOLVED, "all good"),
        ("rolled back: watching", None, "rolled back: watching"),
        ("identified the cause", None, "identified the cause"),
        ("", None, ""),
    ],
)
def test_a_leading_status_word_is_split_off(text: str, status: PageStatus | None, rest: str) -> None:
    assert split_status(text) == (status, rest)


def test_status_words_are_checked() -> None:
    assert parse_status("Identified") is PageStatus.IDENTIFIED
    assert parse_status(None) is None
    with pytest.raises(InvalidInput, match="investigating, identified, monitoring, resolved"):
        parse_status("fixed")


def test_publish_is_a_flag_without_a_value_wherever_it_stands() -> None:
    assert parse("update identified: text --publish") == ("update", ["identified:", "text"], {"publish": "true"})
    assert parse("update --publish monitoring: x") == ("update", ["monitoring:", "x"], {"publish": "true"})
    # Other flags still take a value.
    assert parse('new "t" --severity P1')[2] == {"severity": "P1"}
    with pytest.raises(InvalidInput, match="--severity needs a value"):
        parse("new t --severity")
