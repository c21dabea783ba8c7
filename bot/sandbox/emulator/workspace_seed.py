"""The default workspace: a team, a bot user, a few people, their user groups and two channels to click in."""

from __future__ import annotations

from bot.sandbox.emulator.records import User, UserGroup
from bot.sandbox.emulator.state import Workspace

DEFAULT_TEAM_ID = "T0EMULATOR"
DEFAULT_TEAM_DOMAIN = "runbook-sandbox"
DEFAULT_APP_ID = "A0EMULATOR"
BOT_USER_ID = "U0RUNBOOKB"
BOT_ID = "B0RUNBOOKB"

DEFAULT_USERS = (
    User("U0ALICE001", "alice", "Alice Okafor", "alice@example.com", "Europe/London"),
    User("U0BOB00001", "bob", "Bob Lindqvist", "bob@example.com", "Europe/Stockholm"),
    User("U0CAROL001", "carol", "Carol Tanaka", "carol@example.com", "Asia/Tokyo"),
    User("U0DAVE0001", "dave", "Dave Moreno", "dave@example.com", "America/New_York"),
)
DEFAULT_GROUPS = (
    UserGroup("S0ONCALL01", "oncall", "On-call", ["U0ALICE001", "U0BOB00001"], "Whoever carries the pager"),
    UserGroup("S0SRE00001", "sre", "SRE", ["U0ALICE001", "U0BOB00001", "U0CAROL001"], "Site reliability"),
    # The groups the shipped runbooks name as approvers; carol is in none of them, so she sees the
    # refusal. dave is a DBA who is not on the pager.
    UserGroup("S0PAYMENTS", "payments-oncall", "Payments on call", ["U0ALICE001", "U0BOB00001"], "Payments"),
    UserGroup("S0PLATFORM", "platform-oncall", "Platform on call", ["U0ALICE001", "U0BOB00001"], "Platform"),
    UserGroup("S0DBAONCAL", "dba-oncall", "DBA on call", ["U0ALICE001", "U0DAVE0001"], "Databases"),
)


def add_bot_user(ws: Workspace, name: str = "runbook-bot") -> None:
    """Every workspace has the app's bot user."""
    ws.add_user(User(ws.bot_user_id, name, "Runbook Bot", None, "UTC", is_bot=True))


def seed_default_workspace(ws: Workspace) -> None:
    """People, groups, #general (without the bot) and #incidents (with the bot)."""
    for user in DEFAULT_USERS:
        ws.add_user(User(**vars(user)))
    for group in DEFAULT_GROUPS:
        ws.add_group(UserGroup(group.id, group.handle, group.name, list(group.users), group.description))
    people = [user.id for user in DEFAULT_USERS]
    ws.create_channel("general", people[0], members=people)
    ws.create_channel("incidents", people[0], members=[*people, ws.bot_user_id])
