"""Errors of the Slack emulator.

    BotError (bot.errors)
    └── EmulatorError          the emulator was asked something impossible (no such button, channel, user)
        └── EmulatorTimeout    a wait_* call ran past its timeout (also a TimeoutError)

`SlackApiFailure` is not part of the tree: it never leaves the emulator, it becomes `{"ok": false, "error": ...}`.
"""

from __future__ import annotations

from typing import Any

from bot.errors import BotError


class EmulatorError(BotError):
    """A driver or inspection call the emulated workspace cannot honour."""


class EmulatorTimeout(EmulatorError, TimeoutError):
    """A condition awaited on the emulator did not come true in time."""


class SlackApiFailure(Exception):
    """A Web API method failed the way Slack fails: HTTP 200 with ok=false and an error code."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body Slack would answer with."""
        return {"ok": False, "error": self.error, **self.extra}
