"""Alert text can neither ping the channel nor make links."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.emulator.payloads import slack_escaped
from bot.slack.escape import code_block, escape_keeping_mentions, escape_text, from_slack, split_text, truncate


def test_control_characters_escaped() -> None:
    assert escape_text("<!channel> <https://evil|click> & <@U1>") == (
        "&lt;!channel&gt; &lt;https://evil|click&gt; &amp; &lt;@U1&gt;"
    )


def test_bare_mass_mentions_broken() -> None:
    out = escape_text("hey @channel and @here and @Everyone")
    assert "@channel" not in out and "@here" not in out and "@Everyone" not in out
    assert "channel" in out


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"


def test_code_block_cannot_be_closed_early() -> None:
    block = code_block("x```<!here>", 100)
    assert block.startswith("```") and block.endswith("```")
    assert block[3:-3].count("```") == 0 and "<!here>" not in block


def test_split_text_keeps_lines_and_limits() -> None:
    text = "".join(f"line {n}\n" for n in range(100))
    parts = split_text(text, 50)
    assert "".join(parts) == text
    assert all(len(p) <= 50 for p in parts)
    assert all(p.endswith("\n") for p in parts)
    long_line = "x" * 120
    assert split_text(long_line, 50) == ["x" * 50, "x" * 50, "x" * 20]
    assert split_text("", 10) == [""]


def test_the_edge_in_undoes_slacks_entities_once() -> None:
    assert from_slack("a &amp;&amp; b &lt;!channel&gt;") == "a && b <!channel>"
    # A person who typed the entity itself gets it back as typed, not decoded twice.
    assert from_slack("&amp;lt;") == "&lt;"
    assert from_slack("<@U0ALICE001|alice> plain") == "<@U0ALICE001|alice> plain"


@given(st.text())
def test_in_then_out_is_what_slack_delivered(typed: str) -> None:
    delivered = slack_escaped(typed)
    assert from_slack(delivered) == typed or "<@" in typed or "<#" in typed or "<!subteam" in typed
    # What the bot posts back is escaped exactly once: no `&amp;amp;`, no live `<` from the person.
    out = escape_text(from_slack(delivered))
    assert "<" not in out and ">" not in out


def test_own_mentions_are_kept_and_everything_else_escaped() -> None:
    text = "requested by <@U0ALICE001> for <!subteam^S0ONCALL01> in <#C0123|inc-1> <!channel> & <b>"
    assert escape_keeping_mentions(text) == (
        "requested by <@U0ALICE001> for <!subteam^S0ONCALL01> in <#C0123|inc-1> &lt;!channel&gt; &amp; &lt;b&gt;"
    )
    # A label cannot smuggle a link or a mass mention out of a kept mention.
    assert escape_keeping_mentions("<@U1|<!channel>>") == "&lt;@U1|&lt;!channel&gt;&gt;"
