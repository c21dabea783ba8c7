"""An open modal as HTML for the emulator's web page: its blocks, its inputs as form controls, its errors.

Each input block becomes a `div.block.input` carrying its block id, action id and element type, so the page can
read the person's answers back into the `{block_id: {action_id: value}}` shape `Driver.submit_view` takes.
"""

from __future__ import annotations

import html
import json
from typing import Any

from bot.sandbox.emulator.blocks_html import attr, block_html, option_tags, plain_of, text_html
from bot.sandbox.emulator.mrkdwn_html import Names
from bot.sandbox.emulator.records import View
from bot.sandbox.emulator.state import Workspace

# Text-like inputs and the HTML input type each becomes.
TEXT_INPUTS = {
    "plain_text_input": "text",
    "number_input": "number",
    "url_text_input": "url",
    "email_text_input": "email",
    "datepicker": "date",
    "timepicker": "time",
}
SINGLE_SELECTS = ("static_select", "users_select", "conversations_select", "channels_select")
MULTI_SELECTS = ("multi_static_select", "multi_users_select")


def _initial(element: dict[str, Any]) -> set[str]:
    """The values an element starts with, whatever its type calls them."""
    values: set[str] = set()
    for key in ("initial_user", "initial_conversation", "initial_channel"):
        if element.get(key):
            values.add(str(element[key]))
    if isinstance(element.get("initial_option"), dict):
        values.add(str(element["initial_option"].get("value", "")))
    values.update(str(o.get("value", "")) for o in element.get("initial_options") or [] if isinstance(o, dict))
    values.update(str(u) for u in element.get("initial_users") or [])
    return values


def _choices(ws: Workspace, element: dict[str, Any]) -> dict[str, Any]:
    """A people or channel menu's choices as a static menu's options."""
    kind = str(element.get("type"))
    if kind in ("users_select", "multi_users_select"):
        people = [u for u in ws.users.values() if not u.is_bot and not u.deleted]
        entries = [(u.id, f"{u.real_name or u.name} (@{u.name})") for u in people]
    else:
        rooms = [c for c in ws.channels.values() if not (c.is_im or c.is_mpim or c.is_archived)]
        entries = [(c.id, f"#{c.name}") for c in rooms]
    return {"options": [{"value": value, "text": {"type": "plain_text", "text": label}} for value, label in entries]}


def _control(ws: Workspace, element: dict[str, Any], field: str) -> str:
    kind = str(element.get("type", "plain_text_input"))
    placeholder = plain_of(element.get("placeholder"))
    common = f'id="{attr(field)}" name="{attr(field)}" placeholder="{attr(placeholder)}"'
    if kind == "plain_text_input" and element.get("multiline"):
        limit = f' maxlength="{int(element["max_length"])}"' if element.get("max_length") else ""
        return f'<textarea {common}{limit} rows="4">{html.escape(str(element.get("initial_value", "")))}</textarea>'
    if kind in TEXT_INPUTS:
        initial = element.get("initial_value") or element.get("initial_date") or element.get("initial_time") or ""
        limit = f' maxlength="{int(element["max_length"])}"' if element.get("max_length") else ""
        return f'<input type="{TEXT_INPUTS[kind]}" {common}{limit} value="{attr(initial)}">'
    menu = _choices(ws, element) if kind not in ("static_select", "multi_static_select") else element
    chosen = _initial(element)
    if kind in SINGLE_SELECTS:
        prompt = f'<option value=""{"" if chosen else " selected"}>{html.escape(placeholder or "Select")}</option>'
        return f'<select id="{attr(field)}" name="{attr(field)}">{prompt}{option_tags(menu, chosen)}</select>'
    if kind in MULTI_SELECTS:
        return f'<select multiple id="{attr(field)}" name="{attr(field)}">{option_tags(menu, chosen)}</select>'
    if kind in ("checkboxes", "radio_buttons"):
        box = "checkbox" if kind == "checkboxes" else "radio"
        rows = []
        for option in element.get("options") or []:
            value = str(option.get("value", ""))
            ticked = " checked" if value in chosen else ""
            rows.append(
                f'<label class="choice"><input type="{box}" name="{attr(field)}" value="{attr(value)}"{ticked}> '
                f"{text_html(option.get('text'))}</label>"
            )
        return f'<div class="choices">{"".join(rows)}</div>'
    return f'<span class="element-unsupported">[{html.escape(kind)}: not shown on this page]</span>'


def input_html(ws: Workspace, block: dict[str, Any], error: str | None) -> str:
    """One input block: label (with "optional"), its control, hint and the app's error for it, if any."""
    element = block.get("element") or {}
    block_id = str(block.get("block_id", ""))
    field = f"input-{block_id}"
    optional = ' <span class="optional">(optional)</span>' if block.get("optional") else ""
    hint = f'<div class="hint">{text_html(block.get("hint"))}</div>' if block.get("hint") else ""
    problem = f'<div class="input-error" role="alert">{html.escape(error)}</div>' if error else ""
    attrs = (
        f'data-block-id="{attr(block_id)}" data-action-id="{attr(element.get("action_id", ""))}" '
        f'data-type="{attr(element.get("type", "plain_text_input"))}"'
    )
    label = f'<label for="{attr(field)}">{text_html(block.get("label"))}{optional}</label>'
    classes = "block input" + (" has-error" if error else "")
    return f'<div class="{classes}" {attrs}>{label}{_control(ws, element, field)}{hint}{problem}</div>'


def modal_entry(ws: Workspace, view: View, names: Names) -> dict[str, Any]:
    """The page's record of an open modal: ids, title, button labels, its body as HTML, a version to redraw on."""
    definition = view.definition
    blocks = list(definition.get("blocks") or [])
    body = "".join(
        input_html(ws, b, view.errors.get(str(b.get("block_id", ""))))
        if b.get("type") == "input"
        else block_html(b, names)
        for b in blocks
    )
    has_inputs = any(b.get("type") == "input" for b in blocks)
    return {
        "id": view.id,
        # Redraw only when the app changed the view (update, errors): redrawing would drop what is being typed.
        "version": f"{view.hash}:{json.dumps(view.errors, sort_keys=True)}",
        "title": plain_of(definition.get("title")),
        "submit": plain_of(definition.get("submit")) or ("Submit" if has_inputs else ""),
        "close": plain_of(definition.get("close")) or "Cancel",
        "html": body,
    }


def open_modal(ws: Workspace, viewer: str) -> View | None:
    """The viewer's newest open modal (the top of a pushed stack), or None."""
    found = [v for v in ws.views.values() if v.user_id == viewer and v.type == "modal" and not v.closed]
    return found[-1] if found else None
