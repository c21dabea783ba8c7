"""The one error tree of runbook-bot.

    BotError
    ├── ConfigError             settings missing or invalid at start-up
    ├── InvalidInput            a payload, command or runbook that does not parse
    │   └── RunbookError        a runbook that fails the schema or a semantic check
    ├── NotPermitted            a user or environment the policy refuses
    ├── IllegalTransition       a state change the incident state machine forbids
    ├── ConflictError           a compare-and-set lost against a concurrent writer
    ├── IncidentNotFound        no incident with that id
    ├── StoreError              Redis unreachable or answering with an error
    ├── HookError               a diagnostic or action hook failed
    │   └── HookTimeout         ... by running past its timeout
    └── UpstreamError           an outside service (Slack, Prometheus, a pager) failed

Lower-level exceptions (redis, httpx, asyncpg) are translated where they enter.
"""

from __future__ import annotations

from typing import Any


class BotError(Exception):
    """Root of every error runbook-bot raises on purpose."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigError(BotError):
    """Settings are missing or invalid; `fields` names every offending variable."""

    def __init__(self, message: str, fields: list[str] | None = None, **details: Any) -> None:
        super().__init__(message, fields=fields or [], **details)
        self.fields = fields or []


class InvalidInput(BotError):
    """Input does not parse or validate; `details['fields']` names the fields."""

    def __init__(self, message: str, fields: list[str] | None = None, **details: Any) -> None:
        super().__init__(message, fields=fields or [], **details)
        self.fields = fields or []


class RunbookError(InvalidInput):
    """A runbook fails the schema or a semantic check."""


class NotPermitted(BotError):
    """The policy refuses this user, step or environment."""


class IllegalTransition(BotError):
    """The incident state machine forbids this move."""


class ConflictError(BotError):
    """A compare-and-set lost against a concurrent writer after all retries."""


class IncidentNotFound(BotError):
    """No incident has that id."""


class StoreError(BotError):
    """Redis is unreachable or answered with an error."""


class HookError(BotError):
    """A diagnostic or action hook failed."""


class HookTimeout(HookError):
    """A hook ran past its timeout."""


class UpstreamError(BotError):
    """An outside service (Slack, Prometheus, a pager) failed."""
