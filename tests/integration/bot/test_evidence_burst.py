"""The plan leaves right behind the evidence summary; the step details follow in its thread."""

from __future__ import annotations

from bot.sandbox.emulator import Message
from bot.sandbox.stack import SandboxStack
from tests.integration.bot.conftest import ApiServer, alertmanager_payload, post_alert


def texts(message: Message) -> str:
    return (message.text or "") + " " + str(message.blocks or "")


async def test_the_plan_is_posted_before_the_evidence_details(stack: SandboxStack, api_server: ApiServer) -> None:
    emulator = stack.emulator
    payload = alertmanager_payload(health_url=api_server.url + "/health", notify_url=api_server.url + "/notify")
    assert (await post_alert(stack, payload)).status_code == 202

    channel = await emulator.wait_for_channel("inc-1-api-api-latency-high-api", timeout=10)
    await emulator.wait_for_message(channel.id, "Next safe step", timeout=15)
    await stack.bot.services.tasks.join(within=10)  # type: ignore[union-attr]

    posted = emulator.messages(channel.id)  # oldest first, thread replies included
    top = [m for m in posted if m.thread_ts in (None, m.ts)]
    evidence = next(m for m in top if "Diagnostics" in texts(m))
    plan = next(m for m in top if "Next safe step" in texts(m))
    details = [m for m in posted if m.thread_ts == evidence.ts and m.ts != evidence.ts]
    assert details, "the step details are in the evidence's thread"
    order = [m.ts for m in posted]
    # Header, summary and plan are the channel's first three posts: one burst of Slack's per-channel pacing.
    assert [m.ts for m in top[:3]] == [top[0].ts, evidence.ts, plan.ts]
    assert order.index(plan.ts) < min(order.index(d.ts) for d in details)
