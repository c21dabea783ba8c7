"""Follow-ups as Jira issues (REST v3: POST /rest/api/3/issue, ADF description), found again by their label."""

from __future__ import annotations

from typing import Any

import httpx

from bot.followups.http import send
from bot.followups.models import FollowUp, TrackerIssue, issue_lines, issue_title
from bot.incidents.models import Incident


def adf(lines: list[str]) -> dict[str, Any]:
    """An Atlassian Document Format document: one paragraph per non-empty line, as plain text nodes."""
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in lines if line]
    return {"type": "doc", "version": 1, "content": paragraphs}


class JiraExporter:
    """Creates one issue per follow-up in one project."""

    name = "jira"

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        project_key: str,
        issue_type: str = "Task",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.project_key = project_key
        self.issue_type = issue_type
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(email, api_token),
            headers={"Accept": "application/json"},
            timeout=15.0,
            transport=transport,
        )

    async def create(self, item: FollowUp, incident: Incident, retrying: bool) -> TrackerIssue:
        """Create the issue with the follow-up's label; a retry first searches that label with JQL."""
        if retrying:
            query = {"jql": f'labels = "{item.label}"', "fields": ["summary"], "maxResults": 1}
            found = await send(self.http, self.name, "POST", "/rest/api/3/search/jql", json=query)
            issues = found.get("issues") or []
            if issues:
                return self._issue(str(issues[0]["key"]))
        fields = {
            "project": {"key": self.project_key},
            "issuetype": {"name": self.issue_type},
            "summary": issue_title(item).replace("\n", " "),
            "description": adf(issue_lines(item, incident)),
            "labels": ["incident-follow-up", item.label],
        }
        created = await send(self.http, self.name, "POST", "/rest/api/3/issue", json={"fields": fields})
        return self._issue(str(created["key"]))

    def _issue(self, key: str) -> TrackerIssue:
        return TrackerIssue(key, f"{self.base_url}/browse/{key}")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()
