"""The tracker exporter the settings ask for, or None."""

from __future__ import annotations

from pydantic import SecretStr

from bot.errors import ConfigError
from bot.followups.github import GitHubExporter
from bot.followups.jira import JiraExporter
from bot.followups.linear import LinearExporter
from bot.followups.models import TrackerExporter
from bot.settings import Settings


def exporter_from_settings(settings: Settings) -> TrackerExporter | None:
    """Build the exporter for FOLLOWUP_TRACKER; ConfigError names every missing setting at once."""
    s = settings
    tracker = s.followup_tracker
    if not tracker:
        return None
    needs: dict[str, str | SecretStr | None] = {
        "github": {"GITHUB_REPO": s.github_repo, "GITHUB_TOKEN": s.github_token},
        "jira": {
            "JIRA_URL": s.jira_url,
            "JIRA_EMAIL": s.jira_email,
            "JIRA_API_TOKEN": s.jira_api_token,
            "JIRA_PROJECT_KEY": s.jira_project_key,
        },
        "linear": {"LINEAR_API_KEY": s.linear_api_key, "LINEAR_TEAM_ID": s.linear_team_id},
    }[tracker]
    missing = [name for name, value in needs.items() if not value]
    if missing:
        raise ConfigError(f"FOLLOWUP_TRACKER={tracker} needs " + ", ".join(missing), fields=missing)
    if tracker == "github":
        assert s.github_repo and s.github_token
        return GitHubExporter(s.github_api_url, s.github_repo, s.github_token.get_secret_value())
    if tracker == "jira":
        assert s.jira_url and s.jira_email and s.jira_api_token and s.jira_project_key
        token = s.jira_api_token.get_secret_value()
        return JiraExporter(s.jira_url, s.jira_email, token, s.jira_project_key, s.jira_issue_type)
    assert s.linear_api_key and s.linear_team_id
    return LinearExporter(s.linear_api_url, s.linear_api_key.get_secret_value(), s.linear_team_id)
