"""runbooks/policy/statuspage.yaml: components per service, semantic problems, and `runbookctl lint`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import InvalidInput
from bot.runbooks.lint import lint_paths
from bot.statuspage.config import load_statuspage_config
from bot.statuspage.models import StatusPageConfig
from tests.conftest import ROOT


def test_services_map_to_their_components() -> None:
    config = StatusPageConfig.model_validate(
        {
            "components": [{"id": "api", "name": "API"}, {"id": "web", "name": "Web"}],
            "services": {"checkout": ["web", "api"]},
        }
    )
    assert [c.id for c in config.components_for("checkout")] == ["api", "web"]
    assert config.components_for("unknown") == ()
    assert config.problems() == []


def test_unknown_and_duplicate_components_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "statuspage.yaml"
    path.write_text("components:\n  - {id: api, name: API}\n  - {id: api, name: Again}\nservices:\n  checkout: [web]\n")
    with pytest.raises(InvalidInput) as raised:
        load_statuspage_config(path)
    assert "component id 'api' is used twice" in raised.value.message
    assert "service 'checkout' names unknown component 'web'" in raised.value.message


def test_lint_reports_a_bad_file_in_a_runbook_folder(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "statuspage.yaml").write_text("components: [{id: 'Bad Id', name: x}]\nextra: 1\n")
    problems = [p for p in lint_paths([tmp_path]) if p.code == "statuspage"]
    assert len(problems) == 1 and "statuspage.yaml" in problems[0].file
    # Named on its own, the file is checked as the status-page config, not as a runbook.
    alone = lint_paths([tmp_path / "policy" / "statuspage.yaml"])
    assert [p.code for p in alone] == ["statuspage"]


def test_the_shipped_config_is_clean() -> None:
    path = ROOT / "runbooks" / "policy" / "statuspage.yaml"
    config = load_statuspage_config(path)
    assert config.components and config.publish_automatically
    assert lint_paths([path]) == []
