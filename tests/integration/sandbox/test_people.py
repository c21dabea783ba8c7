"""Resolving typed names to people against the emulator: users.list pages, the cache and its TTL, emails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import InvalidInput
from bot.sandbox.emulator import SlackEmulator
from bot.slack.gateway import SlackGateway
from bot.slack.people import PAGE_SIZE, PeopleDirectory, mentioned_user
from tests.manual_clock import ManualMonotonicClock


@pytest.fixture
async def gateway(emulator: SlackEmulator) -> AsyncIterator[SlackGateway]:
    started = SlackGateway(AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url))
    await started.start()
    yield started
    await started.stop()


def list_calls(emulator: SlackEmulator) -> int:
    return len([c for c in emulator.calls() if c.method == "users.list"])


def test_mentions_with_and_without_a_label() -> None:
    assert mentioned_user("<@U0CAROL001>") == "U0CAROL001"
    assert mentioned_user("<@W0CAROL001|carol>") == "W0CAROL001"
    assert mentioned_user("@carol") is None and mentioned_user("<#C123|general>") is None


async def test_handles_names_and_emails_case_insensitively(emulator: SlackEmulator, gateway: SlackGateway) -> None:
    people = PeopleDirectory(gateway, clock=ManualMonotonicClock(1000.0).now)
    assert await people.resolve("@carol") == "U0CAROL001"
    assert await people.resolve("@CAROL") == "U0CAROL001"
    assert await people.resolve("carol tanaka") == "U0CAROL001"
    assert await people.resolve("@Carol Tanaka") == "U0CAROL001"
    assert await people.resolve("<@U0BOB00001|bob>") == "U0BOB00001"
    assert await people.resolve("Dave@Example.com") == "U0DAVE0001"
    with pytest.raises(InvalidInput, match=r"has the email `zed@example\.com`"):
        await people.resolve("zed@example.com")
    with pytest.raises(InvalidInput, match=r"no one in this workspace is called `@runbook-bot`"):
        await people.resolve("@runbook-bot")  # the bot is not a person to hand an incident to


async def test_every_page_is_read_and_the_list_is_cached_until_its_ttl(
    emulator: SlackEmulator, gateway: SlackGateway
) -> None:
    for n in range(PAGE_SIZE + 5):
        emulator.add_user(f"person{n}", real_name=f"Person {n}", id=f"U1PERSON{n:04d}")
    clock = ManualMonotonicClock(1000.0)
    people = PeopleDirectory(gateway, clock=clock.now, ttl_s=300)
    assert await people.resolve(f"@person{PAGE_SIZE + 4}") == f"U1PERSON{PAGE_SIZE + 4:04d}"
    assert list_calls(emulator) == 2  # two pages
    assert await people.resolve("@Person 3") == "U1PERSON0003"
    assert list_calls(emulator) == 2  # cached

    # Someone joins: a miss reloads the list, but only once the cache is old enough to be worth it.
    emulator.add_user("erin", real_name="Erin Park", id="U0ERIN0001")
    with pytest.raises(InvalidInput):
        await people.resolve("@erin")
    assert list_calls(emulator) == 2
    clock.advance(31)
    assert await people.resolve("@erin") == "U0ERIN0001"
    assert list_calls(emulator) == 4
    clock.advance(301)
    await people.resolve("@alice")
    assert list_calls(emulator) == 6


async def test_an_ambiguous_name_names_the_candidates(emulator: SlackEmulator, gateway: SlackGateway) -> None:
    emulator.add_user("carol2", real_name="Carol Tanaka", id="U0CAROL002")
    people = PeopleDirectory(gateway, clock=ManualMonotonicClock(1000.0).now)
    with pytest.raises(InvalidInput, match="could mean <@U0CAROL001>, <@U0CAROL002>"):
        await people.resolve("@carol tanaka")
    assert await people.resolve("@carol2") == "U0CAROL002"
