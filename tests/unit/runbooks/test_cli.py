"""runbookctl lint, schema and simulate."""

from __future__ import annotations

import json

import pytest

from bot.cli import main

from .conftest import FIXTURES, RUNBOOKS


def test_lint_clean_library_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(RUNBOOKS)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().err


def test_lint_errors_exit_one_with_file_line_column(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "broken" / "unknown-hook.yaml"
    assert main(["lint", str(path)]) == 1
    assert f"{path}:11:11: error: unknown diagnostic hook type 'no_such_hook'" in capsys.readouterr().out


def test_lint_warnings_only_pass_unless_strict() -> None:
    path = str(FIXTURES / "broken" / "unreachable.yaml")
    assert main(["lint", path]) == 0
    assert main(["lint", "--strict", path]) == 1


def test_lint_json_and_github_formats(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "broken" / "unknown-step.yaml")
    main(["lint", "--format", "json", path])
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["line"] == 22 and rows[0]["level"] == "error" and rows[0]["code"] == "unknown-step"
    main(["lint", "--format", "github", path])
    assert capsys.readouterr().out.startswith(f"::error file={path},line=22,col=9,title=runbook unknown-step::")


def test_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False and "triggers" in schema["required"]


def test_simulate_scenario_prints_plan(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = RUNBOOKS / "scenarios" / "payment-service-slow.pool-exhausted.yaml"
    assert main(["simulate", "--runbooks", str(RUNBOOKS), "--scenario", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "runbook   payment-service-slow" in out
    assert "FIRED  pool_exhausted" in out and "1. kill_idle_connections" in out
    assert "needs approval by @payments-oncall (trust: approval); guards: irreversible, at most 2 per hour" in out
    # The live bot asks a person to approve the page too (default trust level): simulate says the same.
    assert "because last_resort; needs approval by anyone (trust: approval)" in out
    assert "guards: none" not in out


def test_simulate_alertmanager_payload_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    payload = FIXTURES / "payloads" / "alertmanager-payment.json"
    assert main(["simulate", "--runbooks", str(RUNBOOKS), "--alert", str(payload)]) == 0
    out = capsys.readouterr().out
    assert "PaymentServiceLatencyHigh  service=payment-service  env=prod  severity=P1" in out
    assert "db_pool                    unknown   no recorded value (prometheus_query not run)" in out
    assert "1. escalate_owner" in out  # only the unconditional decision can fire without evidence


def test_simulate_by_service_and_symptom(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--runbooks", str(RUNBOOKS), "--service", "orders", "--symptom", "disk almost full"]
    assert main(args) == 0
    assert "runbook   disk-filling" in capsys.readouterr().out


def test_simulate_reports_mismatch(tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = RUNBOOKS / "scenarios" / "disk-filling.fast.yaml"
    bad = tmp_path / "bad.yaml"  # type: ignore[operator]
    bad.write_text(scenario.read_text().replace("steps: [clean_rotated_logs, expand_volume]", "steps: [expand_volume]"))
    assert main(["simulate", "--runbooks", str(RUNBOOKS), "--scenario", str(bad)]) == 1
    assert "MISMATCH steps: expected ['expand_volume']" in capsys.readouterr().out
