"""The page's alert panel: named scenarios whose alerts the emulator POSTs to the bot's real webhook."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.sandbox.emulator.errors import EmulatorError

FIRE_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class AlertScenario:
    """One alert the panel can fire: its name, a line saying what it shows, the intake source and a payload."""

    name: str
    title: str
    source: str
    payload: Callable[[], dict[str, Any]]


@dataclass
class AlertPanel:
    """Where the bot's webhook is, its token, and the function that lists the scenarios (read on every use)."""

    webhook_url: str
    token: str
    scenarios: Callable[[], Sequence[AlertScenario]]

    def listing(self) -> list[dict[str, str]]:
        """Name, title and source of every scenario, for the page."""
        return [{"name": s.name, "title": s.title, "source": s.source} for s in self.scenarios()]

    def scenario_or_raise(self, name: str) -> AlertScenario:
        """The scenario by name; EmulatorError naming the known ones."""
        found = next((s for s in self.scenarios() if s.name == name), None)
        if found is None:
            raise EmulatorError(f"no scenario {name!r}", known=[s.name for s in self.scenarios()])
        return found

    async def fire(self, name: str) -> tuple[int, Any]:
        """POST the scenario's alert to `<webhook_url>/alerts/<source>` with the bearer token; status and body."""
        scenario = self.scenario_or_raise(name)
        url = f"{self.webhook_url.rstrip('/')}/alerts/{scenario.source}"
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        timeout = aiohttp.ClientTimeout(total=FIRE_TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, data=json.dumps(scenario.payload()), headers=headers) as response,
            ):
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise EmulatorError(f"the bot's webhook {url} did not answer: {exc!r}") from exc
        try:
            body: Any = json.loads(text)
        except json.JSONDecodeError:
            body = text
        return response.status, body
