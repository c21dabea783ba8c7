"""Lint of the escalation side: policy files beside the runbooks are loaded and checked."""

from __future__ import annotations

from pathlib import Path

from bot.runbooks.lint import lint_paths


def test_escalation_folder_problems_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "escalation"
    folder.mkdir()
    (folder / "policies.yaml").write_text(
        "default: team\npolicies:\n  team:\n    levels:\n      - targets: [{schedule: nobody}]\n"
    )
    problems = lint_paths([tmp_path])
    assert [p.code for p in problems] == ["escalation"]
    assert "unknown schedules ['nobody']" in problems[0].message


def test_a_good_escalation_folder_is_clean(tmp_path: Path) -> None:
    folder = tmp_path / "escalation"
    folder.mkdir()
    (folder / "policies.yaml").write_text(
        "default: team\npolicies:\n  team:\n    levels:\n      - targets: [{user: U0ALICE001}]\n"
    )
    assert lint_paths([tmp_path]) == []
