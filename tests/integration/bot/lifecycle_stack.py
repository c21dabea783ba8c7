"""A bot over the emulator for the lifecycle tests: declarable runbooks and the sandbox's escalation."""

from __future__ import annotations

from pathlib import Path

from bot.incidents.models import Incident
from bot.sandbox.stack import SandboxStack

ROOT = Path(__file__).resolve().parents[3]
DECLARE_RUNBOOKS = ROOT / "tests" / "fixtures" / "declare_runbooks"
SANDBOX_ESCALATION = ROOT / "bot" / "sandbox" / "escalation"
ALICE, BOB, CAROL, DAVE = "U0ALICE001", "U0BOB00001", "U0CAROL001", "U0DAVE0001"
# Shell, mrkdwn and template syntax that must come out as plain text wherever it is shown.
HOSTILE = "$(touch /tmp/x) `id` <!channel> <@U0BOB00001> *bold* {{ 7*7 }} ${alert.title} <https://e.test|click>"


async def wait_incident(stack: SandboxStack, incident_id: str, provisioned: bool = True) -> Incident:
    """The incident once it exists (and, by default, once its channel and header are done)."""
    services = stack.bot.services
    assert services is not None

    async def probe() -> Incident | None:
        found = await services.store.get_incident(incident_id)
        return found if found is not None and (found.provisioned or not provisioned) else None

    for _ in range(200):
        found = await probe()
        if found is not None:
            return found
        await stack.emulator.workspace.wait_changed(0.1)
    raise AssertionError(f"{incident_id} not ready")
