"""The Slack side of page deliveries against the emulator: DMs before the channel, late marks, history lookup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import slack_client
from bot.connections import Redis
from bot.escalation.deliveries import Medium, Undeliverable, Waiting, plan_deliveries
from bot.escalation.policy import PageTarget, TargetKind
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.slack.paging import SlackPager

ALICE = "U0ALICE001"
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pager(redis: Redis, keys: Keys) -> AsyncIterator[tuple[SlackPager, SlackEmulator]]:
    async with SlackEmulator() as emulator:
        settings = load_settings(
            slack_api_url=emulator.api_url, slack_bot_token=emulator.bot_token, slack_app_token=emulator.app_token
        )
        gateway = SlackGateway(slack_client(settings))
        await gateway.start()
        try:
            yield SlackPager(gateway, IncidentStore(redis, keys), settings), emulator
        finally:
            await gateway.stop()


async def test_a_dm_goes_out_before_the_channel_exists_and_is_then_found_by_its_reference(
    pager: tuple[SlackPager, SlackEmulator],
) -> None:
    slack, emulator = pager
    incident = await slack.store.create_incident("checkout errors")
    dm, post = plan_deliveries(incident.id, "r1-000", 1, [PageTarget(TargetKind.USER, ALICE)], "level 1", T0)
    assert (dm.medium, post.medium) == (Medium.DM, Medium.POST)
    assert not await slack.already_delivered(post, incident)
    with pytest.raises(Waiting):
        await slack.deliver(post, incident, late=False)  # the channel post waits for the channel
    assert not await slack.already_delivered(dm, incident)
    assert await slack.deliver(dm, incident, late=True) == "sent"
    channel = emulator.dm(ALICE)
    assert channel is not None
    [message] = emulator.messages(channel.id)
    assert "[page r1-000/dm]" in (message.text or "")
    assert "channel is being created" in str(message.blocks) and "*Late*" in str(message.blocks)
    assert await slack.already_delivered(dm, incident)  # a re-claimed job finds it and sends nothing


async def test_the_channel_post_waits_for_the_header_then_follows_it(
    pager: tuple[SlackPager, SlackEmulator],
) -> None:
    slack, emulator = pager
    incident = await slack.store.create_incident("checkout errors")
    _, post = plan_deliveries(incident.id, "r1-000", 1, [PageTarget(TargetKind.USER, ALICE)], "level 1", T0)
    channel, _ = await slack.gateway.create_channel("inc-1-checkout", is_private=False)
    # Provisioning has made the channel but not yet posted the header: the page waits.
    incident = await slack.store.bind_channel(incident.id, channel, "inc-1-checkout")
    with pytest.raises(Waiting, match="header"):
        await slack.deliver(post, incident, late=False)
    assert emulator.messages(channel) == []
    header = await slack.gateway.post_message(channel, "INC-1 header")
    incident = await slack.store.update_incident(incident.id, lambda i: setattr(i, "header_ts", header))
    assert await slack.deliver(post, incident, late=False) == "posted"
    texts = [m.text or "" for m in emulator.messages(channel)]
    assert texts[0] == "INC-1 header" and "[page r1-000/post]" in texts[1]


async def test_a_pager_event_without_a_routing_key_is_undeliverable_not_retried(
    pager: tuple[SlackPager, SlackEmulator],
) -> None:
    slack, _ = pager
    incident = await slack.store.create_incident("checkout errors")
    [event, _post] = plan_deliveries(incident.id, "r1-000", 1, [PageTarget(TargetKind.PAGER, "pagerduty")], "l1", T0)
    with pytest.raises(Undeliverable, match="PAGERDUTY_ROUTING_KEY"):
        await slack.deliver(event, incident, late=False)
