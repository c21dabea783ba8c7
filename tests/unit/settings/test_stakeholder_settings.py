"""Tracker and status-page settings: each backend names every missing setting at once, and builds when complete."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.followups.github import GitHubExporter
from bot.followups.jira import JiraExporter
from bot.followups.linear import LinearExporter
from bot.followups.trackers import exporter_from_settings
from bot.settings import load_settings


def test_no_tracker_means_no_export() -> None:
    assert exporter_from_settings(load_settings()) is None


@pytest.mark.parametrize(
    ("tracker", "missing"),
    [
        ("github", ["GITHUB_REPO", "GITHUB_TOKEN"]),
        ("jira", ["JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PROJECT_KEY"]),
        ("linear", ["LINEAR_API_KEY", "LINEAR_TEAM_ID"]),
    ],
)
def test_a_tracker_names_every_missing_setting(tracker: str, missing: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        exporter_from_settings(load_settings(followup_tracker=tracker))
    assert raised.value.fields == missing


async def test_complete_settings_build_each_exporter() -> None:
    built = [
        exporter_from_settings(load_settings(followup_tracker="github", github_repo="a/b", github_token="t")),
        exporter_from_settings(
            load_settings(
                followup_tracker="jira",
                jira_url="http://127.0.0.1:9",
                jira_email="e@example.com",
                jira_api_token="t",
                jira_project_key="OPS",
            )
        ),
        exporter_from_settings(load_settings(followup_tracker="linear", linear_api_key="k", linear_team_id="t")),
    ]
    assert [type(b) for b in built] == [GitHubExporter, JiraExporter, LinearExporter]
    for exporter in built:
        await exporter.aclose()  # type: ignore[union-attr]


def test_unknown_backends_and_trackers_are_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(status_page_backends=["builtin", "statusio"], followup_tracker="trello")
    assert set(raised.value.fields) == {"STATUS_PAGE_BACKENDS.1", "FOLLOWUP_TRACKER"}
