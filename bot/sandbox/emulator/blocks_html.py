"""Block Kit to HTML for the emulator's web page; buttons carry what the page needs to click them."""

from __future__ import annotations

import html
import json
from typing import Any

from bot.sandbox.emulator.mrkdwn_html import NO_NAMES, Names, mrkdwn_html, plain_html

BUTTON_STYLES = ("primary", "danger")


def text_html(obj: Any, names: Names = NO_NAMES) -> str:
    """A composition text object (mrkdwn or plain_text) as HTML; anything else is empty."""
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_html(text, names)
    return plain_html(text, bool(obj.get("emoji", True)))


def attr(value: Any) -> str:
    """A value escaped for an HTML attribute."""
    return html.escape(str(value), quote=True)


def plain_of(obj: Any) -> str:
    """The text of a composition text object; empty for anything else."""
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def confirm_json(confirm: dict[str, Any]) -> str:
    """A confirm dialog as the small JSON the page's dialog shows: title, text, confirm, deny, style."""
    return json.dumps(
        {
            "title": plain_of(confirm.get("title")) or "Are you sure?",
            "text": plain_of(confirm.get("text")),
            "confirm": plain_of(confirm.get("confirm")) or "Yes",
            "deny": plain_of(confirm.get("deny")) or "Cancel",
            "style": confirm.get("style") or "",
        }
    )


def button_html(button: dict[str, Any], block_id: str) -> str:
    """A button: a link when it has a url, else a clickable with action_id, value and its confirm dialog."""
    label = text_html(button.get("text"))
    style = button.get("style")
    classes = "btn" + (f" btn-{style}" if style in BUTTON_STYLES else "")
    if button.get("url"):
        return (
            f'<a class="{classes}" href="{attr(button["url"])}" target="_blank" rel="noopener noreferrer">{label}</a>'
        )
    attrs = [
        f'class="{classes}"',
        'type="button"',
        f'data-action-id="{attr(button.get("action_id", ""))}"',
        f'data-block-id="{attr(block_id)}"',
    ]
    if "value" in button:
        attrs.append(f'data-value="{attr(button["value"])}"')
    if isinstance(button.get("confirm"), dict):
        attrs.append(f'data-confirm="{attr(confirm_json(button["confirm"]))}"')
    return f"<button {' '.join(attrs)}>{label}</button>"


def options_of(element: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """A menu's options as (group label, options): one unlabelled group, or its option_groups."""
    if element.get("option_groups"):
        return [(plain_of(g.get("label")), list(g.get("options") or [])) for g in element["option_groups"]]
    return [("", list(element.get("options") or []))]


def option_tags(element: dict[str, Any], chosen: set[str]) -> str:
    """`<option>`s (in `<optgroup>`s when the menu has groups), those in `chosen` selected."""
    parts = []
    for label, options in options_of(element):
        tags = "".join(
            f'<option value="{attr(o.get("value", ""))}"{" selected" if o.get("value") in chosen else ""}>'
            f"{html.escape(plain_of(o.get('text')))}</option>"
            for o in options
        )
        parts.append(f'<optgroup label="{attr(label)}">{tags}</optgroup>' if label else tags)
    return "".join(parts)


def menu_html(element: dict[str, Any], block_id: str) -> str:
    """A static_select or overflow menu in a message: choosing an option sends it, after its confirm dialog."""
    kind = str(element.get("type"))
    prompt = "⋯" if kind == "overflow" else plain_of(element.get("placeholder")) or "Select"
    initial = (element.get("initial_option") or {}).get("value")
    attrs = [
        f'class="menu menu-{attr(kind)}"',
        f'data-action-id="{attr(element.get("action_id", ""))}"',
        f'data-block-id="{attr(block_id)}"',
        f'aria-label="{attr(prompt)}"',
    ]
    if isinstance(element.get("confirm"), dict):
        attrs.append(f'data-confirm="{attr(confirm_json(element["confirm"]))}"')
    first = f'<option value=""{"" if initial else " selected"} disabled>{html.escape(prompt)}</option>'
    return f"<select {' '.join(attrs)}>{first}{option_tags(element, {initial} if initial else set())}</select>"


def element_html(element: dict[str, Any], block_id: str, names: Names) -> str:
    """An interactive or context element; inputs the page cannot drive are shown disabled."""
    kind = element.get("type")
    if kind == "button":
        return button_html(element, block_id)
    if kind in ("static_select", "overflow"):
        return menu_html(element, block_id)
    if kind == "image":
        return image_link(element)
    if kind in ("mrkdwn", "plain_text"):
        return f'<span class="ctx-text">{text_html(element, names)}</span>'
    placeholder = plain_of(element.get("placeholder")) or str(kind)
    return f'<span class="element-unsupported" title="{attr(kind)}">[{html.escape(placeholder)}]</span>'


def image_link(image: dict[str, Any]) -> str:
    """Images are links (the page works offline): the alt text or title, pointing at the image."""
    url = str(image.get("image_url", ""))
    label = html.escape(str(image.get("alt_text") or plain_of(image.get("title")) or "image"))
    if not url.lower().startswith(("http://", "https://")):
        return f'<span class="image-link">🖼 {label}</span>'
    return f'<a class="image-link" href="{attr(url)}" target="_blank" rel="noopener noreferrer">🖼 {label}</a>'


def _section(block: dict[str, Any], block_id: str, names: Names) -> str:
    parts = []
    if block.get("text"):
        parts.append(f'<div class="section-text">{text_html(block["text"], names)}</div>')
    if block.get("fields"):
        fields = "".join(f'<div class="field">{text_html(f, names)}</div>' for f in block["fields"])
        parts.append(f'<div class="fields">{fields}</div>')
    body = f'<div class="section-body">{"".join(parts)}</div>'
    accessory = block.get("accessory")
    side = f'<div class="accessory">{element_html(accessory, block_id, names)}</div>' if accessory else ""
    return f'<div class="block section">{body}{side}</div>'


def block_html(block: dict[str, Any], names: Names = NO_NAMES) -> str:
    """One block as HTML; unknown block types say so rather than vanish."""
    kind = block.get("type")
    block_id = str(block.get("block_id", ""))
    if kind == "header":
        return f'<div class="block header">{text_html(block.get("text"))}</div>'
    if kind == "section":
        return _section(block, block_id, names)
    if kind == "divider":
        return '<hr class="block divider">'
    if kind == "context":
        inner = "".join(element_html(e, block_id, names) for e in block.get("elements", []))
        return f'<div class="block context">{inner}</div>'
    if kind == "actions":
        inner = "".join(element_html(e, block_id, names) for e in block.get("elements", []))
        return f'<div class="block actions">{inner}</div>'
    if kind == "image":
        return f'<div class="block image">{image_link(block)}</div>'
    return f'<div class="block unsupported">[{html.escape(str(kind))} block]</div>'


def message_html(text: str | None, blocks: list[dict[str, Any]] | None, names: Names = NO_NAMES) -> str:
    """A message body: its blocks when it has any (as Slack shows them), else its text."""
    if blocks:
        return "".join(block_html(b, names) for b in blocks)
    return f'<div class="block section"><div class="section-text">{mrkdwn_html(text or "", names)}</div></div>'
