"""mrkdwn and Block Kit as the emulator's web page shows them: formatting, mentions, safety, every block type."""

from __future__ import annotations

import json
import re

from bot.sandbox.emulator.blocks_html import block_html, message_html
from bot.sandbox.emulator.mrkdwn_html import Names, mrkdwn_html

NAMES = Names(
    user={"U0ALICE001": "alice"}.get,
    channel={"C0INC00001": "inc-1-checkout"}.get,
    group={"S0ONCALL01": "oncall"}.get,
)


def test_bold_italic_strike_and_code() -> None:
    html = mrkdwn_html("*bold* _it_ ~gone~ `x = 1` and ```line 1\n*not bold*```", NAMES)
    assert "<b>bold</b>" in html and "<i>it</i>" in html and "<s>gone</s>" in html
    assert "<code>x = 1</code>" in html
    assert "<pre>line 1\n*not bold*</pre>" in html


def test_markers_inside_words_are_left_alone() -> None:
    assert mrkdwn_html("snake_case_name and 2*3*4") == "snake_case_name and 2*3*4"


def test_mentions_show_names() -> None:
    html = mrkdwn_html("paging <@U0ALICE001> and <!subteam^S0ONCALL01> in <#C0INC00001> <!here>", NAMES)
    assert ">@alice</span>" in html
    assert ">@oncall</span>" in html
    assert ">#inc-1-checkout</span>" in html
    assert ">@here</span>" in html


def test_unknown_ids_fall_back_to_label_or_id() -> None:
    html = mrkdwn_html("<@U0NOBODY> <#C0GONE|old-room> <!subteam^S0X|@dbas>", NAMES)
    assert "@U0NOBODY" in html and "#old-room" in html and "@dbas" in html


def test_links_with_and_without_label() -> None:
    html = mrkdwn_html("<https://grafana.example.com/d/a?x=1&amp;y=2|Dashboard> <https://example.com/raw>")
    assert '<a href="https://grafana.example.com/d/a?x=1&amp;y=2"' in html and ">Dashboard</a>" in html
    assert ">https://example.com/raw</a>" in html


def test_script_and_javascript_links_are_neutralised() -> None:
    html = mrkdwn_html("&lt;script&gt;alert(1)&lt;/script&gt; <script>x</script> <javascript:alert(1)|click>")
    assert "<script" not in html and "javascript:" not in html.replace("&lt;javascript:", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<a" not in html


def test_entities_are_decoded_once_then_escaped_once() -> None:
    assert mrkdwn_html("a &amp;&amp; b &lt;tag&gt;") == "a &amp;&amp; b &lt;tag&gt;"


def test_emoji_shortcodes_and_newlines() -> None:
    html = mrkdwn_html(":white_check_mark: done\n:no_such_emoji: :rotating_light:")
    assert html == "✅ done<br>:no_such_emoji: 🚨"


def test_header_divider_context_and_image() -> None:
    html = message_html(
        None,
        [
            {"type": "header", "text": {"type": "plain_text", "text": "INC-1 <b>"}},
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "*P3*"}, {"type": "plain_text", "text": "x"}]},
            {"type": "image", "image_url": "https://example.com/g.png", "alt_text": "latency graph"},
        ],
    )
    assert '<div class="block header">INC-1 &lt;b&gt;</div>' in html
    assert '<hr class="block divider">' in html
    assert "<b>P3</b>" in html
    assert 'href="https://example.com/g.png"' in html and "latency graph</a>" in html
    assert "<img" not in html  # the page works offline: images are links


def test_section_with_fields_and_button_accessory() -> None:
    block = {
        "type": "section",
        "block_id": "b1",
        "text": {"type": "mrkdwn", "text": "*Storefront*"},
        "fields": [{"type": "mrkdwn", "text": "*Status*\ntriggered"}, {"type": "plain_text", "text": "P3"}],
        "accessory": {
            "type": "button",
            "action_id": "open",
            "value": 'v"1',
            "text": {"type": "plain_text", "text": "Open"},
        },
    }
    html = block_html(block)
    assert html.count('class="field"') == 2 and "<b>Status</b><br>triggered" in html
    assert 'data-action-id="open"' in html and 'data-value="v&quot;1"' in html and 'data-block-id="b1"' in html


def test_buttons_keep_style_and_confirm_dialog() -> None:
    confirm = {
        "title": {"type": "plain_text", "text": "Irreversible step"},
        "text": {"type": "plain_text", "text": "This cannot be undone"},
        "confirm": {"type": "plain_text", "text": "Run it"},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }
    block = {
        "type": "actions",
        "block_id": "plan",
        "elements": [
            {
                "type": "button",
                "action_id": "approve_step",
                "value": "a1",
                "style": "danger",
                "confirm": confirm,
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {"type": "button", "action_id": "skip_step", "value": "a1", "text": {"type": "plain_text", "text": "Skip"}},
            {
                "type": "button",
                "action_id": "runbook",
                "url": "https://example.com/rb",
                "text": {"type": "plain_text", "text": "Runbook"},
            },
        ],
    }
    html = block_html(block)
    assert 'class="btn btn-danger"' in html and '<button class="btn" type="button" data-action-id="skip_step"' in html
    raw = re.search(r'data-confirm="([^"]+)"', html)
    assert raw is not None
    spec = json.loads(raw.group(1).replace("&quot;", '"'))
    assert spec == {
        "title": "Irreversible step",
        "text": "This cannot be undone",
        "confirm": "Run it",
        "deny": "Cancel",
        "style": "danger",
    }
    assert '<a class="btn" href="https://example.com/rb"' in html


def test_text_only_message_and_unknown_block() -> None:
    assert "<b>hi</b>" in message_html("*hi*", None)
    assert "[rich_text block]" in block_html({"type": "rich_text", "elements": []})
    # An element the page cannot drive is shown as its placeholder, not dropped.
    assert "[pick a date]" in block_html(
        {
            "type": "actions",
            "elements": [{"type": "datepicker", "placeholder": {"type": "plain_text", "text": "pick a date"}}],
        }
    )


def test_italics_may_hold_words_with_underscores() -> None:
    html = mrkdwn_html("_why: diagnostics.latency_sample.status == 'warning'_ and *a*b*")
    assert html.startswith("<i>why: diagnostics.latency_sample.status == 'warning'</i>")
    assert html.endswith(" and <b>a*b</b>")
