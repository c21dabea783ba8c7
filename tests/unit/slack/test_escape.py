"""Alert text can neither ping the channel nor make links."""

from __future__ import annotations

from bot.slack.escape import code_block, escape_text, split_text, truncate


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
