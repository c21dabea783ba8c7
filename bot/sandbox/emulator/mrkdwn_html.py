"""Slack mrkdwn to safe HTML for the emulator's web page: formatting, links, mentions and common emoji."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

# Placeholders are NUL-delimited indexes: html.escape leaves NUL alone and no Slack text contains one.
_SLOT = "\x00{}\x00"
_SLOT_RE = re.compile(r"\x00(\d+)\x00")
_ANGLE = re.compile(r"<([^<>\n]+)>")
_PRE = re.compile(r"```\n?(.*?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
# A marker opens after a non-word character and closes before one, so `latency_sample` inside italics stays.
_STYLES = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^\n]*?\S)~(?![\w~])"), "s"),
)
_EMOJI_RE = re.compile(r":([a-z0-9_+\-]+):")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")

EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "warning": "⚠️",
    "rotating_light": "🚨",
    "fire": "🔥",
    "boom": "💥",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "fast_forward": "⏩",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "ghost": "👻",
    "bell": "🔔",
    "pager": "📟",
    "mag": "🔍",
    "eyes": "👀",
    "wrench": "🔧",
    "hammer_and_wrench": "🛠️",
    "rocket": "🚀",
    "tada": "🎉",
    "memo": "📝",
    "clipboard": "📋",
    "link": "🔗",
    "chart_with_upwards_trend": "📈",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "red_circle": "🔴",
    "white_circle": "⚪",
    "information_source": "\u2139\ufe0f",
    "question": "❓",
    "thumbsup": "👍",
    "+1": "👍",
    "wave": "👋",
    "raised_hand": "✋",
    "lock": "🔒",
    "unlock": "🔓",
    "arrows_counterclockwise": "🔄",
    "leftwards_arrow_with_hook": "↩️",
    "stopwatch": "⏱️",
    "alarm_clock": "⏰",
    "calendar": "📅",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "speech_balloon": "💬",
    "sos": "🆘",
    "zzz": "💤",
    "stop_sign": "🛑",
    "construction": "🚧",
    "package": "📦",
    "robot_face": "🤖",
    "compass": "🧭",
    "large_orange_circle": "🟠",
    "double_vertical_bar": "⏸️",
    "bar_chart": "📊",
    "arrow_right": "➡️",
    "point_right": "👉",
    "pushpin": "📌",
}


@dataclass(frozen=True)
class Names:
    """How ids are shown: the user's name, the channel's name, the user group's handle (None when unknown)."""

    user: Callable[[str], str | None]
    channel: Callable[[str], str | None]
    group: Callable[[str], str | None]


NO_NAMES = Names(lambda _: None, lambda _: None, lambda _: None)


def _text(raw: str) -> str:
    """Slack text arrives with &amp; &lt; &gt; already escaped: decode those three, then escape for HTML."""
    decoded = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return html.escape(decoded, quote=False)


def _mention(kind: str, label: str) -> str:
    return f'<span class="mention mention-{kind}">{html.escape(label)}</span>'


def angle_html(inner: str, names: Names) -> str:
    """One `<…>` token: a link, a user, channel or group mention, or a special mention like `<!here>`."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        name = names.user(target[1:])
        return _mention("user", "@" + (name or label or target[1:]))
    if target.startswith("#"):
        name = names.channel(target[1:])
        return _mention("channel", "#" + (name or label or target[1:]))
    if target.startswith("!subteam^"):
        group_id = target[len("!subteam^") :]
        return _mention("group", (label or "@" + (names.group(group_id) or group_id)).replace("@@", "@"))
    if target.startswith("!"):
        special = target[1:].split("^", 1)[0]
        return _mention("special", label or "@" + special)
    url = target.replace("&amp;", "&")
    if not url.lower().startswith(_SAFE_SCHEMES):
        return _text(f"<{inner}>")
    shown = _text(label) if label else html.escape(url, quote=False)
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{shown}</a>'


def emoji(text: str) -> str:
    """Replace the common `:shortcode:`s with their characters; unknown ones stay as typed."""
    return _EMOJI_RE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def mrkdwn_html(text: str, names: Names = NO_NAMES) -> str:
    """Render Slack mrkdwn as HTML that is safe to insert into the page."""
    slots: list[str] = []

    def keep(fragment: str) -> str:
        slots.append(fragment)
        return _SLOT.format(len(slots) - 1)

    text = text.replace("\x00", "")
    text = _PRE.sub(lambda m: keep(f"<pre>{_text(m.group(1))}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{_text(m.group(1))}</code>"), text)
    text = _ANGLE.sub(lambda m: keep(angle_html(m.group(1), names)), text)
    text = _text(text)
    for pattern, tag in _STYLES:
        text = pattern.sub(f"<{tag}>\\1</{tag}>", text)
    text = emoji(text).replace("\n", "<br>")
    # Slots may hold slots (a mention inside a pre block stays literal text, so one pass is enough).
    return _SLOT_RE.sub(lambda m: slots[int(m.group(1))], text)


def plain_html(text: str, emoji_on: bool = True) -> str:
    """A plain_text object's text as HTML: escaped, emoji expanded when the object asks for it."""
    escaped = html.escape(text, quote=False).replace("\n", "<br>")
    return emoji(escaped) if emoji_on else escaped
