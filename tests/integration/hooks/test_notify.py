"""notify to a webhook (real HTTP) and to Slack through an injected sender."""

from __future__ import annotations

import pytest

from bot.errors import HookError, UpstreamError
from hooks.notify import Notify, NotifyConfig
from tests.conftest import Serve
from tests.integration.hooks.conftest import make_ctx
from tests.integration.hooks.fakes import Behaviour, http_targets_app


async def test_webhook_gets_text_and_output_hides_the_path(serve: Serve) -> None:
    behaviour = Behaviour()
    base = await serve(http_targets_app(behaviour))
    config = NotifyConfig(text="db failover started", webhook_url=f"{base}/hook/T0K3N-SECRET")
    out = await Notify().execute(config, make_ctx())
    assert out.ok
    assert behaviour.requests[0]["json"] == {"text": "db failover started"}
    assert "T0K3N-SECRET" not in out.output and "T0K3N-SECRET" not in Notify().describe(config, make_ctx())


async def test_settings_webhook_and_error_status(serve: Serve) -> None:
    base = await serve(http_targets_app(Behaviour(fail_status=500)))
    ctx = make_ctx(notify_webhook_url=f"{base}/hook/abc")
    with pytest.raises(UpstreamError, match="HTTP 500"):
        await Notify().execute(NotifyConfig(text="hi"), ctx)


async def test_slack_channel_through_the_injected_sender() -> None:
    sent: list[tuple[str, str]] = []

    async def post_message(channel: str, text: str) -> None:
        sent.append((channel, text))

    ctx = make_ctx()
    ctx.post_message = post_message
    ctx.channel = "C-INCIDENT"
    await Notify().execute(NotifyConfig(text="to the room"), ctx)
    await Notify().execute(NotifyConfig(text="to ops", channel="#ops"), ctx)
    assert sent == [("C-INCIDENT", "to the room"), ("#ops", "to ops")]
    room, ops = NotifyConfig(text="to the room"), NotifyConfig(text="to ops", channel="#ops")
    assert Notify().describe(room, ctx) == "Post to this incident's channel: 'to the room'. Not undoable."
    assert Notify().describe(ops, ctx) == "Post to Slack channel #ops: 'to ops'. Not undoable."


async def test_slack_without_sender_or_destination() -> None:
    with pytest.raises(HookError, match="post_message"):
        await Notify().execute(NotifyConfig(text="x", channel="#ops"), make_ctx())
    with pytest.raises(HookError, match="nowhere to post"):
        await Notify().execute(NotifyConfig(text="x"), make_ctx())


async def test_sender_failure_is_upstream_error() -> None:
    async def broken(channel: str, text: str) -> None:
        raise ConnectionResetError("socket closed")

    ctx = make_ctx()
    ctx.post_message = broken
    with pytest.raises(UpstreamError, match="socket closed"):
        await Notify().execute(NotifyConfig(text="x", channel="#ops"), ctx)
