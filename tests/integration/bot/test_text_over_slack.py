"""What people read, over the emulator: text escaped exactly once, people named as they type them, plain wording."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.sandbox.emulator import Message
from bot.sandbox.stack import SandboxStack
from tests.conftest import Serve
from tests.integration.bot.conftest import (
    RUNBOOKS,
    WITH_HOOKS,
    WITH_ON_CALL,
    ApiServer,
    StartStack,
    command,
    open_incident,
    start_with_pager,
)
from tests.integration.bot.lifecycle_stack import ALICE, BOB, CAROL

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

TITLED = "inc-1-api-p99-2s-rising"  # the channel of an alert titled "p99 <2s> & rising"


@pytest.fixture
async def stack(start_stack: StartStack) -> SandboxStack:
    """The bot with the sandbox's escalation (alice on call, paged at once) and the API latency runbook."""
    return await start_stack(RUNBOOKS, **WITH_ON_CALL, **WITH_HOOKS)


def section_texts(message: Message) -> list[str]:
    return [str(b["text"]["text"]) for b in message.blocks or [] if b.get("type") == "section" and "text" in b]


async def test_the_emulator_delivers_typed_text_escaped_like_slack(stack: SandboxStack) -> None:
    await open_incident(stack, "text")
    delivery = await stack.emulator.driver.slash_command("alice", "general", f"update INC-1 a && b <!channel> <@{BOB}>")
    await delivery.acked()
    # `&`, `<`, `>` arrive as entities; a mention picked from Slack's autocomplete arrives as a token.
    assert delivery.payload["text"] == f"update INC-1 a &amp;&amp; b &lt;!channel&gt; <@{BOB}>"
    # The stack stops only once the bot has handled the command, never with its Slack calls still queued.
    await stack.emulator.wait_for_ephemeral("alice", "Update recorded on INC-1", 10)


async def test_an_update_is_stored_as_typed_and_shown_escaped_once(stack: SandboxStack) -> None:
    channel = await open_incident(stack, "text")
    await command(stack, "alice", channel, "update a && b <!channel>", "Update recorded on INC-1")

    posted = await stack.emulator.wait_for_message(channel, "Status update", timeout=5)
    # Slack renders this as "a && b <!channel>": no double escape, and the typed <!channel> cannot ping.
    assert posted.text == f":memo: *Status update* (investigating) from <@{ALICE}>: a &amp;&amp; b &lt;!channel&gt;"
    services = stack.bot.services
    assert services is not None
    notes = [e.summary for e in await services.store.read_timeline("INC-1") if e.data.get("kind") == "status_update"]
    assert notes == ["a && b <!channel>"]

    await command(
        stack, "alice", channel, f"update ask <@{BOB}> & <http://127.0.0.1:9/x|here>", "Update recorded on INC-1"
    )
    second = await stack.emulator.wait_for_message(channel, "ask", timeout=5)
    assert (second.text or "").endswith(f": ask <@{BOB}> &amp; &lt;http://127.0.0.1:9/x|here&gt;")

    timeline = await command(stack, "alice", channel, "timeline", "INC-1 timeline")
    assert "note: a &amp;&amp; b &lt;!channel&gt;" in timeline and "&amp;amp;" not in timeline
    assert "opened: opened:" not in timeline and "opened: API latency high (text)" in timeline


async def test_the_commander_is_named_as_people_type_names(stack: SandboxStack) -> None:
    channel = await open_incident(stack, "text")
    services = stack.bot.services
    assert services is not None

    # Plain text as Slack sends it with should_escape: false; alice (paged, on call) takes the open incident.
    reply = await command(stack, "alice", channel, "commander @alice", "is now commander")
    assert reply == f"<@{ALICE}> is now commander of INC-1."
    await command(stack, "alice", "general", "commander @Carol Tanaka INC-1", f"<@{CAROL}> is now commander")
    assert (await services.store.get_incident_or_raise("INC-1")).commander == CAROL
    await command(stack, "carol", channel, "commander bob@example.com", f"<@{BOB}> is now commander")
    await command(stack, "bob", channel, f"commander <@{ALICE}|alice>", f"<@{ALICE}> is now commander")
    assert (await services.store.get_incident_or_raise("INC-1")).commander == ALICE

    refused = await command(stack, "alice", channel, "commander @zed", "no one in this workspace")
    assert refused == (
        ":warning: no one in this workspace is called `@zed`: use their @handle, display name, full name or email"
    )
    assert (await services.store.get_incident_or_raise("INC-1")).commander == ALICE
    calls = [c.method for c in stack.emulator.calls() if c.method == "users.list"]
    assert calls, "names were looked up with users.list"


async def test_the_page_shows_the_title_escaped_once(stack: SandboxStack) -> None:
    channel = await open_incident(stack, "text", title="p99 <2s> & rising", channel=TITLED)
    page = await stack.emulator.wait_for_message(channel, f"Paging* <@{ALICE}>", timeout=5)
    [text] = section_texts(page)[:1]
    assert "p99 &lt;2s&gt; &amp; rising" in text and "&amp;lt;" not in text and "&amp;amp;" not in text


async def test_evidence_says_what_each_check_saw_and_risk_matches_what_runs(
    stack: SandboxStack, api_server: ApiServer
) -> None:
    api_server.status = 503
    channel = await open_incident(
        stack, "text", health_url=f"{api_server.url}/health", notify_url=f"{api_server.url}/notify"
    )
    evidence = await stack.emulator.wait_for_message(channel, "diagnostics", timeout=15)
    lines = "\n".join(section_texts(evidence))
    assert "*API health endpoint* — critical · HTTP 503 in " in lines
    assert "*Latency sample* — warning · exit 0 · `p99 2300ms`" in lines
    assert "value `0`" not in lines

    plan = await stack.emulator.wait_for_message(channel, "Next safe step", timeout=15)
    step = next(t for t in section_texts(plan) if "Tell the API team" in t)
    # The notify hook says its post is not undoable and the step declares no rollback: not "reversible".
    assert "Not undoable" in step and "risk: no rollback" in step and "reversible" not in step


async def test_oncall_shows_now_and_next_with_the_hand_off(stack: SandboxStack) -> None:
    await (await stack.emulator.driver.slash_command("dave", "general", "api", command="/oncall")).acked()
    reply = await stack.emulator.wait_for_ephemeral("dave", "On call for api", timeout=5)
    lines = (reply.text or "").splitlines()
    assert lines[1].startswith(f"• `api-primary`: now <@{ALICE}> · next <@{ALICE}> again from ")
    assert lines[1].endswith(" 00:00 UTC (nobody else in this rotation)")
    assert lines[2].startswith(f"• `api-secondary`: now <@{BOB}> · next <@{BOB}> again from ")


async def test_a_failed_pager_answer_is_shown_escaped(start_stack: StartStack, serve: Serve) -> None:
    async def enqueue(request: web.Request) -> web.Response:
        return web.Response(status=400, text="<!channel> bad & key", content_type="text/plain")

    started = await start_with_pager(start_stack, serve, enqueue)
    channel = await open_incident(started, "text")
    note = await started.emulator.wait_for_message(channel, ":warning: pagerduty page", timeout=10)
    assert (note.text or "").endswith(": &lt;!channel&gt; bad &amp; key")
