"""Web API arguments as Slack reads them: from the query string, a form or a JSON body, all as one mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.state import Workspace

_TRUE = {"1", "true", "True", "yes"}


class Args:
    """Typed access to a call's arguments; missing or malformed ones raise Slack's error codes."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def text(self, name: str, default: str | None = None) -> str | None:
        """A string argument (numbers and booleans from JSON become strings)."""
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def required(self, name: str, error: str = "invalid_arguments") -> str:
        """A non-empty string argument, else the given Slack error."""
        value = self.text(name)
        if not value:
            raise SlackApiFailure(error)
        return value

    def flag(self, name: str) -> bool:
        """A boolean argument: true, "true" or "1"."""
        value = self.raw.get(name)
        return value is True or (isinstance(value, str) and value in _TRUE)

    def number(self, name: str, default: int) -> int:
        """An integer argument."""
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_arguments") from None

    def json(self, name: str) -> Any:
        """A structured argument sent as JSON or as a JSON string inside a form field."""
        value = self.raw.get(name)
        if isinstance(value, str) and value:
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise SlackApiFailure("invalid_arguments") from None
        return value

    def id_list(self, name: str) -> list[str]:
        """A comma-separated list of ids (or a JSON list)."""
        value = self.raw.get(name)
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in (self.text(name) or "").split(",") if part.strip()]


Handler = Callable[[Workspace, Args], dict[str, Any]]


def paginate(items: list[Any], args: Args, default_limit: int = 100) -> tuple[list[Any], str]:
    """Slice items by `cursor` and `limit` the way cursor pagination works; return the page and next cursor."""
    limit = max(1, min(args.number("limit", default_limit), 1000))
    cursor = args.text("cursor") or ""
    try:
        start = int(cursor.removeprefix("offset:")) if cursor else 0
    except ValueError:
        raise SlackApiFailure("invalid_cursor") from None
    page = items[start : start + limit]
    next_cursor = f"offset:{start + limit}" if start + limit < len(items) else ""
    return page, next_cursor
