"""The shipped library: lints clean, points editors at the schema, and every scenario yields its plan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli.commands.schema import runbook_json_schema
from bot.runbooks.catalog import load_catalog
from bot.runbooks.lint import lint_paths, runbook_files
from bot.runbooks.simulate import load_scenario, mismatches, scenario_alert, simulate

from .conftest import RUNBOOKS

SCENARIOS = sorted((RUNBOOKS / "scenarios").glob("*.yaml"))
REQUIRED = {
    "payment-service-slow", "db-connection-exhaustion", "oom-crashloop", "bad-deploy", "downstream-dependency",
    "tls-cert-expiry", "disk-filling", "elevated-5xx", "demo-checkout-latency",
}  # fmt: skip


def test_every_shipped_runbook_lints_clean_without_warnings() -> None:
    assert [str(p) for p in lint_paths([RUNBOOKS])] == []


def test_library_has_the_common_incident_types_each_with_a_scenario() -> None:
    assert set(load_catalog(RUNBOOKS).runbooks) >= REQUIRED
    covered = {load_scenario(path).expect.runbook for path in SCENARIOS}
    assert covered >= REQUIRED


def test_shipped_runbooks_carry_the_schema_line_and_the_schema_file_is_current() -> None:
    for path in runbook_files([RUNBOOKS]):
        assert path.read_text().startswith("# yaml-language-server: $schema=./runbook.schema.json\n"), path.name
    shipped = json.loads((RUNBOOKS / "runbook.schema.json").read_text())
    assert shipped == runbook_json_schema(), "regenerate: runbookctl schema > runbooks/runbook.schema.json"


def test_demo_runbook_runs_anywhere() -> None:
    demo = load_catalog(RUNBOOKS).get_or_raise("demo-checkout-latency")
    assert {d.type for d in demo.diagnostics} <= {"http_check", "shell_command"}
    assert {r.kind for r in demo.remediations} == {"automated", "manual"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_yields_expected_plan(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.expect.runbook and scenario.expect.steps is not None and scenario.expect.verdicts
    simulation = simulate(load_catalog(RUNBOOKS), scenario_alert(scenario), scenario.diagnostics)
    assert mismatches(simulation, scenario.expect) == []


def test_docs_example_lints_clean(tmp_path: Path) -> None:
    docs = (RUNBOOKS.parent / "docs" / "runbooks.md").read_text()
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.yaml").write_text(example)
    # The example lives beside the shipped runbooks, so it sees their escalation policies.
    shutil.copytree(RUNBOOKS / "escalation", tmp_path / "escalation")
    assert [str(p) for p in lint_paths([tmp_path])] == []
