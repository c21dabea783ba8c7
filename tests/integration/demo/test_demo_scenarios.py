"""The sandbox demo end to end: a scenario's alert, evidence, an approval by the seeded group, a real fix of the
demo service, the diagnostics again, the resolved alert and the post-mortem."""

from __future__ import annotations

import httpx
import pytest

from bot.sandbox.demo import demo_scenarios
from bot.sandbox.demo_service import FAULTS, HEALTHY
from bot.sandbox.drill import Drill, approve_buttons
from bot.sandbox.session import SANDBOX_APPROVAL_LIFETIME_S, DemoSandbox
from tests.integration.demo.conftest import fire, wait_resolved

pytestmark = pytest.mark.slow


def test_the_page_and_the_drill_share_one_scenario_list() -> None:
    names = [s.name for s in demo_scenarios("http://127.0.0.1:1/")]
    assert names == ["checkout-latency"]
    from bot.sandbox.demo_service import DemoService

    names = [s.name for s in demo_scenarios("http://127.0.0.1:1/", DemoService())]
    assert names == ["checkout-latency", *FAULTS]


async def test_db_pool_exhausted_from_alert_to_post_mortem(demo: DemoSandbox) -> None:
    emulator = demo.stack.emulator
    incident, channel = await fire(demo, "db-pool-exhausted")
    assert demo.service.fault == "db-pool-exhausted"
    evidence = await emulator.wait_for_message(channel.id, "Diagnostics", timeout=15)
    assert "critical" in (evidence.text or "") + str(evidence.blocks)
    await emulator.wait_until(lambda: approve_buttons(emulator.messages(channel.id)) or None, 15, "the plan")
    (plan_message, approval_id), *_ = approve_buttons(emulator.messages(channel.id))
    services = demo.stack.bot.services
    assert services is not None and services.approvals is not None
    approval = await services.approvals.store.find(approval_id)
    assert approval is not None and approval.step_id == "recycle_pool" and approval.approvers == ["@dba-oncall"]
    # The sandbox gives people 15 minutes to read and click.
    assert approval.expires_at - approval.created_at == pytest.approx(SANDBOX_APPROVAL_LIFETIME_S)

    # carol is in no on-call group: refused, and told which group may approve.
    await emulator.driver.click_button("carol", channel.id, plan_message.ts, "approve_step", approval_id)
    refusal = await emulator.wait_for_ephemeral("U0CAROL001", "approvers", timeout=10)
    assert "@dba-oncall" in (refusal.text or "")
    assert demo.service.fault == "db-pool-exhausted"

    # dave is in the seeded @dba-oncall group: his click runs the real admin call that fixes the service.
    await emulator.driver.click_button("dave", channel.id, plan_message.ts, "approve_step", approval_id)
    await emulator.wait_until(lambda: demo.service.fault == HEALTHY or None, 15, "the fix")
    after = await emulator.wait_for_message(channel.id, "before/after", timeout=15)
    assert "healthy" in str(after.blocks)

    await wait_resolved(demo, incident)

    await emulator.driver.slash_command("alice", "incidents", f"postmortem {incident}")
    await emulator.wait_for_message(channel.id, "Post-mortem draft for", timeout=10)
    # The draft is the channel's canvas: it names the step that ran and the incident's resolution.
    canvas = emulator.workspace.documents.channel_canvas(channel.id)
    assert canvas is not None
    assert "Recycle the shop's database pool: succeeded" in canvas.markdown
    assert "| Status | resolved |" in canvas.markdown and "diagnostics: healthy" in canvas.markdown


@pytest.mark.parametrize("scenario", ["latency-spike", "error-burst", "bad-deploy"])
async def test_every_other_scenario_is_fixed_by_its_runbook(demo: DemoSandbox, scenario: str) -> None:
    report = await Drill(demo, timeout_s=30).run(scenario)
    assert report.steps_offered == report.plan and len(report.plan) == 1
    assert report.steps_run == {report.plan[0]: "succeeded"}
    assert report.resolved and demo.service.fault == HEALTHY


async def test_the_demo_service_only_heals_with_the_matching_fix(demo: DemoSandbox) -> None:
    async with httpx.AsyncClient(base_url=demo.service.url) as client:
        assert (await client.post("/admin/scenario/db-pool-exhausted")).status_code == 200
        assert (await client.get("/health")).status_code == 503
        wrong = (await client.post("/admin/workers/restart")).json()
        assert wrong["fixed"] is False and wrong["fault"] == "db-pool-exhausted"
        right = (await client.post("/admin/db-pool/recycle")).json()
        assert right["fixed"] is True and (await client.get("/health")).status_code == 200
        assert (await client.post("/admin/scenario/nope")).status_code == 404
