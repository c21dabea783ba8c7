"""Follow-ups as GitHub issues (REST: POST /repos/{owner}/{repo}/issues), found again by their label."""

from __future__ import annotations

import httpx

from bot.followups.http import send
from bot.followups.models import FollowUp, TrackerIssue, inert_markdown, issue_lines, issue_title
from bot.incidents.models import Incident


class GitHubExporter:
    """Creates one issue per follow-up in one repository."""

    name = "github"

    def __init__(self, api_url: str, repo: str, token: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.repo = repo
        self.http = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            timeout=15.0,
            transport=transport,
        )

    async def create(self, item: FollowUp, incident: Incident, retrying: bool) -> TrackerIssue:
        """Create the issue, labelled with the follow-up's own label; a retry first looks that label up."""
        if retrying:
            found = await send(
                self.http, self.name, "GET", f"/repos/{self.repo}/issues", params={"labels": item.label, "state": "all"}
            )
            if found:
                return TrackerIssue(f"#{found[0]['number']}", str(found[0]["html_url"]))
        body = {
            "title": issue_title(item),
            "body": inert_markdown("\n".join(issue_lines(item, incident))),
            "labels": ["incident-follow-up", item.label],
        }
        created = await send(self.http, self.name, "POST", f"/repos/{self.repo}/issues", json=body)
        return TrackerIssue(f"#{created['number']}", str(created["html_url"]))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()
