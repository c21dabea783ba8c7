"""The execution drill: a runbook whose approved steps run `sleep` for a while, and alerts that open it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from bot.approvals.executions import ExecutionStore
from bot.sandbox.emulator import Message, SlackEmulator

EXEC_RUNBOOKS = Path(__file__).resolve().parents[2] / "fixtures" / "exec_runbooks"
ALLOWLIST = ["sleep", "true"]


def exec_alert(scenario: str) -> dict[str, Any]:
    """One ExecDrill alert (Alertmanager v4); `scenario` picks the step: long (10 s), stuck (60 s, cut at 5 s)."""
    labels = {"alertname": "ExecDrill", "service": "api", "severity": "critical", "scenario": scenario, "env": "prod"}
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"exec drill {scenario}"},
        "startsAt": "2026-11-23T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"fp-exec-{scenario}",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="ExecDrill", group="{scenario}"}}',
        "status": "firing",
        "receiver": "runbook-bot",
        "groupLabels": {"alertname": "ExecDrill", "group": scenario},
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.example",
        "alerts": [alert],
    }


async def open_exec_drill(
    emulator: SlackEmulator, webhook_url: str, token: str, scenario: str, within: float = 20.0
) -> tuple[str, Message]:
    """Fire the alert at the bot; returns the incident channel and the plan message with its Approve button."""
    async with httpx.AsyncClient(base_url=webhook_url) as client:
        response = await client.post(
            "/alerts/alertmanager",
            content=json.dumps(exec_alert(scenario)),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    assert response.status_code == 202, response.text
    channel = await emulator.wait_until(
        lambda: next((c for c in emulator.channels() if c.name.startswith("inc-")), None), within, "channel"
    )
    plan = await emulator.wait_for_message(channel.id, "Next safe step", timeout=within)
    return channel.id, plan


def messages_with(emulator: SlackEmulator, channel: str, needle: str) -> list[Message]:
    """Messages of the channel whose text or blocks contain `needle`."""
    return [m for m in emulator.messages(channel) if needle in (m.text or "") + json.dumps(m.blocks or [])]


def now() -> float:
    """Wall-clock epoch seconds (what the bot's records hold)."""
    return time.time()


async def recorded_group(executions: ExecutionStore, incident_id: str, approval_id: str, within: float = 10.0) -> int:
    """The process group id the running step recorded (polling its execution record)."""
    for _ in range(int(within / 0.05)):
        record = await executions.get(incident_id, approval_id)
        if record is not None and record.group is not None:
            return record.group.pid
        await asyncio.sleep(0.05)
    raise AssertionError(f"no process group recorded for {approval_id} within {within}s")
