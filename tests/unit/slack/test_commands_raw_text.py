"""Free-text subcommands (a note) take their words as typed: quotes and `--` do not reach the flag parser."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.slack import pins  # noqa: F401  (registers `note` as free text)
from bot.slack.commands import RAW_TEXT, parse, text_after_name


def test_note_is_free_text_and_an_unbalanced_quote_is_no_error_for_it() -> None:
    assert "note" in RAW_TEXT
    with pytest.raises(InvalidInput):
        parse("update it's \"down")
    assert text_after_name("note  it's \"down --publish ") == "it's \"down --publish"
    assert text_after_name("note") == ""
