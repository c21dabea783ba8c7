"""`/incident` subcommands: a registry you can list; each handler returns the reply text."""

from __future__ import annotations

import inspect
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.errors import InvalidInput

if TYPE_CHECKING:
    from bot.services import BotServices


@dataclass(frozen=True)
class CommandContext:
    """Who typed what, where."""

    user_id: str
    channel_id: str
    args: list[str]
    text: str
    services: BotServices
    flags: dict[str, str] = field(default_factory=dict)
    # The subcommand's name: the action the access policy is asked about.
    name: str = ""
    # Slack's trigger for opening a modal in answer (valid a few seconds, once).
    trigger_id: str = ""


Handler = Callable[[CommandContext], Awaitable[str]]


class BlockReply(str):
    """A reply that carries Block Kit blocks (buttons); the string itself is the fallback text."""

    blocks: list[dict[str, Any]]

    def __new__(cls, text: str, blocks: list[dict[str, Any]]) -> BlockReply:
        reply = super().__new__(cls, text)
        reply.blocks = blocks
        return reply


@dataclass(frozen=True)
class Subcommand:
    """One registered subcommand."""

    name: str
    usage: str
    help: str
    handler: Handler


REGISTRY: dict[str, Subcommand] = {}
# Flags that take no value: present means true.
BOOLEAN_FLAGS = frozenset({"publish"})
# Subcommands whose words are free text (a note): split on spaces only, so quotes and `--` stay as typed.
RAW_TEXT: set[str] = set()
_INCIDENT_ID = re.compile(r"^INC-\d+$", re.IGNORECASE)


def subcommand(name: str, usage: str, help: str) -> Callable[[Handler], Handler]:
    """Register a coroutine as `/incident <name>`."""

    def decorator(handler: Handler) -> Handler:
        if not inspect.iscoroutinefunction(handler):
            raise TypeError(f"/incident {name}: handler must be a coroutine function")
        if name in REGISTRY:
            raise ValueError(f"/incident {name} registered twice")
        REGISTRY[name] = Subcommand(name, usage, help, handler)
        return handler

    return decorator


def parse(text: str) -> tuple[str, list[str], dict[str, str]]:
    """Split '/incident <name> args --flag value' into name, positional args and flags."""
    try:
        words = shlex.split(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"cannot read the command: {exc}", fields=["text"]) from None
    if not words:
        return "help", [], {}
    name, rest = words[0].lower(), words[1:]
    args: list[str] = []
    flags: dict[str, str] = {}
    i = 0
    while i < len(rest):
        word = rest[i]
        if word[2:] in BOOLEAN_FLAGS and word.startswith("--"):
            flags[word[2:]] = "true"
            i += 1
        elif word.startswith("--") and len(word) > 2:
            if i + 1 >= len(rest):
                raise InvalidInput(f"{word} needs a value", fields=[word[2:]])
            flags[word[2:]] = rest[i + 1]
            i += 2
        else:
            args.append(word)
            i += 1
    return name, args, flags


def help_text() -> str:
    """The reply to `/incident help`, built from the registry."""
    lines = ["*`/incident` commands*"]
    lines += [f"• `/incident {c.usage}` — {c.help}" for c in sorted(REGISTRY.values(), key=lambda c: c.name)]
    return "\n".join(lines)


async def dispatch(text: str, user_id: str, channel_id: str, services: BotServices, trigger_id: str = "") -> str:
    """Run the subcommand the text names; unknown names get the help; an empty reply means a modal answered."""
    first = text.strip().split(maxsplit=1)
    if first and first[0].lower() in RAW_TEXT:
        name, args, flags = first[0].lower(), text.split()[1:], dict[str, str]()
    else:
        name, args, flags = parse(text)
    command = REGISTRY.get(name)
    if command is None:
        return f"Unknown command `{name}`.\n" + help_text()
    return await command.handler(CommandContext(user_id, channel_id, args, text, services, flags, name, trigger_id))


def text_after_name(text: str) -> str:
    """What follows the subcommand's name, as typed."""
    parts = text.strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def is_incident_id(word: str) -> bool:
    """Whether a word looks like INC-<n>."""
    return bool(_INCIDENT_ID.match(word))
