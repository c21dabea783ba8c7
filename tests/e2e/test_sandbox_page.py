"""The emulator's page in Chromium: fire an alert, see the evidence, approve as one person, be refused as another."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.emulator.alert_panel import AlertScenario
from bot.sandbox.stack import SandboxStack
from tests.conftest import FIXTURES
from tests.e2e.browser import BROWSER_MARKS, WAIT_MS, fire_until_approve, opened_page, playwright_api
from tests.integration.bot.conftest import eventually, sandbox_stacks

RUNBOOKS = FIXTURES / "page_runbooks"

pytestmark = BROWSER_MARKS


def storefront_alert() -> dict[str, Any]:
    """An Alertmanager v4 message for the page-approval runbook; a fresh group each time."""
    run = uuid.uuid4().hex[:6]
    labels = {"alertname": "StorefrontSlow", "service": "storefront", "severity": "warning"}
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "storefront p99 above 1s"},
        "startsAt": "2026-11-23T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.sandbox/graph",
        "fingerprint": f"page-{run}",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="StorefrontSlow", run="{run}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "runbook-bot",
        "groupLabels": {"alertname": "StorefrontSlow"},
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.sandbox",
        "alerts": [alert],
    }


SCENARIOS = [AlertScenario("storefront-slow", "The storefront is slow", "alertmanager", storefront_alert)]


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    async with sandbox_stacks(redis_url, keys.prefix, tmp_path) as start:
        yield await start(RUNBOOKS, shell_allowlist=["echo"], log_format="text", scenarios=lambda: SCENARIOS)


@pytest.fixture
async def page(stack: SandboxStack) -> AsyncIterator[Any]:
    async with opened_page(stack.emulator.page_url, height=900) as opened:
        yield opened


async def fire_and_open_the_plan(page: Any, person: str) -> Any:
    """Act as `person`, fire the scenario, wait for the incident channel's evidence and its Approve button."""
    return await fire_until_approve(
        page, person, "storefront-slow", "#inc-1-storefront", ["Diagnostics: warning", "Storefront p99 sample"]
    )


async def test_an_approver_fires_an_alert_and_approves_the_step(page: Any, stack: SandboxStack, tmp_path: Path) -> None:
    expect = playwright_api.expect
    approve = await fire_and_open_the_plan(page, "alice")
    await page.screenshot(path=tmp_path / "plan.png", full_page=True)
    # The announcement in #incidents came while another channel was open; the diagnostics detail is a thread.
    await expect(page.locator("#channels li.unread", has_text="incidents")).to_have_count(1)
    await expect(page.locator("#messages .thread-count").first).to_have_text("1 reply")
    await approve.click()
    messages = page.locator("#messages")
    await expect(messages).to_contain_text("approved by @alice", timeout=WAIT_MS)
    await expect(messages).to_contain_text("Storefront latency incident INC-1: the team is on it.")
    await expect(messages.locator("button[data-action-id='approve_step']")).to_have_count(0)
    await page.screenshot(path=tmp_path / "approved.png", full_page=True)
    # The page clicked through the driver, as alice, on the stored plan message.
    click = next(d for d in stack.emulator.deliveries if d.type == "interactive")
    assert click.payload["user"]["id"] == "U0ALICE001" and click.payload["actions"][0]["action_id"] == "approve_step"


async def test_a_non_approver_is_refused_and_only_they_see_it(page: Any, stack: SandboxStack, tmp_path: Path) -> None:
    expect = playwright_api.expect
    approve = await fire_and_open_the_plan(page, "carol")
    await approve.click()
    refusal = page.locator(".message.ephemeral")
    await expect(refusal).to_contain_text("not among the approvers", timeout=WAIT_MS)
    await expect(refusal).to_contain_text("Only visible to you")
    await page.screenshot(path=tmp_path / "refused.png", full_page=True)
    await expect(page.locator("#messages button[data-action-id='approve_step']")).to_have_count(1)
    # alice does not see carol's ephemeral, and may still approve.
    await page.select_option("#person", label="alice")
    await expect(page.locator("body")).to_have_attribute("data-viewer", "U0ALICE001")
    await expect(page.locator(".message.ephemeral")).to_have_count(0)
    await expect(page.locator("#messages button[data-action-id='approve_step']")).to_have_count(1)


async def test_slash_commands_and_confirm_dialogs_from_the_page(page: Any, stack: SandboxStack, tmp_path: Path) -> None:
    expect = playwright_api.expect
    await page.select_option("#person", label="bob")
    await expect(page.locator("#channel-name")).to_have_text("#incidents")
    await page.fill("#command", "/incident help")
    await page.press("#command", "Enter")
    help_reply = page.locator(".message.ephemeral")
    await expect(help_reply).to_contain_text("/incident list", timeout=WAIT_MS)
    await page.fill("#command", "looking at it now")
    await page.press("#command", "Enter")
    mine = page.locator(".message", has_text="looking at it now")
    await expect(mine.locator(".author")).to_have_text("Bob Lindqvist", timeout=WAIT_MS)

    web = AsyncWebClient(token=stack.emulator.bot_token, base_url=stack.emulator.api_url)
    confirm = {
        "title": {"type": "plain_text", "text": "Acknowledge the page?"},
        "text": {"type": "plain_text", "text": "This stops the escalation."},
        "confirm": {"type": "plain_text", "text": "Acknowledge"},
        "deny": {"type": "plain_text", "text": "Not yet"},
    }
    button = {
        "type": "button",
        "action_id": "incident_ack",
        "value": "ack:INC-1",
        "style": "danger",
        "confirm": confirm,
        "text": {"type": "plain_text", "text": "Acknowledge"},
    }
    await web.chat_postMessage(
        channel="#incidents", text="old page", blocks=[{"type": "actions", "elements": [button]}]
    )
    old = page.locator("button[data-action-id='incident_ack']")
    await old.click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog).to_contain_text("Acknowledge the page?")
    await expect(dialog).to_contain_text("This stops the escalation.")
    await page.screenshot(path=tmp_path / "confirm.png")
    await page.click("#confirm-deny")
    await expect(dialog).not_to_be_visible()
    assert not [d for d in stack.emulator.deliveries if d.type == "interactive"]  # denied: nothing sent
    await old.click()
    await page.click("#confirm-ok")
    await expect(page.locator(".message.ephemeral").last).to_contain_text("no longer active", timeout=WAIT_MS)
    clicks = [d for d in stack.emulator.deliveries if d.type == "interactive"]
    assert [c.payload["user"]["id"] for c in clicks] == ["U0BOB00001"]


async def test_a_person_picked_while_the_view_loads_is_the_one_who_clicks(page: Any, stack: SandboxStack) -> None:
    expect = playwright_api.expect
    await expect(page.locator("body")).to_have_attribute("data-viewer", "U0ALICE001", timeout=WAIT_MS)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold_the_first_view(route: Any) -> None:
        if not held.is_set():
            held.set()
            await release.wait()
        await route.continue_()

    await page.route("**/_emulator/ui/view*", hold_the_first_view)
    # A view asked for as alice is in flight when carol is picked; its answer must not put alice back.
    await page.evaluate("() => { refresh(); }")
    await asyncio.wait_for(held.wait(), timeout=WAIT_MS / 1000)
    await page.select_option("#person", label="carol")
    release.set()
    await expect(page.locator("body")).to_have_attribute("data-viewer", "U0CAROL001", timeout=WAIT_MS)
    await expect(page.locator("#person")).to_have_value("U0CAROL001")
    await page.fill("#command", "picked while loading")
    await page.press("#command", "Enter")
    mine = page.locator(".message", has_text="picked while loading")
    await expect(mine.locator(".author")).to_have_text("Carol Tanaka", timeout=WAIT_MS)


async def test_a_header_menu_and_a_form_work_from_the_page(page: Any, stack: SandboxStack, tmp_path: Path) -> None:
    expect = playwright_api.expect
    await fire_and_open_the_plan(page, "alice")
    services = stack.bot.services
    assert services is not None
    # The header's severity menu: choosing sends the option, and the bot redraws header and topic.
    severity = page.locator("#messages select.menu[data-action-id='incident_severity']")
    await severity.select_option(label="Severity P1")
    # alice is not in the channel yet (paging is off here): the access policy refuses, and only she sees it.
    refusal = page.locator(".message.ephemeral")
    await expect(refusal).to_contain_text("you may not run severity here", timeout=WAIT_MS)
    incident = await services.store.get_incident_or_raise("INC-1")
    assert incident.severity.value == "P3" and incident.channel_id is not None
    await stack.emulator.driver.join("alice", incident.channel_id)
    await severity.select_option(label="Severity P1")
    await expect(page.locator("#channel-topic")).to_contain_text("P1", timeout=WAIT_MS)
    assert (await services.store.get_incident_or_raise("INC-1")).severity.value == "P1"

    # `/incident update` with no text opens the update form; the bot's errors come back inside it.
    await page.fill("#command", "/incident update")
    await page.press("#command", "Enter")
    form = page.locator("dialog#modal")
    await expect(form.locator("#modal-title")).to_have_text("Status update", timeout=WAIT_MS)
    message = form.locator("textarea")
    await message.fill("   ")
    await page.click("#modal-submit")
    await expect(form.locator(".input-error")).to_contain_text("Write the update.", timeout=WAIT_MS)
    await expect(message).to_have_value("   ")  # what was typed stays to be corrected
    await page.screenshot(path=tmp_path / "form-error.png")
    await message.fill("rolled back v42, errors falling")
    await form.locator("select").select_option("monitoring")
    await page.click("#modal-submit")
    await expect(form).not_to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#messages")).to_contain_text("rolled back v42, errors falling", timeout=WAIT_MS)
    assert (await services.store.get_incident_or_raise("INC-1")).comm_status.value == "monitoring"

    # Cancel closes a form without sending anything.
    await page.fill("#command", "/incident update")
    await page.press("#command", "Enter")
    await expect(form).to_be_visible(timeout=WAIT_MS)
    submissions = len([d for d in stack.emulator.deliveries if d.payload.get("type") == "view_submission"])
    await page.click("#modal-close")
    await expect(form).not_to_be_visible(timeout=WAIT_MS)
    assert not stack.emulator.views("alice", open_only=True)
    assert len([d for d in stack.emulator.deliveries if d.payload.get("type") == "view_submission"]) == submissions


async def test_declaring_an_incident_through_the_form(page: Any, stack: SandboxStack) -> None:
    expect = playwright_api.expect
    services = stack.bot.services
    assert services is not None
    await page.select_option("#person", label="bob")
    await expect(page.locator("body")).to_have_attribute("data-viewer", "U0BOB00001", timeout=WAIT_MS)
    await page.fill("#command", "/incident declare")
    await page.press("#command", "Enter")
    form = page.locator("dialog#modal")
    await expect(form.locator("#modal-title")).to_have_text("Declare an incident", timeout=WAIT_MS)
    # The commander menu starts on the person declaring, as the form's initial_user says.
    commander = form.locator(".block.input[data-type='users_select'] select")
    await expect(commander).to_have_value("U0BOB00001")
    await form.locator(".block.input[data-block-id='title'] input").fill("payments queue <stuck> & growing")
    await form.locator(".block.input[data-type='static_select'] select").first.select_option("P2")
    service = form.locator(".block.input[data-block-id='service'] select, .block.input[data-block-id='service'] input")
    if await service.evaluate("e => e.tagName") == "SELECT":
        await service.select_option(index=1)
    else:
        await service.fill("payments")
    await commander.select_option("U0ALICE001")
    await form.locator("input[type=radio][value='private']").check()
    await page.click("#modal-submit")
    await expect(form).not_to_be_visible(timeout=WAIT_MS)
    # The form closes on the ack; the incident is recorded just after it.
    [declared] = await eventually(services.store.list_open_incidents, timeout=WAIT_MS / 1000)
    assert declared.title == "payments queue <stuck> & growing"  # typed once, stored as typed
    assert (declared.severity.value, declared.commander, declared.private_channel) == ("P2", "U0ALICE001", True)


async def test_the_home_tab_lists_open_incidents_and_declares_from_its_button(page: Any, stack: SandboxStack) -> None:
    expect = playwright_api.expect
    await fire_and_open_the_plan(page, "alice")
    # Opening Home is what makes the app publish it (app_home_opened), for the person looking.
    await page.click("#home-link")
    home = page.locator("#messages .home")
    await expect(home).to_contain_text("Open incidents (1)", timeout=WAIT_MS)
    await expect(home).to_contain_text("INC-1")
    await expect(page.locator("#home-link")).to_have_class("active")
    await home.locator("button[data-action-id='home_declare']").click()
    form = page.locator("dialog#modal")
    await expect(form.locator("#modal-title")).to_have_text("Declare an incident", timeout=WAIT_MS)
    await page.click("#modal-close")
    await expect(form).not_to_be_visible(timeout=WAIT_MS)
    # Another person gets their own Home, published when they look.
    await page.select_option("#person", label="bob")
    await expect(page.locator("body")).to_have_attribute("data-viewer", "U0BOB00001", timeout=WAIT_MS)
    await expect(home).to_contain_text("Open incidents (1)", timeout=WAIT_MS)
    homes = {v.user_id for v in stack.emulator.workspace.views.values() if v.type == "home"}
    assert homes == {"U0ALICE001", "U0BOB00001"}
