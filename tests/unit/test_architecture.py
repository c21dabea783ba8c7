"""The core stays independent: importing any core module never loads Slack, aiohttp or an edge module.

`lint-imports` (pyproject `[tool.importlinter]`) checks the import statements; this test checks what Python
actually loads, which also catches a package `__init__` that pulls in an edge (importing `bot.intake.batch`
runs `bot/intake/__init__.py` first).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

CORE = ["bot.alerts", "bot.approvals", "bot.engine", "bot.escalation", "bot.incidents", "bot.policy", "bot.runbooks"]
CORE += ["bot.statuspage", "bot.followups", "bot.durable"]
FORBIDDEN = ["aiohttp", "slack_bolt", "slack_sdk", "bot.intake.routes", "bot.sandbox", "bot.slack", "bot.web"]

# Runs in a fresh interpreter: imports the package and every module under it, then lists forbidden modules loaded.
PROBE = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = [sys.argv[1]]
if hasattr(package, "__path__"):
    names += [m.name for m in pkgutil.walk_packages(package.__path__, sys.argv[1] + ".")]
for name in names:
    importlib.import_module(name)
forbidden = json.loads(sys.argv[2])
loaded = sorted({f for f in forbidden for m in sys.modules if m == f or m.startswith(f + ".")})
print(json.dumps({"modules": len(names), "loaded": loaded}))
"""


def probe(package: str, forbidden: list[str]) -> dict[str, object]:
    """Import `package` wholly in a subprocess; returns how many modules it has and which forbidden ones loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, package, json.dumps(forbidden)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("package", CORE)
def test_core_package_loads_no_slack_aiohttp_or_edge(package: str) -> None:
    result = probe(package, FORBIDDEN)
    assert result["modules"] >= 1
    assert result["loaded"] == [], f"{package} loads {result['loaded']}"


def test_the_probe_sees_an_edge() -> None:
    # The check must be able to fail: the composition root loads the edges.
    loaded = set(probe("bot.app", FORBIDDEN)["loaded"])  # type: ignore[arg-type]
    assert {"aiohttp", "slack_bolt", "slack_sdk", "bot.intake.routes", "bot.slack", "bot.web"} <= loaded
