"""Fault mode seen by the unchanged slack-sdk: 500s, 429s on any method, latency, resets and a refused listener."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import EmulatorError, FaultMode, SlackEmulator
from bot.sandbox.emulator.workspace_seed import DEFAULT_GROUPS

from .conftest import SocketApp

StartApp = Callable[..., Awaitable[SocketApp]]


async def test_error_fault_answers_500_only_on_its_methods(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    await emulator.fault("error", methods=["chat.postMessage"], status=503)
    with pytest.raises(SlackApiError) as info:
        await web.chat_postMessage(channel="#incidents", text="lost")
    assert info.value.response.status_code == 503
    assert info.value.response["error"] == "internal_error"
    assert (await web.auth_test())["ok"]
    await emulator.clear_faults()
    assert (await web.chat_postMessage(channel="#incidents", text="back"))["ok"]
    assert [c.status for c in emulator.calls("chat.postMessage")] == [503, 200]


async def test_ratelimit_fault_covers_methods_the_emulator_does_not_know(
    emulator: SlackEmulator, web: AsyncWebClient
) -> None:
    await emulator.fault("ratelimit", methods=["usergroups.list", "team.info"], retry_after=30)
    for method in ("usergroups.list", "team.info"):
        with pytest.raises(SlackApiError) as info:
            await web.api_call(method)
        assert info.value.response.status_code == 429
        assert info.value.response.headers["Retry-After"] == "30"
        assert info.value.response["error"] == "ratelimited"
    assert (await web.usergroups_users_list(usergroup="S0ONCALL01"))["ok"]
    assert emulator.ratelimited_count == 2 and emulator.faults.injected == 2
    await emulator.clear_faults("ratelimit")
    with pytest.raises(SlackApiError) as unknown:
        await web.api_call("team.info")
    assert unknown.value.response["error"] == "unknown_method"


async def test_latency_fault_holds_calls_until_cleared(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    await emulator.fault("latency", latency=60)
    call = asyncio.create_task(web.auth_test())
    await asyncio.sleep(0.2)
    assert not call.done()
    await emulator.clear_faults("latency")
    assert (await asyncio.wait_for(call, 5))["ok"]


async def test_latency_fault_makes_a_client_timeout_fire(emulator: SlackEmulator) -> None:
    await emulator.fault("latency", methods=["auth.test"], latency=30)
    impatient = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url, timeout=1)
    with pytest.raises(TimeoutError):
        await impatient.auth_test()


async def test_reset_fault_drops_the_connection_without_an_answer(emulator: SlackEmulator) -> None:
    await emulator.fault("reset", methods=["conversations.create"])
    web = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url, retry_handlers=[])
    with pytest.raises(aiohttp.ClientError):
        await web.conversations_create(name="inc-1-reset")
    assert emulator.find_channel("inc-1-reset") is None
    assert [(c.status, c.error) for c in emulator.calls("conversations.create")] == [(0, "connection_reset")]


async def test_refuse_fault_closes_the_listener_then_reopens_on_the_same_port(emulator: SlackEmulator) -> None:
    web = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url, retry_handlers=[])
    await emulator.fault("refuse")
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await web.auth_test()
    assert isinstance(info.value.os_error, ConnectionRefusedError)
    await emulator.clear_faults()
    assert (await web.auth_test())["ok"]


async def test_refuse_fault_with_seconds_ends_on_its_own(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    await emulator.fault("refuse", seconds=0.3)
    await asyncio.sleep(0.6)
    assert (await web.auth_test())["ok"]
    assert emulator.faults.snapshot() == []


async def test_reset_on_socket_mode_drops_sockets_and_handshakes(
    emulator: SlackEmulator, socket_apps: StartApp
) -> None:
    await socket_apps()
    await emulator.wait_for_connections(1)
    await emulator.fault("reset", methods=["apps.connections.open"])
    await emulator.wait_until(lambda: not emulator.connections, 5, "sockets dropped")
    await asyncio.sleep(0.5)  # slack-sdk tries to reconnect and is reset again
    assert emulator.connections == []
    await emulator.clear_faults()
    await emulator.wait_for_connections(1, timeout=10)
    assert emulator.hub.opened_total >= 2  # slack-sdk came back on a new socket


def test_fault_mode_rejects_nonsense() -> None:
    emulator = SlackEmulator()
    with pytest.raises(EmulatorError):
        emulator.faults.add("explode")
    with pytest.raises(EmulatorError):
        emulator.faults.add("refuse", methods=["chat.postMessage"])
    with pytest.raises(EmulatorError):
        emulator.faults.add("error", status=200)


async def test_control_api_switches_faults_on_and_off(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    base = emulator.base_url + "/_emulator/faults"
    async with aiohttp.ClientSession() as session:
        fault = {"kind": "ratelimit", "methods": ["bookmarks.add"], "retry_after": 7}
        async with session.post(base, json=fault) as r:
            body = await r.json()
            assert r.status == 200 and body["fault"]["retry_after"] == 7
        async with session.post(base, json={"kind": "refuse"}) as r:
            assert r.status == 400 and "seconds" in (await r.json())["error"]
        with pytest.raises(SlackApiError) as info:
            await web.bookmarks_add(channel_id="C1", title="t", type="link", link="https://example.com")
        assert info.value.response.headers["Retry-After"] == "7"
        async with session.get(base) as r:
            assert [f["kind"] for f in (await r.json())["faults"]] == ["ratelimit"]
        async with session.delete(base) as r:
            assert (await r.json())["removed"] == 1
    assert emulator.faults.faults == []


async def test_usergroups_list_has_slacks_shape(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    emulator.add_usergroup("dba", ["carol"], description="Databases", channels=["incidents"])
    emulator.add_usergroup("retired", ["dave"], disabled=True)
    plain = (await web.usergroups_list())["usergroups"]
    assert [g["handle"] for g in plain] == [*(g.handle for g in DEFAULT_GROUPS), "dba"]
    assert "users" not in plain[0] and "user_count" not in plain[0]
    dba = plain[-1]
    assert dba["prefs"]["channels"] == [emulator.channel("incidents").id]
    assert dba["is_usergroup"] and dba["team_id"] == emulator.team_id and dba["date_delete"] == 0
    full = (await web.usergroups_list(include_users=True, include_count=True, include_disabled=True))["usergroups"]
    retired = next(g for g in full if g["handle"] == "retired")
    assert retired["users"] == ["U0DAVE0001"] and retired["user_count"] == 1 and retired["date_delete"] > 0
    with pytest.raises(SlackApiError):
        await web.usergroups_users_list(usergroup=retired["id"])
    assert (await web.usergroups_users_list(usergroup=retired["id"], include_disabled=True))["users"] == ["U0DAVE0001"]


def test_faults_end_on_their_own_and_apply_to_their_methods_only() -> None:
    now = [100.0]
    faults = FaultMode(clock=lambda: now[0])
    limited = faults.add("ratelimit", methods=["usergroups.list"], retry_after=30, seconds=60)
    assert faults.active("usergroups.list", "ratelimit") == limited
    assert faults.active("chat.postMessage", "ratelimit") is None
    now[0] += 59.9
    assert faults.snapshot()[0]["seconds_left"] == pytest.approx(0.1)
    now[0] += 0.1
    assert faults.active("usergroups.list", "ratelimit") is None and faults.snapshot() == []
